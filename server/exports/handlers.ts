import { randomBytes } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaveSegments } from "../../db/queries/fieldwork.js";
import type { Study } from "../../db/schema.js";
import { resultsWeightingCells, type StudyResults } from "../services/results.js";
import { resultsRScript, rWeightingData } from "./r-script.js";
import { codebookCsv, writeResponsesCsv, writeResponsesXlsx } from "./responses-output.js";
import { responseLayout } from "./responses.js";
import { csvDialect, csvFileName, defaultCsvFormat, type CsvDialect } from "./csv-dialect.js";
import { resultsCsv } from "./results-csv.js";
import { loadResults, parseExportQuery, type ExportQuery } from "./results-data.js";
import { resultsJson } from "./results-json.js";
import { audienceJson } from "../presenters/audience.js";
import { loadAudienceGrowth } from "../services/audience-growth.js";
import { writeResultsXlsx } from "./results-xlsx.js";
import { logger } from "../logger.js";
import { redactPath } from "../middleware/request-log.js";
import { pageInputs, queryKey, RenderedCache } from "../results-snapshots/page-cache.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { fillSkeleton, skeletonOf, standIn } from "../presenters/page-skeleton.js";

/**
 * Request handlers of every export, shared by the researcher pages (cookie session, routes/exports.ts)
 * and the JSON API (Bearer token, routes/api.ts): the route decides who may call and how the study
 * is named in the URL; everything else is here. Each export is written to the audit log as
 * `study.export.<kind>` (CSV ones with their dialect). CSV dialects (`?format=excel-ru|excel-en|raw`,
 * by default the reader's language) are in csv-dialect.ts.
 */

export const EXPORT_KINDS = [
  "results_csv",
  "results_xlsx",
  "results_json",
  "results_r",
  "responses_csv",
  "responses_xlsx",
  "codebook_csv",
] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const isApi = (req: Request) => req.baseUrl.startsWith("/api");

/** The CSV dialect asked for, else the reader's Excel on the pages and the raw file for the API (see csv-dialect.ts). */
const dialectOf = (req: Request, options: ExportQuery): CsvDialect => csvDialect(options, isApi(req) ? "raw" : defaultCsvFormat(req.locale));

async function audit(db: Db, req: Request, study: Study, kind: ExportKind, details: Record<string, unknown> = {}): Promise<void> {
  await recordAudit(db, {
    userId: req.user?.id ?? null,
    action: `study.export.${kind}`,
    entityType: "study",
    entityId: study.id,
    details: { via: isApi(req) ? "api" : "web", ...details },
  });
}

/** 409 `no_waves`: the study has no two waves to compare (JSON under /api, else a page). */
function noWaves(req: Request, res: Response): void {
  const title = req.t("exports.errors.noWaves.title");
  const message = req.t("exports.errors.noWaves.message");
  res.status(409);
  if (isApi(req)) {
    res.json({ error: { code: "no_waves", message } });
    return;
  }
  res.render("error", { status: 409, title, message, locale: req.locale, t: req.t });
}

/** Seconds a client is asked to wait while a large study's first results are computed. */
const COMPUTING_RETRY_S = 5;

/** 503 `results_computing` with Retry-After: a large study's first results are being computed (JSON under /api, else a page that reloads). */
function computing(req: Request, res: Response): void {
  const message = req.t("freshness.apiComputing");
  res.status(503).set("Retry-After", String(COMPUTING_RETRY_S));
  if (isApi(req)) {
    res.json({ error: { code: "results_computing", message } });
    return;
  }
  res.set("Refresh", String(COMPUTING_RETRY_S));
  res.render("error", { status: 503, title: req.t("freshness.computingTitle"), message: req.t("freshness.computing"), locale: req.locale, t: req.t });
}

const fileName = (study: Study, name: string) => `study-${study.id}-${name}`;

