/**
 * The time zones a study's settings offer: Russia's from west to east first (most studies run
 * there), then UTC and neighbours. Any valid IANA zone is accepted through the definition JSON;
 * the form keeps to this list so a researcher picks a city rather than types an identifier.
 */
export const RUSSIAN_ZONES = [
  "Europe/Kaliningrad",
  "Europe/Moscow",
  "Europe/Samara",
  "Asia/Yekaterinburg",
  "Asia/Omsk",
  "Asia/Novosibirsk",
  "Asia/Krasnoyarsk",
  "Asia/Irkutsk",
  "Asia/Yakutsk",
  "Asia/Vladivostok",
  "Asia/Magadan",
  "Asia/Kamchatka",
] as const;

export const OTHER_ZONES = [
  "UTC",
  "Europe/Minsk",
  "Europe/Istanbul",
  "Europe/London",
  "Europe/Berlin",
  "Asia/Almaty",
  "Asia/Tashkent",
  "Asia/Tbilisi",
  "Asia/Yerevan",
  "Asia/Dubai",
  "America/New_York",
] as const;

export const COMMON_ZONES: readonly string[] = [...RUSSIAN_ZONES, ...OTHER_ZONES];

/** "UTC+3" for a zone at a moment (offsets change with summer time and with the law). */
export function utcOffset(zone: string, at: Date = new Date()): string {
  const part = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "shortOffset" }).formatToParts(at).find((p) => p.type === "timeZoneName");
  return (part?.value ?? "GMT").replace(/^GMT/, "UTC");
}
