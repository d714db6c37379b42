import type { Request, RequestHandler, Response } from "express";
import type { Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listAudienceSeries } from "../../db/queries/audience.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import type { Study, Wave } from "../../db/schema.js";
import { HttpError, ValidationError } from "../errors.js";
import { XLSX_TYPE } from "../exports/handlers.js";
import { monthlyJson } from "../exports/monthly-json.js";
import { streamed } from "../exports/handlers.js";
import { writeMonthlyXlsx } from "../exports/monthly-xlsx.js";
import { audienceJson } from "../presenters/audience.js";
import { monthlyView } from "../presenters/monthly.js";
import { loadStudyResults } from "../results-snapshots/load.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { audienceGrowth, waveSpans, type AudienceAnswer } from "../services/audience-growth.js";
import { monthOf, monthlyReport, previousWave, type MonthlyReport } from "../services/monthly.js";
import { resultsQuery, type StudyResults } from "../services/results.js";

/**
 * The monthly reports of a tracking study (routes declared in routes/results.ts, beside the main
 * report): the page (printable), its XLSX and JSON for the team, and the page through the study's
 * share links with their verbatims rule. Everything from loadStudyResults (the results page's
 * snapshot and its trends/KPIs), cut to the month.
 *
 *   GET /studies/:studyId/months/:waveId            the report (viewer and up)
 *   GET /studies/:studyId/months/:waveId.xlsx | .json
 *   GET /r/:token/months/:waveId                    the same report through a share link
 */

/** Seconds before a "being computed" page or export is tried again (as the results page). */
const COMPUTING_RETRY_S = 5;

/** What a share link gives: its study, and whether its reader may see verbatims. */
export interface SharedStudy {
  study: Study;
  token: string;
  showVerbatims: boolean;
}

type Loaded = { study: Study; results: StudyResults; report: MonthlyReport; audience: { month: AudienceAnswer; sinceBaseline: AudienceAnswer } };

/** The month a path names, or the translated 4xx saying why it has no report. */
function monthFrom(req: Request, waves: readonly Wave[]): Wave {
  const raw = String(req.params["waveId"]);
  const id = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  const month = Number.isSafeInteger(id) ? monthOf(waves, id) : "not_in_study";
  if (month === "not_in_study") throw new HttpError(404, "month_not_found", "monthNotInStudy");
  if (month === "not_tracking") throw new HttpError(404, "not_tracking", "monthNotTracking");
  if (month === "baseline") throw new HttpError(422, "month_is_baseline", "monthBaseline");
  return month;
}

/** The results page's options (confidence, adjustment, flagged, weighted); the compared pair is the default one, so the page's snapshot serves. */
function optionsFrom(req: Request) {
  const parsed = resultsQuery.safeParse(req.query);
  if (!parsed.success) throw new ValidationError({ options: req.t("resultsPage.invalidOptions") });
  const { pre: _pre, post: _post, ...options } = parsed.data;
  return options;
}

async function load(db: Db, req: Request, study: Study): Promise<Loaded | "computing"> {
  const month = monthFrom(req, await listWaves(db, study.id));
  const results = await loadStudyResults(db, study, await resultsDataVersion(db, study.id), optionsFrom(req), req.locale, req.t);
  if (results === "computing") return results;
  if (results === "no_waves") throw new HttpError(404, "not_tracking", "monthNotTracking");
  // The first wave with responses is the trends' baseline even when an earlier wave has none.
  if (results.trends?.baseline === String(month.id)) throw new HttpError(422, "month_is_baseline", "monthBaseline");
  // The audience over the month (previous wave to this one) and since the baseline: no later wave.
  const upTo = results.waves.filter((w) => w.position <= month.position);
  const previous = previousWave(results.waves, month);
  const spans = await waveSpans(db, study, upTo, new Date());
  const series = await listAudienceSeries(db, study.id);
  const segmentIds = results.segments.map((s) => s.id);
  const audience = {
    month: audienceGrowth({ segmentIds, waves: spans.filter((s) => s.id === previous.id || s.id === month.id), series }),
    sinceBaseline: audienceGrowth({ segmentIds, waves: spans, series }),
  };
  return { study, results, report: monthlyReport(results, month, audience), audience };
}

export function monthlyHandlers(db: Db, deps: { studyFrom: (db: Db, req: Request) => Promise<Study>; sharedStudy: (req: Request) => Promise<SharedStudy> }) {
  function computing(req: Request, res: Response, study: Study, shared: boolean, format: "page" | "file") {
    res.set("Retry-After", String(COMPUTING_RETRY_S)).set("Refresh", String(COMPUTING_RETRY_S));
    if (format === "page") return res.render("results/computing", { study, shared });
    res.status(503).render("error", { status: 503, title: req.t("freshness.computingTitle"), message: req.t("freshness.computing"), locale: req.locale, t: req.t });
  }

  function page(req: Request, res: Response, loaded: Loaded, share: SharedStudy | null) {
    const hideVerbatims = share !== null && !share.showVerbatims;
    const view = monthlyView(loaded.report, loaded.results, req.locale, req.t, { hideVerbatims });
    const query = new URLSearchParams(
      Object.entries({
        confidence: String(loaded.results.options.confidence),
        adjustment: loaded.results.options.adjustment,
        flagged: loaded.results.options.flagged ? "1" : "0",
        ...(loaded.results.weighting?.available ? { weighted: loaded.results.options.weighted ? "1" : "0" } : {}),
      }),
    ).toString();
    res.render("results/monthly", {
      study: loaded.study,
      results: loaded.results,
      report: loaded.report,
      monthly: view,
      tracking: view.tracking,
      themes: view.themes,
      freshness: loaded.results.freshness,
      shared: share !== null,
      hideVerbatims,
      exportBase: share ? null : `/studies/${loaded.study.id}/months/${loaded.report.month.id}`,
      query,
    });
  }

  const team: RequestHandler = async (req, res) => {
    const study = await deps.studyFrom(db, req);
    const loaded = await load(db, req, study);
    if (loaded === "computing") return computing(req, res, study, false, "page");
    page(req, res, loaded, null);
  };

  const shared: RequestHandler = async (req, res) => {
    const share = await deps.sharedStudy(req);
    const loaded = await load(db, req, share.study);
    if (loaded === "computing") return computing(req, res, share.study, true, "page");
    page(req, res, loaded, share);
  };

  const file = (kind: "monthly_xlsx" | "monthly_json"): RequestHandler => async (req, res) => {
    const study = await deps.studyFrom(db, req);
    const loaded = await load(db, req, study);
    if (loaded === "computing") return computing(req, res, study, false, "file");
    const { results, report } = loaded;
    await recordAudit(db, { userId: req.user?.id ?? null, action: `study.export.${kind}`, entityType: "study", entityId: study.id, details: { via: "web", wave: report.month.id } });
    const name = `study-${study.id}-month-${report.month.id}`;
    if (kind === "monthly_json") {
      const segmentKey = (id: number) => results.segments.find((s) => s.id === id)?.key ?? String(id);
      res.attachment(`${name}.json`).json(monthlyJson(report, results, req.locale, { month: audienceJson(loaded.audience.month, segmentKey), sinceBaseline: audienceJson(loaded.audience.sinceBaseline, segmentKey) }));
      return;
    }
    res.attachment(`${name}.xlsx`).type(XLSX_TYPE);
    await streamed(req, res, () => writeMonthlyXlsx(report, monthlyView(report, results, req.locale, req.t, { hideVerbatims: false }), results, req.locale, req.t, res));
  };

  return { page: team, shared, xlsx: file("monthly_xlsx"), json: file("monthly_json") };
}
