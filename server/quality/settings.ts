import { z } from "zod";

/**
 * A study's quality thresholds. Stored as JSON in `quality_settings` (one row per study, none
 * means every default); read through `readQualitySettings`, so a key added later takes its
 * default on old rows and a malformed row never breaks a page.
 */
export const qualitySettingsSchema = z.object({
  /** Speeder: completed in less than this fraction of the wave's median duration. */
  speederFraction: z.number().min(0).max(1).default(0.5),
  /** No speeder flags in a wave with fewer completed responses: a median of a handful says little. */
  speederMinResponses: z.number().int().min(1).max(100_000).default(20),
  /** Straight-lining: the same value on every scale question, when at least this many were answered. */
  straightlineMinQuestions: z.number().int().min(2).max(100).default(3),
  /** Duplicates by network (hashed address + user agent) as well as by browser cookie. */
  duplicateByNetwork: z.boolean().default(true),
  /** Duplicates across the waves of the study, not only within a wave. */
  duplicateAcrossWaves: z.boolean().default(true),
  /** Results warn when exclusion rates of waves or segments differ by more than this (percentage points). */
  exclusionMarginPp: z.number().min(0).max(100).default(10),
});

export type QualitySettings = z.infer<typeof qualitySettingsSchema>;

export const DEFAULT_QUALITY_SETTINGS: QualitySettings = qualitySettingsSchema.parse({});

/** Stored JSON → settings: unknown keys dropped, a bad value replaced by its default. */
export function readQualitySettings(stored: unknown): QualitySettings {
  if (!stored || typeof stored !== "object") return { ...DEFAULT_QUALITY_SETTINGS };
  const out: Record<string, unknown> = { ...DEFAULT_QUALITY_SETTINGS };
  for (const [key, field] of Object.entries(qualitySettingsSchema.shape)) {
    const parsed = field.safeParse((stored as Record<string, unknown>)[key]);
    if (parsed.success) out[key] = parsed.data;
  }
  return out as QualitySettings;
}

/** A checkbox behind a hidden "0": the form sends ["0", "1"] when ticked, so the last value wins. */
const checkbox = z.preprocess((v) => {
  const last: unknown = Array.isArray(v) ? v[v.length - 1] : v;
  return last === "1" || last === "true" || last === true;
}, z.boolean());

const number = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v.trim().replace(",", ".")) : v), z.number("validation.number").pipe(schema));

/** The settings form: the speeder threshold and the margin in percent, as people say them. */
export const qualitySettingsForm = z
  .object({
    speederPercent: number(z.number("validation.number").min(0, "validation.number").max(100, "validation.number")),
    speederMinResponses: number(z.number("validation.number").int("validation.number").min(1, "validation.number").max(100_000, "validation.number")),
    straightlineMinQuestions: number(z.number("validation.number").int("validation.number").min(2, "validation.number").max(100, "validation.number")),
    duplicateByNetwork: checkbox,
    duplicateAcrossWaves: checkbox,
    exclusionMarginPp: number(z.number("validation.number").min(0, "validation.number").max(100, "validation.number")),
  })
  .transform(({ speederPercent, ...rest }): QualitySettings => ({ ...rest, speederFraction: speederPercent / 100 }));

/** The form's values for given settings. */
export function settingsFormValues(s: QualitySettings): Record<string, string | boolean> {
  return {
    speederPercent: String(Math.round(s.speederFraction * 1000) / 10),
    speederMinResponses: String(s.speederMinResponses),
    straightlineMinQuestions: String(s.straightlineMinQuestions),
    duplicateByNetwork: s.duplicateByNetwork,
    duplicateAcrossWaves: s.duplicateAcrossWaves,
    exclusionMarginPp: String(s.exclusionMarginPp),
  };
}
