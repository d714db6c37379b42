import type { Locale, QualityFlag } from "../../db/schema.js";
import { DEFAULT_SEGMENT_KEYS } from "../domain/segments.js";
import { seededRandom, type Random } from "./random.js";
import { CODED_SPELLINGS, DEMO_COMPETITORS, DONT_KNOW, EXCLUSION_REASON, FEEDBACK, GIBBERISH, MISSPELLINGS, OTHER_NAMES } from "./texts.js";

/**
 * The synthetic respondents of the demo study, generated in memory from a seed (no database):
 * the same seed and locale give the same responses, answer for answer.
 *
 * Each completed, attentive respondent of a segment and wave is drawn from known probabilities
 * (TRUE_RATES): aware of the brand when asked (aided) or not; among the aware, naming it unprompted
 * and knowing its advantages; recalling the ads; top-2-box favorability and consideration.
 * Subscribers and the active unsubscribed rise from pre to post; the inactive audience does not.
 */

/**
 * The seed `npm run demo` uses. Responses are random draws, so a true lift can come out larger or
 * smaller by chance; this seed was picked (from the first few hundred) because its results read
 * like the built-in lifts: subscribers rise on every metric, the active unsubscribed on the
 * awareness metrics, the inactive audience on none. Other seeds show ordinary sampling noise,
 * which is worth seeing too.
 */
export const DEFAULT_SEED = 293;

export type DemoSegment = (typeof DEFAULT_SEGMENT_KEYS)[number];
export const DEMO_SEGMENTS: readonly DemoSegment[] = DEFAULT_SEGMENT_KEYS;
export type DemoWaveKind = "pre" | "post";
export const DEMO_WAVES: readonly DemoWaveKind[] = ["pre", "post"];

export const DEMO_METRICS = [
  "unaided_awareness",
  "aided_awareness",
  "ad_recall",
  "advantage_awareness",
  "favorability",
  "consideration",
] as const;
export type DemoMetric = (typeof DEMO_METRICS)[number];

export interface Rates {
  pre: number;
  post: number;
}

/**
 * Probabilities of the generating process, per metric, segment and wave. For unaided awareness
 * this is the share who *mean* the brand; MISSPELLED_SHARE of them misspell it, and the measured
 * share is lower by as many of those as the text coding fails to recognise.
 */
export const TRUE_RATES: Record<DemoMetric, Record<DemoSegment, Rates>> = {
  aided_awareness: {
    subscribers: { pre: 0.45, post: 0.6 },
    active_unsubscribed: { pre: 0.2, post: 0.3 },
    inactive: { pre: 0.15, post: 0.15 },
  },
  unaided_awareness: {
    subscribers: { pre: 0.25, post: 0.35 },
    active_unsubscribed: { pre: 0.08, post: 0.13 },
    inactive: { pre: 0.05, post: 0.05 },
  },
  ad_recall: {
    subscribers: { pre: 0.3, post: 0.55 },
    active_unsubscribed: { pre: 0.12, post: 0.26 },
    inactive: { pre: 0.08, post: 0.08 },
  },
  advantage_awareness: {
    subscribers: { pre: 0.3, post: 0.42 },
    active_unsubscribed: { pre: 0.12, post: 0.19 },
    inactive: { pre: 0.08, post: 0.08 },
  },
  favorability: {
    subscribers: { pre: 0.55, post: 0.63 },
    active_unsubscribed: { pre: 0.3, post: 0.35 },
    inactive: { pre: 0.24, post: 0.24 },
  },
  consideration: {
    subscribers: { pre: 0.4, post: 0.47 },
    active_unsubscribed: { pre: 0.18, post: 0.23 },
    inactive: { pre: 0.12, post: 0.12 },
  },
};

/** Share of unprompted brand mentions that are misspelled (see texts.ts MISSPELLINGS). */
export const MISSPELLED_SHARE = 0.1;

