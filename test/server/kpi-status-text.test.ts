import { describe, expect, it } from "vitest";
import { translator } from "../../server/i18n/index.js";
import { numberFormats } from "../../server/presenters/results.js";
import { IMPRACTICAL_FACTOR, kpiStatusText } from "../../server/presenters/tracking.js";

/** A KPI's status in words: the planner's wave size while it is a plan, and not once no realistic wave could decide it. */

const t = translator("en");
const kpi = (respondentsNeeded: number | null, respondents = 400) => ({ status: "not_yet" as const, respondentsNeeded, respondents, plannedRespondents: null });

describe("kpiStatusText", () => {
  it("plans the wave up to ten times the current one, and calls anything larger out of reach", () => {
    expect(kpiStatusText(kpi(IMPRACTICAL_FACTOR * 400), "en", t)).toBe("not yet — 3,600 more respondents per wave would decide it (4,000 in the segment instead of 400)");
    expect(kpiStatusText(kpi(IMPRACTICAL_FACTOR * 400 + 1), "en", t)).toBe("not yet — the estimate is too close to the target for a realistic wave to decide it (it would take about 4,001 respondents in the segment; now 400)");
    const ru = numberFormats("ru");
    expect(kpiStatusText(kpi(161_296, 401), "ru", translator("ru"))).toBe(`пока не ясно — оценка слишком близка к цели, чтобы это решила реальная волна (понадобилось бы около ${ru.integer(161_296)} респондентов в сегменте; сейчас 401)`);
  });

  it("says the estimate sits on the target when no size can decide it, and a decided status plainly", () => {
    expect(kpiStatusText(kpi(null), "en", t)).toBe("not yet — the estimate sits on the target, no sample size can decide it");
    expect(kpiStatusText({ status: "met", respondentsNeeded: null, respondents: 400, plannedRespondents: null }, "en", t)).toBe(t("tracking.kpi.status.met"));
  });
});