/**
 * Runs an export that streams to `res`. A failure before the first byte goes to the error handler
 * (a localized page or JSON error; the download headers are taken back so the page is not saved as
 * the file); after it, too late for a status, the connection is cut so the client sees the download
 * fail rather than get a file that looks whole.
 */
export async function streamed(req: Request, res: Response, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!res.headersSent) {
      res.removeHeader("Content-Disposition");
      res.removeHeader("Content-Type");
      throw error;
    }
    logger.error("export failed while streaming", error, { method: req.method, path: redactPath(req.originalUrl) });
    res.destroy();
  }
}

/** Results JSON texts kept per process (see RenderedCache; ~100 KB each for a large study). */
const JSON_KEPT = 40;

/**
 * The results JSON, kept as serialised per its data (results-snapshots/page-cache.ts): its time of
 * generation is filled per request, and every download is audited as before. `inline` answers
 * without a download name (the API's /results).
 */
function resultsJsonHandler(db: Db, studyOf: (req: Request) => Promise<Study>, inline: boolean, texts: RenderedCache<Record<string, unknown>>): RequestHandler {
  return async (req, res) => {
    const study = await studyOf(req);
    const options = await parseExportQuery(db, study, req.query, req.t);
    const inputs = await pageInputs(db, study);
    const key = [study.id, inputs.key, req.locale, queryKey(req.query)].join("\n");
    const values = new Map([["generatedAt", new Date().toISOString()]]);
    const kept = texts.get(key, values);
    if (kept) {
      await audit(db, req, study, "results_json", kept.meta);
      if (!inline) res.attachment(fileName(study, "results.json"));
      res.type("json").send(kept.text);
      return;
    }
    const results = await loadResults(db, study, inputs.version, options, req.locale, req.t);
    if (results === "no_waves") return noWaves(req, res);
    if (results === "computing") return computing(req, res);
    const described = describeOptions(results);
    await audit(db, req, study, "results_json", described);
    const audience = audienceJson(await loadAudienceGrowth(db, study, results.segments.map((s) => s.id)), (id) => results.segments.find((s) => s.id === id)?.key ?? String(id));
    // A random mark in place of the time, made a stand-in in the text (JSON would escape one's control characters).
    const mark = `generated-${randomBytes(12).toString("hex")}`;
    const text = JSON.stringify({ ...resultsJson(results, req.locale, undefined, audience), generatedAt: mark }).replace(mark, standIn("generatedAt"));
    if (!inline) res.attachment(fileName(study, "results.json"));
    // Kept when nothing it is made of changed meanwhile, read again for the reason routes/results.ts
    // gives (an out-of-date snapshot's too).
    const keep = (await pageInputs(db, study)).key === inputs.key;
    res.type("json").send(keep ? texts.keep(key, text, described, values) : fillSkeleton(skeletonOf(text), values));
  };
}

/** Results exports but the JSON: query → the results' snapshot (as the page shows it) → one format. */
function resultsHandler(db: Db, kind: ExportKind, studyOf: (req: Request) => Promise<Study>): RequestHandler {
  return async (req, res) => {
    const study = await studyOf(req);
    const options = await parseExportQuery(db, study, req.query, req.t);
    const results = await loadResults(db, study, await resultsDataVersion(db, study.id), options, req.locale, req.t);
    if (results === "no_waves") return noWaves(req, res);
    if (results === "computing") return computing(req, res);
    const dialect = dialectOf(req, options);
    await audit(db, req, study, kind, { ...describeOptions(results), ...(kind === "results_csv" ? { format: dialect.format } : {}) });
    await sendResults(db, kind, req, res, study, results, dialect);
  };
}

function describeOptions(results: StudyResults): Record<string, unknown> {
  return {
    pre: results.pre.id,
    post: results.post.id,
    confidence: results.options.confidence,
    adjustment: results.options.adjustment,
    flagged: results.options.flagged,
  };
}