/** Completed responses per segment and wave, before a random ±40. */
export const BASE_COMPLETES: Record<DemoSegment, number> = { subscribers: 520, active_unsubscribed: 470, inactive: 420 };
/** Completes wanted per segment and wave. */
export const DEMO_TARGET = 500;
/** Audience sizes per wave (the community grows during the campaign). */
export const AUDIENCE: Record<DemoWaveKind, Record<DemoSegment, number>> = {
  pre: { subscribers: 48_200, active_unsubscribed: 210_000, inactive: 400_000 },
  post: { subscribers: 52_600, active_unsubscribed: 214_000, inactive: 400_000 },
};
export const CAMPAIGN: Record<Locale, { cost: number; currency: string }> = {
  ru: { cost: 450_000, currency: "RUB" },
  en: { cost: 6_000, currency: "USD" },
};

/** Shares of completed responses: inattentive (excluded), speeders and attention slips (flagged, not yet reviewed). */
const EXCLUDED_SHARE = 0.015;
const SPEEDER_SHARE = 0.025;
const ATTENTION_SLIP_SHARE = 0.01;
/** Started but not finished (first page only), as a share of completes. */
const PARTIAL_SHARE = 0.05;
/** Respondents in the study's other language. */
const OTHER_LOCALE_SHARE = 0.18;
const FEEDBACK_SHARE = 0.4;

/** The two profile questions of the template and their levels (option keys, prefer_not aside). */
export const GENDERS = ["female", "male"] as const;
export const AGE_GROUP_KEYS = ["age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_plus"] as const;
type Shares<K extends string> = Record<K, number>;
export interface ProfileMix {
  gender: Shares<(typeof GENDERS)[number]>;
  age_group: Shares<(typeof AGE_GROUP_KEYS)[number]>;
}
const mix = (female: number, ages: [number, number, number, number, number]): ProfileMix => ({
  gender: { female, male: Math.round((1 - female) * 1000) / 1000 },
  age_group: Object.fromEntries(AGE_GROUP_KEYS.map((k, i) => [k, ages[i]!])) as ProfileMix["age_group"],
});

/**
 * Each segment's population, as its community statistics would publish it: the weighting targets
 * the demo study carries (for all waves).
 */
export const DEMO_MARGINS: Record<DemoSegment, ProfileMix> = {
  subscribers: mix(0.62, [0.18, 0.34, 0.26, 0.14, 0.08]),
  active_unsubscribed: mix(0.55, [0.22, 0.33, 0.24, 0.13, 0.08]),
  inactive: mix(0.52, [0.12, 0.22, 0.24, 0.2, 0.22]),
};

/**
 * Who answered, per segment and wave: near the population, as links reach it, except that the
 * post wave of the subscribers drew younger women (the campaign's posts were shared among them),
 * so the two waves of that segment differ in profile and weighting has something to correct.
 */
export const RESPONDENT_MIX: Record<DemoWaveKind, Record<DemoSegment, ProfileMix>> = {
  pre: {
    subscribers: mix(0.64, [0.2, 0.35, 0.25, 0.13, 0.07]),
    active_unsubscribed: mix(0.56, [0.25, 0.34, 0.22, 0.12, 0.07]),
    inactive: mix(0.53, [0.1, 0.2, 0.25, 0.22, 0.23]),
  },
  post: {
    subscribers: mix(0.73, [0.31, 0.38, 0.18, 0.09, 0.04]),
    active_unsubscribed: mix(0.56, [0.24, 0.35, 0.22, 0.12, 0.07]),
    inactive: mix(0.52, [0.11, 0.2, 0.24, 0.22, 0.23]),
  },
};
/** Profile questions are optional: some prefer not to say, a few skip the question. */
const PREFER_NOT_SHARE = 0.03;
const SKIP_PROFILE_SHARE = 0.02;
/**
 * The profile answers come from a stream of their own, drawn after everything else: the seed's
 * other answers (and so DEFAULT_SEED's results) are the same as before profile questions existed.
 */
const PROFILE_STREAM = 0x9f1e_2b37;

/** Answers by question key, as the survey stores them: option keys, scale values, texts. */
export type DemoAnswers = {
  unaided: string;
  aided: string[];
  ad_recall: string;
  /** Absent on partial responses (they stopped part-way). */
  advantages?: string[];
  favorability?: number;
  consideration?: number;
  attention?: string;
  feedback?: string;
  /** Profile questions (optional: absent when skipped, on partial responses too). */
  gender?: string;
  age_group?: string;
};

