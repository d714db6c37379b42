import type { Locale } from "../../db/schema.js";
import type { Translate } from "../i18n/index.js";
import type { BaselineData, DetectabilityData } from "../services/fieldwork-results.js";
import type { SegmentDetectability } from "../services/fieldwork-status.js";
import { numberFormats } from "./results.js";

/** View models of the results page during fieldwork: every string already in the reader's language. */

export interface BaselineView {
  intro: string;
  intervalHeading: string;
  metrics: Array<{
    key: string;
    label: string;
    cells: Array<{ segment: string; segmentLabel: string; x: number; n: number; share: number; shareText: string; intervalText: string; nText: string }>;
  }>;
}

export interface DetectabilityView {
  intro: string;
  /** "α = 0.05 / 3 segments = 0.0167, as the verdict uses." */
  alphaText: string;
  planningAlpha: number;
  familySize: number;
  noTarget: boolean;
  metrics: Array<{
    key: string;
    label: string;
    rows: Array<SegmentDetectability & { segmentLabel: string; text: string }>;
  }>;
}

/** Unsigned percentage points with one decimal: 5.2 pp. */
function ppFormat(locale: Locale) {
  const one = new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const unit = locale === "ru" ? "\u00a0п.\u00a0п." : "\u00a0pp";
  return (share: number) => one.format(share * 100) + unit;
}

export function baselineView(data: BaselineData, intro: "only_pre" | "no_post", locale: Locale, t: Translate): BaselineView {
  const f = numberFormats(locale);
  const level = f.level(data.confidenceLevel);
  const segmentLabel = new Map(data.segments.map((s) => [s.key, s.label]));
  return {
    intro: t(intro === "only_pre" ? "fieldwork.baselineIntro" : "fieldwork.baselineNoPost", { wave: data.wave.label, level }),
    intervalHeading: t("fieldwork.interval", { level }),
    metrics: data.metrics
      .map((m) => ({
        key: m.key,
        label: m.label,
        cells: data.cells
          .filter((c) => c.metric === m.key)
          .map((c) => ({
            segment: c.segment,
            segmentLabel: segmentLabel.get(c.segment) ?? c.segment,
            x: c.x,
            n: c.n,
            share: c.share,
            shareText: f.percent(c.share),
            intervalText: `${f.percent(c.lower)} – ${f.percent(c.upper)}`,
            nText: f.integer(c.n),
          })),
      }))
      .filter((m) => m.cells.length > 0),
  };
}

export function detectabilityView(data: DetectabilityData, locale: Locale, t: Translate): DetectabilityView {
  const f = numberFormats(locale);
  const pp = ppFormat(locale);
  const target = data.targetLift === null ? "" : pp(data.targetLift);
  const segmentLabel = new Map(data.segments.map((s) => [s.key, s.label]));
  const text = (r: SegmentDetectability): string => {
    const mdl = r.minimumDetectableLift === null ? null : pp(r.minimumDetectableLift);
    switch (r.status) {
      case "yes":
        return t("fieldwork.yes", { mdl, target });
      case "not_yet": {
        const counts = { more: f.integer(r.morePerWave!), needed: f.integer(r.neededPerWave!) };
        return mdl === null ? t("fieldwork.notYetNoMdl", counts) : t("fieldwork.notYet", { ...counts, mdl });
      }
      case "no_target":
        return mdl === null ? t("fieldwork.noTargetNoMdl") : t("fieldwork.noTarget", { mdl });
      case "out_of_range":
        return t("fieldwork.outOfRange", { target, baseline: f.percent(r.baseline!) });
      case "no_baseline":
        return t("fieldwork.noBaseline");
    }
  };
  const power = f.percentWhole(data.power);
  return {
    intro:
      data.targetLift === null
        ? t("fieldwork.detectIntroNoTarget", { wave: data.post.label, power })
        : t("fieldwork.detectIntro", { wave: data.post.label, power, target }),
    alphaText: t("fieldwork.alpha", { count: data.familySize, alpha: f.alpha(data.alpha), level: f.alpha(data.planningAlpha) }),
    planningAlpha: data.planningAlpha,
    familySize: data.familySize,
    noTarget: data.targetLift === null,
    metrics: data.metrics.map((m) => ({
      key: m.key,
      label: m.label,
      rows: data.rows.filter((r) => r.metric === m.key).map((r) => ({ ...r, segmentLabel: segmentLabel.get(r.segment) ?? r.segment, text: text(r) })),
    })),
  };
}