async function sendResults(
  db: Db,
  kind: ExportKind,
  req: Request,
  res: Response,
  study: Study,
  results: StudyResults,
  dialect: CsvDialect,
): Promise<void> {
  switch (kind) {
    case "results_csv":
      res.attachment(csvFileName(study.id, "results", dialect)).type("text/csv; charset=utf-8");
      res.send(resultsCsv(results, req.locale, req.t, dialect));
      return;
    case "results_xlsx":
      res.attachment(fileName(study, "results.xlsx")).type(XLSX_TYPE);
      await streamed(req, res, () => writeResultsXlsx(results, req.locale, req.t, res));
      return;
    case "results_r": {
      const segmentKey = new Map(results.segments.map((s) => [s.id, s.key]));
      // The weights liftTable used: the post wave's audience sizes (computeResults passes sizes > 0).
      const audience = new Map<string, number>();
      for (const row of await listWaveSegments(db, results.post.id)) {
        const key = segmentKey.get(row.segmentId);
        if (key !== undefined && row.audienceSize) audience.set(key, row.audienceSize);
      }
      const weighting = results.options.weighted ? rWeightingData(await resultsWeightingCells(db, results), segmentKey, { pre: results.pre.id, post: results.post.id }) : undefined;
      res.attachment(fileName(study, "results.R")).type("text/plain; charset=utf-8");
      res.send(resultsRScript(results, { audience, ...(weighting ? { weighting } : {}) }));
      return;
    }
    default:
      throw new Error(`not a results export: ${kind}`);
  }
}

/** Raw responses (CSV or XLSX, streamed) and the codebook CSV. */
function responsesHandler(db: Db, kind: "responses_csv" | "responses_xlsx" | "codebook_csv", studyOf: (req: Request) => Promise<Study>): RequestHandler {
  return async (req, res) => {
    const study = await studyOf(req);
    // Only the CSV dialect applies here; wave and result options are ignored.
    const options = await parseExportQuery(db, study, { format: req.query["format"], delimiter: req.query["delimiter"] }, req.t);
    const dialect = dialectOf(req, options);
    const layout = await responseLayout(db, study, req.locale, req.t);
    await audit(db, req, study, kind, kind === "responses_xlsx" ? {} : { format: dialect.format });
    if (kind === "codebook_csv") {
      res.attachment(csvFileName(study.id, "codebook", dialect)).type("text/csv; charset=utf-8");
      res.send(codebookCsv(layout, req.t, dialect));
      return;
    }
    if (kind === "responses_csv") {
      res.attachment(csvFileName(study.id, "responses", dialect)).type("text/csv; charset=utf-8");
      await streamed(req, res, () => writeResponsesCsv(db, layout, res, dialect));
      return;
    }
    res.attachment(fileName(study, "responses.xlsx")).type(XLSX_TYPE);
    await streamed(req, res, () => writeResponsesXlsx(db, layout, req.t, res));
  };
}

/** Every export handler for a way of finding the study in the request. */
export function exportHandlers(db: Db, studyOf: (req: Request) => Promise<Study>) {
  const jsonTexts = new RenderedCache<Record<string, unknown>>(JSON_KEPT);
  return {
    resultsCsv: resultsHandler(db, "results_csv", studyOf),
    resultsXlsx: resultsHandler(db, "results_xlsx", studyOf),
    resultsJson: resultsJsonHandler(db, studyOf, false, jsonTexts),
    /** The API's GET /studies/:id/results: the same JSON, answered inline. */
    resultsJsonInline: resultsJsonHandler(db, studyOf, true, jsonTexts),
    resultsR: resultsHandler(db, "results_r", studyOf),
    responsesCsv: responsesHandler(db, "responses_csv", studyOf),
    responsesXlsx: responsesHandler(db, "responses_xlsx", studyOf),
    codebookCsv: responsesHandler(db, "codebook_csv", studyOf),
  };
}