export interface DemoResponse {
  segment: DemoSegment;
  locale: Locale;
  status: "completed" | "partial";
  /** Position in the wave's fieldwork period, 0..1: completion time (start time for partial ones). */
  at: number;
  durationMs: number | null;
  params: Record<string, string>;
  flags: QualityFlag[] | null;
  excluded: boolean;
  excludedReason: string | null;
  answers: DemoAnswers;
}

export type DemoData = Record<DemoWaveKind, DemoResponse[]>;

export const ATTENTION_CORRECT = "somewhat_disagree";
const ATTENTION_OPTIONS = ["strongly_disagree", "somewhat_disagree", "neutral", "somewhat_agree", "strongly_agree"];
const COMPETITOR_KEYS = DEMO_COMPETITORS.map((_, i) => `competitor_${i + 1}`);
export const ADVANTAGE_KEYS = ["advantage_1", "advantage_2", "advantage_3"];

const SOURCES: Record<DemoSegment, readonly string[]> = {
  subscribers: ["vk_community", "telegram_channel"],
  active_unsubscribed: ["vk_ads", "telegram_ads"],
  inactive: ["panel"],
};

/** A 1–5 answer: 4 or 5 when `top` (top-2-box), else 1–3 leaning to 3. */
function scale(r: Random, top: boolean): number {
  return top ? (r.chance(0.4) ? 5 : 4) : 1 + r.weighted([0.12, 0.28, 0.6]);
}

/** Median time to complete the questionnaire, in ms. */
const MEDIAN_DURATION_MS = 95_000;

function durationMs(r: Random): number {
  // Log-normal around the median; attentive respondents take at least 50 s, more than half the
  // median, so the data-quality speeder rule (under half the wave's median) leaves them alone.
  return Math.max(50_000, Math.round(MEDIAN_DURATION_MS * Math.exp(0.35 * r.normal())));
}

/**
 * What a wave's respondents are drawn from: the generating probabilities, the pool of other brand
 * names (the aided list changed between the campaign's waves), how often those who recall the ads
 * write about them, and the profile mix. The pre/post study and the tracking study share it.
 */
export interface WaveDraw {
  rate: (metric: DemoMetric, segment: DemoSegment) => number;
  names: DemoWaveKind;
  /** Share of feedback from ad recallers that is about the campaign; 0 draws nothing. */
  campaignFeedback: number;
  mix: Record<DemoSegment, ProfileMix>;
}

/** The pre and post waves of the campaign study. */
const CAMPAIGN_DRAWS: Record<DemoWaveKind, WaveDraw> = {
  pre: { rate: (m, s) => TRUE_RATES[m][s].pre, names: "pre", campaignFeedback: 0, mix: RESPONDENT_MIX.pre },
  post: { rate: (m, s) => TRUE_RATES[m][s].post, names: "post", campaignFeedback: 0.35, mix: RESPONDENT_MIX.post },
};

/** Flags in the data-quality module's codes and `key=value;…` details (server/quality/flags.ts). */
const speederFlag = (duration: number): QualityFlag => ({ code: "speeder", detail: `duration=${duration};median=${MEDIAN_DURATION_MS}` });
const attentionFlag: QualityFlag = { code: "attention", detail: "question=attention" };

function unaidedText(r: Random, locale: Locale, wave: WaveDraw, namesBrand: boolean): string {
  const names: string[] = [];
  // One draw per name whatever the pool, so the waves' pools differ without moving the seed's other draws.
  const others = OTHER_NAMES[wave.names][locale];
  const count = r.weighted([0.25, 0.4, 0.25, 0.1]);
  for (let i = 0; i < count; i++) {
    const name = r.pick(others);
    if (!names.includes(name)) names.push(name);
  }
  if (namesBrand) {
    const spelling = r.chance(MISSPELLED_SHARE) ? r.pick(MISSPELLINGS[locale]) : r.pick(CODED_SPELLINGS[locale]);
    // Top of mind for about half of those who name it.
    names.splice(r.chance(0.5) ? 0 : names.length, 0, spelling);
  }
  return names.length ? names.join(r.chance(0.8) ? ", " : " ") : r.pick(DONT_KNOW[locale]);
}

