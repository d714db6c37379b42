import express, { Router, type Request } from "express";
import { z } from "zod";
import type { Db } from "../../db/client.js";
import { findWave, listWaves } from "../../db/queries/fieldwork.js";
import { listKpis } from "../../db/queries/kpis.js";
import { listWaveNotes } from "../../db/queries/wave-notes.js";
import { listMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments, listStudySummaries } from "../../db/queries/studies.js";
import { listRecentStudyJobs } from "../../db/queries/jobs.js";
import { JOB_KINDS, type Job, type Study, type Wave } from "../../db/schema.js";
import { RECENT_JOBS_MS } from "../jobs/progress.js";
import type { Config } from "../config.js";
import type { Translate } from "../i18n/index.js";
import { toDefinition } from "../domain/definition-export.js";
import { cellsFromDocument, marginErrorMessage, type MarginError } from "../domain/margins.js";
import { definitionErrors, studyDefinition, waveNoteFields } from "../domain/study-definition.js";
import { noteDefinition } from "../domain/definition-export.js";
import { findNoteOfLabel, listNotesOfLabel } from "../../db/queries/wave-notes.js";
import { addNote, editNote, MAX_NOTES_PER_WAVE, removeNote, TooManyNotesError } from "../services/wave-notes.js";
import { HttpError, NotFoundError, ValidationError } from "../errors.js";
import { exportHandlers } from "../exports/handlers.js";
import { bearerToken, requireRole, studyScope } from "../middleware/auth.js";
import { visibleTeamIds } from "../domain/access.js";
import { chooseTeam } from "../services/teams.js";
import { addPersonalLinks, addWave, close, linkUrl, MAX_PERSONAL_LINKS, open, progressJson, waveInput, waveStatus } from "../services/fieldwork.js";
import { rotateSigningSecret, signingGuide } from "../services/signing.js";
import { createStudyFromDefinition } from "../services/study-setup.js";
import { importMargins, marginsDocumentOf } from "../services/weighting.js";

/** Body of `POST /api/waves/:id/links`: only personal links are made on demand (open ones come with opening). */
const personalLinksInput = z
  .object({
    segment: z.string().min(1).max(64),
    count: z.number().int().min(1).max(MAX_PERSONAL_LINKS),
    kind: z.literal("personal"),
  })
  .strict();

/**
 * Zod issues as `{ "questions[0].options": "message" }`; several messages for one path are joined.
 * A prototype-less map read by own keys only: a field named "constructor" must not pick up
 * Object's own function (it was echoed as "function Object() {…}").
 */
function detailsByPath(error: z.ZodError, t?: Translate): Record<string, string> {
  const details: Record<string, string> = Object.create(null);
  for (const { path, message } of definitionErrors(error, t)) {
    const key = path || "(root)";
    details[key] = Object.hasOwn(details, key) ? `${details[key]}; ${message}` : message;
  }
  return details;
}

/**
 * Margin errors by JSON path of the body ("margins[1].shares.female", "margins[0]", "(root)"),
 * each message naming its entry as the Weighting page does; several for one path are joined.
 */
function marginErrorDetails(errors: readonly MarginError[], t: Translate): Record<string, string> {
  const details: Record<string, string> = Object.create(null);
  for (const e of errors) {
    const at = e.at?.kind === "entry" ? e.at : null;
    const key = at ? `margins[${at.entry - 1}]${at.level !== undefined ? `.shares.${at.level}` : ""}` : "(root)";
    const message = marginErrorMessage(e, t);
    details[key] = Object.hasOwn(details, key) ? `${details[key]}; ${message}` : message;
  }
  return details;
}

/** A job as the API shows it: what, where it stands, its outcome or error code. */
function jobJson(job: Job) {
  return {
    kind: job.kind,
    status: job.status,
    done: job.done,
    total: job.total,
    result: job.status === "done" ? job.cursor : null,
    error: job.error,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
}

/** Parses a request body or throws 422 `validation_failed` with the problems by field. */
function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ValidationError(detailsByPath(parsed.error));
  return parsed.data;
}

/** Route ids are positive integers; anything else names nothing, so it is a 404 like an unknown id. */
function idParam(req: Request): number {
  const raw = String(req.params["id"]);
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new NotFoundError();
  return id;
}

async function studyParam(db: Db, req: Request): Promise<Study> {
  const study = await findStudy(db, idParam(req));
  if (!study) throw new NotFoundError();
  return study;
}

async function waveParam(db: Db, req: Request): Promise<Wave> {
  const wave = await findWave(db, idParam(req));
  if (!wave) throw new NotFoundError();
  return wave;
}

/**
 * The JSON API, authenticated by `Authorization: Bearer <token>` only (no cookies, so no CSRF).
 * Errors share one shape: `{"error":{"code","message"[,"details"]}}` (middleware/errors.ts).
 * Handlers stay thin: parse → service → respond; the services write the audit log.
 *
 * `config.baseUrl` makes link URLs absolute; without it they are root-relative (`/s/<token>`).
 */