function feedbackText(r: Random, locale: Locale, wave: WaveDraw, favorable: boolean, adRecall: boolean): string {
  const pool = FEEDBACK[locale];
  if (wave.campaignFeedback > 0 && adRecall && r.chance(wave.campaignFeedback)) return r.pick(pool.campaign);
  if (favorable) return r.pick(r.chance(0.85) ? pool.positive : pool.neutral);
  return r.pick(r.chance(0.55) ? pool.neutral : pool.negative);
}

function attentiveAnswers(r: Random, segment: DemoSegment, wave: WaveDraw, locale: Locale): DemoAnswers {
  const p = (m: DemoMetric) => wave.rate(m, segment);
  const aided = r.chance(p("aided_awareness"));
  const unaided = aided && r.chance(p("unaided_awareness") / p("aided_awareness"));
  const advantage = aided && r.chance(p("advantage_awareness") / p("aided_awareness"));
  const adRecall = r.chance(p("ad_recall"));
  const favorable = r.chance(p("favorability"));
  const considers = r.chance(p("consideration"));

  const competitors = COMPETITOR_KEYS.filter(() => r.chance(0.45));
  const aidedKeys = aided ? ["brand", ...competitors] : competitors;
  let advantages = advantage ? ADVANTAGE_KEYS.filter(() => r.chance(0.55)) : [];
  if (advantage && advantages.length === 0) advantages = [r.pick(ADVANTAGE_KEYS)];
  if (r.chance(0.06)) advantages.push("decoy");

  const answers: DemoAnswers = {
    unaided: unaidedText(r, locale, wave, unaided),
    aided: aidedKeys.length ? aidedKeys : ["none"],
    ad_recall: adRecall ? "yes" : r.chance(0.75) ? "no" : "not_sure",
    advantages: advantages.length ? advantages : ["none"],
    favorability: scale(r, favorable),
    consideration: scale(r, considers),
    attention: ATTENTION_CORRECT,
  };
  if (r.chance(FEEDBACK_SHARE)) answers.feedback = feedbackText(r, locale, wave, favorable, adRecall);
  return answers;
}

/** Someone clicking through: every brand ticked, the same scale point, gibberish, wrong attention answer. */
function inattentiveAnswers(r: Random): DemoAnswers {
  const point = r.pick([3, 5]);
  return {
    unaided: r.pick(GIBBERISH),
    aided: ["brand", ...COMPETITOR_KEYS],
    ad_recall: "yes",
    advantages: [...ADVANTAGE_KEYS, "decoy"],
    favorability: point,
    consideration: point,
    attention: r.pick(ATTENTION_OPTIONS.filter((o) => o !== ATTENTION_CORRECT)),
  };
}

function respondent(r: Random, segment: DemoSegment, wave: WaveDraw, studyLocale: Locale, otherLocale: Locale): DemoResponse {
  const locale = r.chance(OTHER_LOCALE_SHARE) ? otherLocale : studyLocale;
  const source = r.pick(SOURCES[segment]);
  const params: Record<string, string> = { src: source };
  if (source === "panel") params["rid"] = `P${String(r.int(100_000, 999_999))}`;
  const base = { segment, locale, status: "completed" as const, at: r.next(), params };

  const kind = r.next();
  if (kind < EXCLUDED_SHARE) {
    const duration = r.int(9_000, 22_000);
    return {
      ...base,
      durationMs: duration,
      flags: [speederFlag(duration), attentionFlag],
      excluded: true,
      excludedReason: EXCLUSION_REASON[studyLocale],
      answers: inattentiveAnswers(r),
    };
  }
  const answers = attentiveAnswers(r, segment, wave, locale);
  if (kind < EXCLUDED_SHARE + SPEEDER_SHARE) {
    const duration = r.int(22_000, 38_000);
    return { ...base, durationMs: duration, flags: [speederFlag(duration)], excluded: false, excludedReason: null, answers };
  }
  if (kind < EXCLUDED_SHARE + SPEEDER_SHARE + ATTENTION_SLIP_SHARE) {
    answers.attention = r.pick(ATTENTION_OPTIONS.filter((o) => o !== ATTENTION_CORRECT));
    return { ...base, durationMs: durationMs(r), flags: [attentionFlag], excluded: false, excludedReason: null, answers };
  }
  return { ...base, durationMs: durationMs(r), flags: null, excluded: false, excludedReason: null, answers };
}