export function apiRoutes(db: Db, config: Pick<Config, "baseUrl"> = { baseUrl: "" }): Router {
  const { baseUrl } = config;
  const router = Router();
  // Authenticate before reading a body: anonymous callers cannot make the server parse a megabyte.
  router.use(bearerToken(db));
  router.use(studyScope(db));
  router.use(express.json({ limit: "1mb" }));
  router.use((_req, res, next) => {
    // Answers carry survey tokens and personal links: never kept by shared caches.
    res.set("Cache-Control", "no-store");
    next();
  });

  router.get("/me", requireRole("viewer"), (req, res) => {
    const { id, email, name, isAdmin, memberships } = req.user!;
    res.json({ id, email, name, admin: isAdmin, teams: memberships.map((m) => ({ id: m.teamId, name: m.teamName, role: m.role })) });
  });

  // ------------------------------------------------------------------ studies

  router.get("/studies", requireRole("viewer"), async (req, res) => {
    res.json({ studies: await listStudySummaries(db, visibleTeamIds(req.user!)) });
  });

  router.post("/studies", requireRole("researcher"), async (req, res) => {
    // `team` says which of the caller's teams owns the study; it is not part of the definition.
    const plain = typeof req.body === "object" && req.body !== null && !Array.isArray(req.body);
    const { team, ...body } = plain ? (req.body as Record<string, unknown>) : { team: undefined };
    const choice = await chooseTeam(db, req.user!, team);
    if (!choice.ok) throw new HttpError(422, choice.reason === "teamRequired" ? "team_required" : "team_unknown", "validation", { team: req.t(`teams.${choice.reason}`) });
    const parsed = studyDefinition.safeParse(plain ? body : req.body);
    if (!parsed.success) throw new HttpError(422, "invalid_definition", "validation", detailsByPath(parsed.error, req.t));
    const study = await createStudyFromDefinition(db, parsed.data, req.user!.id, { teamId: choice.teamId });
    res.status(201).json({
      id: study.id,
      segments: (await listSegments(db, study.id)).map((s) => ({ id: s.id, key: s.key })),
      questions: (await loadQuestionnaire(db, study.id)).map((q) => ({ id: q.id, key: q.key })),
    });
  });

  router.get("/studies/:id", requireRole("viewer"), async (req, res) => {
    const study = await studyParam(db, req);
    const definition = toDefinition(study, await listSegments(db, study.id), await loadQuestionnaire(db, study.id), await listMargins(db, study.id), await listKpis(db, study.id), await listWaveNotes(db, study.id));
    res.json({
      id: study.id,
      status: study.status,
      ...definition,
      waves: (await listWaves(db, study.id)).map((w) => ({
        id: w.id,
        kind: w.kind,
        label: w.label,
        status: w.status,
        openedAt: w.openedAt,
        closedAt: w.closedAt,
      })),
    });
  });

  router.post("/studies/:id/waves", requireRole("researcher"), async (req, res) => {
    const study = await studyParam(db, req);
    const input = parseBody(waveInput, req.body);
    const wave = await addWave(db, study.id, input, req.user!.id, study.defaultLocale);
    res.status(201).json({ id: wave.id, kind: wave.kind, label: wave.label, status: wave.status });
  });

  // The signing secret panels sign pass-through parameters with: researchers only, like the
  // settings page; the answer says how to sign, with a worked example.
  router.get("/studies/:id/signing-secret", requireRole("researcher"), async (req, res) => {
    res.json(signingGuide(await studyParam(db, req)));
  });

  router.post("/studies/:id/signing-secret/rotate", requireRole("researcher"), async (req, res) => {
    const study = await studyParam(db, req);
    const secret = await rotateSigningSecret(db, study, req.user!.id, "api");
    res.json(signingGuide({ signingSecret: secret }));
  });

  // ------------------------------------------------------------ weighting targets
  // The same document both ways: what GET returns, POST takes back. POST replaces the margins of
  // every (segment, wave) it names, all or nothing (422 `invalid_margins`, details by JSON path).

  router.get("/studies/:id/margins", requireRole("viewer"), async (req, res) => {
    res.json(await marginsDocumentOf(db, (await studyParam(db, req)).id));
  });

  router.post("/studies/:id/margins", requireRole("researcher"), async (req, res) => {
    const study = await studyParam(db, req);
    const parsed = cellsFromDocument(req.body);
    const result = parsed.ok ? await importMargins(db, study, parsed.cells, req.user!.id, { format: "json", via: "api" }) : parsed;
    if (!result.ok) throw new HttpError(422, "invalid_margins", "validation", marginErrorDetails(result.errors, req.t));
    res.json({ imported: result.rows, removed: result.removed, ...(await marginsDocumentOf(db, study.id)) });
  });

  // -------------------------------------------------------------------- waves

  router.post("/waves/:id/open", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    const keys = new Map((await listSegments(db, wave.studyId)).map((s) => [s.id, s.key]));
    const links = await open(db, wave, req.user!.id);
    res.json({ links: links.map((l) => ({ segment: keys.get(l.segmentId)!, token: l.token, url: linkUrl(baseUrl, l.token) })) });
  });

  // Notes on the work of the wave's period, as the definition's `waveNotes` carry them (with ids).
  router.get("/waves/:id/notes", requireRole("viewer"), async (req, res) => {
    const wave = await waveParam(db, req);
    res.json({ notes: (await listNotesOfLabel(db, wave.studyId, wave.label)).map((n) => ({ id: n.id, ...noteDefinition(n) })) });
  });

  router.post("/waves/:id/notes", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    const fields = parseBody(waveNoteFields, req.body);
    try {
      const note = await addNote(db, wave, fields, req.user!.id);
      res.status(201).json({ note: { id: note.id, ...noteDefinition(note) } });
    } catch (error) {
      if (error instanceof TooManyNotesError) throw new ValidationError({ "(root)": req.t("tracking.notes.errors.tooManyForWave", { max: MAX_NOTES_PER_WAVE }) });
      throw error;
    }
  });

  // A note is found only under its wave's study and label (as on the wave page): another wave's note is a 404.
  const noteParam = async (wave: Wave, req: Request) => {
    const raw = String(req.params["noteId"]);
    const note = /^[1-9]\d{0,9}$/.test(raw) ? await findNoteOfLabel(db, wave.studyId, wave.label, Number(raw)) : undefined;
    if (!note) throw new NotFoundError();
    return note;
  };

  router.put("/waves/:id/notes/:noteId", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    const note = await noteParam(wave, req);
    const fields = parseBody(waveNoteFields, req.body);
    await editNote(db, wave, note, fields, req.user!.id);
    res.json({ note: { id: note.id, ...noteDefinition((await findNoteOfLabel(db, wave.studyId, wave.label, note.id))!) } });
  });

  router.delete("/waves/:id/notes/:noteId", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    const note = await noteParam(wave, req);
    await removeNote(db, wave, note, req.user!.id);
    res.json({ deleted: note.id });
  });

  router.post("/waves/:id/close", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    await close(db, wave, req.user!.id);
    res.json({ status: "closed" });
  });

  router.get("/waves/:id/links", requireRole("viewer"), async (req, res) => {
    const status = await waveStatus(db, await waveParam(db, req), baseUrl);
    res.json({
      links: status.flatMap(({ segment, link }) =>
        link ? [{ segment: segment.key, token: link.token, url: link.url, kind: link.kind, sourceLabel: link.sourceLabel, uses: link.uses }] : [],
      ),
      personal: status.map(({ segment, personalLinks }) => ({ segment: segment.key, total: personalLinks.total, used: personalLinks.used })),
    });
  });

  router.post("/waves/:id/links", requireRole("researcher"), async (req, res) => {
    const wave = await waveParam(db, req);
    const input = parseBody(personalLinksInput, req.body);
    // Answered with the links themselves, so made within the request, chunk by chunk, giving the event loop back between chunks.
    const links = await addPersonalLinks(db, wave, input.segment, input.count, req.user!.id, { afterChunk: () => new Promise<void>((resolve) => setImmediate(resolve)) });
    res.status(201).json({ links: links.map((l) => ({ segment: input.segment, token: l.token, url: linkUrl(baseUrl, l.token) })) });
  });

  // Background work of the study (recodes, flag recomputes, personal links…): state and progress, no ids.
  router.get("/studies/:id/jobs", requireRole("viewer"), async (req, res) => {
    const study = await studyParam(db, req);
    res.json({ jobs: (await listRecentStudyJobs(db, study.id, JOB_KINDS, new Date(Date.now() - RECENT_JOBS_MS))).map(jobJson) });
  });

  router.get("/waves/:id/progress", requireRole("viewer"), async (req, res) => {
    res.json({ segments: progressJson(await waveStatus(db, await waveParam(db, req), baseUrl)) });
  });

  // ------------------------------------------------------------ results and exports
  // Same handlers and query as the researcher pages' downloads (routes/exports.ts): bad query
  // values are a 422 validation_failed, a study without two waves to compare a 409 no_waves.

  const downloads = exportHandlers(db, (req) => studyParam(db, req));
  router.get("/studies/:id/results", requireRole("viewer"), downloads.resultsJsonInline);
  router.get("/studies/:id/results.json", requireRole("viewer"), downloads.resultsJson);
  router.get("/studies/:id/results.csv", requireRole("viewer"), downloads.resultsCsv);
  router.get("/studies/:id/results.xlsx", requireRole("viewer"), downloads.resultsXlsx);
  router.get("/studies/:id/results.R", requireRole("viewer"), downloads.resultsR);
  router.get("/studies/:id/responses.csv", requireRole("viewer"), downloads.responsesCsv);
  router.get("/studies/:id/responses.xlsx", requireRole("viewer"), downloads.responsesXlsx);
  router.get("/studies/:id/codebook.csv", requireRole("viewer"), downloads.codebookCsv);

  return router;
}