function partial(r: Random, segment: DemoSegment, wave: WaveDraw, studyLocale: Locale, otherLocale: Locale): DemoResponse {
  const full = respondent(r, segment, wave, studyLocale, otherLocale);
  // They left after the survey's second page (unaided alone on the first; aided, advantages, ad recall).
  const { unaided, aided, advantages, ad_recall } = full.answers;
  return {
    ...full,
    status: "partial",
    durationMs: null,
    flags: null,
    excluded: false,
    excludedReason: null,
    answers: { unaided, aided, ...(advantages ? { advantages } : {}), ad_recall },
  };
}

/** All demo responses of both waves, each wave in order of time. Pure: no I/O, no clock. */
export function generateDemoData(seed: number, studyLocale: Locale): DemoData {
  const [pre, post] = generateWaves(seed, studyLocale, DEMO_WAVES.map((w) => CAMPAIGN_DRAWS[w]));
  return { pre: pre!, post: post! };
}

/**
 * Responses of a series of waves, each drawn from its WaveDraw and in order of time; one random
 * stream for the answers and one for the profile questions, so the same seed gives the same data.
 */
export function generateWaves(seed: number, studyLocale: Locale, draws: readonly WaveDraw[]): DemoResponse[][] {
  const r = seededRandom(seed);
  const otherLocale: Locale = studyLocale === "ru" ? "en" : "ru";
  const data = draws.map((draw) => {
    const wave: DemoResponse[] = [];
    for (const segment of DEMO_SEGMENTS) {
      const completes = BASE_COMPLETES[segment] + r.int(-40, 40);
      for (let i = 0; i < completes; i++) wave.push(respondent(r, segment, draw, studyLocale, otherLocale));
      const partials = Math.round(completes * PARTIAL_SHARE);
      for (let i = 0; i < partials; i++) wave.push(partial(r, segment, draw, studyLocale, otherLocale));
    }
    return wave.sort((a, b) => a.at - b.at);
  });
  // Completed respondents reached the last page, the profile questions.
  const p = seededRandom((seed ^ PROFILE_STREAM) >>> 0);
  draws.forEach((draw, i) => {
    for (const response of data[i]!) {
      if (response.status !== "completed") continue;
      const shares = draw.mix[response.segment];
      const gender = profileAnswer(p, GENDERS, shares.gender);
      const age = profileAnswer(p, AGE_GROUP_KEYS, shares.age_group);
      if (gender) response.answers.gender = gender;
      if (age) response.answers.age_group = age;
    }
  });
  return data;
}

/** One optional profile answer: a level by the mix, "prefer not to say", or nothing. */
function profileAnswer<K extends string>(r: Random, levels: readonly K[], shares: Shares<K>): string | undefined {
  const u = r.next();
  if (u < SKIP_PROFILE_SHARE) return undefined;
  if (u < SKIP_PROFILE_SHARE + PREFER_NOT_SHARE) return "prefer_not";
  return levels[r.weighted(levels.map((l) => shares[l]))]!;
}

export interface TrueLift {
  /** The share in the pre and post waves of the generating process (TRUE_RATES). */
  pre: number;
  post: number;
  /** post − pre, in proportion points (0.15 = 15 pp). */
  lift: number;
}

/**
 * The lifts built into the data: what the results page should find, up to sampling error (and,
 * for unaided awareness, up to the misspellings the coding does not recognise).
 */
export function trueLifts(): Record<DemoMetric, Record<DemoSegment, TrueLift>> {
  const out = {} as Record<DemoMetric, Record<DemoSegment, TrueLift>>;
  for (const metric of DEMO_METRICS) {
    const bySegment = {} as Record<DemoSegment, TrueLift>;
    for (const segment of DEMO_SEGMENTS) {
      const { pre, post } = TRUE_RATES[metric][segment];
      bySegment[segment] = { pre, post, lift: post - pre };
    }
    out[metric] = bySegment;
  }
  return out;
}
