import { Router, type Request } from "express";
import type { Db } from "../../db/client.js";
import { findWave, iteratePersonalLinks, listWaves } from "../../db/queries/fieldwork.js";
import { findNoteOfLabel, listNotesOfLabel } from "../../db/queries/wave-notes.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import type { Segment, Wave } from "../../db/schema.js";
import { toCsvRow } from "../domain/csv.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { drained } from "../exports/responses-output.js";
import { can, requireRole } from "../middleware/auth.js";
import {
  addWave,
  close,
  findLinkOfWave,
  linkSettingsInput,
  linkUrl,
  open,
  personalLinksBeingMade,
  PersonalLinksInProgressError,
  queuePersonalLinks,
  saveLinkSettings,
  setLinkDisabled,
  setWaveTargets,
  SignatureWithoutParamsError,
  waveInput,
  waveStatus,
  progressJson,
} from "../services/fieldwork.js";
import { formatters } from "../i18n/index.js";
import { JOBS_REFRESH_SECONDS, jobsPanel } from "../jobs/progress.js";
import { studyFrom } from "./studies.js";
import { noteViews } from "../presenters/wave-notes.js";
import { linkQrSvg } from "../presenters/qr.js";
import { addNote, editNote, MAX_NOTES_PER_WAVE, parseNoteForm, removeNote, TooManyNotesError } from "../services/wave-notes.js";
import { useStudyZone } from "../middleware/locale.js";

/** `target_<segment>` / `audience_<segment>` form fields as numbers (empty: none). */
function perSegment(body: Record<string, unknown>, prefix: string, segments: readonly Segment[]): Record<string, number | null> | "invalid" {
  const out: Record<string, number | null> = {};
  for (const s of segments) {
    const raw = body[`${prefix}_${s.key}`];
    if (raw === undefined) continue;
    const text = typeof raw === "string" ? raw.trim() : "";
    if (text === "") {
      out[s.key] = null;
      continue;
    }
    if (!/^\d{1,9}$/.test(text)) return "invalid";
    out[s.key] = Number(text);
  }
  return out;
}

const commaList = (value: unknown) =>
  typeof value === "string"
    ? value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean)
    : [];


export function waveRoutes(db: Db, baseUrl: string): Router {
  const router = Router();
  const researcher = requireRole("researcher");
  router.use("/waves", requireRole("viewer"));

  async function waveFrom(req: Request): Promise<Wave> {
    const id = Number(req.params["waveId"]);
    const wave = Number.isSafeInteger(id) ? await findWave(db, id) : undefined;
    if (!wave) throw new NotFoundError();
    return wave;
  }

  router.post("/studies/:studyId/waves", researcher, async (req, res) => {
    const study = await studyFrom(db, req);
    const segments = await listSegments(db, study.id);
    const targets = perSegment(req.body ?? {}, "target", segments);
    const audience = perSegment(req.body ?? {}, "audience", segments);
    if (targets === "invalid" || audience === "invalid") throw new ValidationError({ targets: req.t("validation.number") });
    const label = typeof req.body?.label === "string" && req.body.label.trim() ? req.body.label : undefined;
    const parsed = waveInput.safeParse({ kind: req.body?.kind, ...(label ? { label } : {}), targets, audience });
    if (!parsed.success) throw new ValidationError({ kind: req.t("validation.oneOf") });
    const wave = await addWave(db, study.id, parsed.data, req.user!.id, req.locale);
    res.redirect(303, `/waves/${wave.id}`);
  });

  router.get("/waves/:waveId", async (req, res) => {
    const wave = await waveFrom(req);
    const study = (await findStudy(db, wave.studyId))!;
    useStudyZone(req, study);
    const statuses = await waveStatus(db, wave, baseUrl);
    const qr = new Map<number, string>();
    for (const s of statuses) {
      // The SVG is generated from our own URL only (no user text), so it is safe to inline.
      if (s.link) qr.set(s.segment.id, await linkQrSvg(s.link.url));
    }
    const notices: Record<string, string> = {
      opened: req.t("wave.opened"),
      closed: req.t("wave.closed"),
      targets: req.t("wave.targetsSaved"),
      link: req.t("wave.linkSaved"),
      linkDisabled: req.t("accounts.links.disabledNotice"),
      linkEnabled: req.t("accounts.links.enabledNotice"),
      noteAdded: req.t("tracking.notes.added"),
      noteSaved: req.t("tracking.notes.saved"),
      noteDeleted: req.t("tracking.notes.deleted"),
    };
    // What closing this wave and making its personal links started in the background.
    const jobs = await jobsPanel(db, study.id, ["wave_close", "personal_links"], req.t, formatters(req.locale).number, (j) => j.params?.["waveId"] === wave.id);
    // Notes belong to the first wave of their label (the one KPIs name): a later namesake says so.
    const namesake = (await listWaves(db, study.id)).find((w) => w.label === wave.label && w.position < wave.position);
    res.render("waves/show", {
      notes: noteViews(await listNotesOfLabel(db, study.id, wave.label), req.locale, req.t),
      notesShared: namesake ? req.t("tracking.notes.shared", { position: namesake.position + 1 }) : "",
      noteKinds: ["campaign", "spend", "post"].map((k) => ({ value: k, label: req.t(`tracking.notes.kinds.${k}`) })),
      defaultCurrency: study.costCurrency ?? "",
      study,
      wave,
      statuses,
      qr,
      canEdit: can(req, "researcher"),
      notice: notices[String(req.query["done"])] ?? "",
      jobs,
      makingLinks: await personalLinksBeingMade(db, wave),
      refreshSeconds: jobs.active ? JOBS_REFRESH_SECONDS : 0,
    });
  });

  router.get("/waves/:waveId/progress.json", async (req, res) => {
    const wave = await waveFrom(req);
    res.set("Cache-Control", "no-store");
    res.json({ wave: { id: wave.id, status: wave.status }, segments: progressJson(await waveStatus(db, wave, baseUrl)) });
  });

  router.post("/waves/:waveId/open", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    await open(db, wave, req.user!.id);
    res.redirect(303, `/waves/${wave.id}?done=opened`);
  });

  router.post("/waves/:waveId/close", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    // Closing queues the recompute of the flags (speeders are judged against the wave's median, final now).
    await close(db, wave, req.user!.id);
    res.redirect(303, `/waves/${wave.id}?done=closed`);
  });

  router.post("/waves/:waveId/targets", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    const segments = await listSegments(db, wave.studyId);
    const targets = perSegment(req.body ?? {}, "target", segments);
    const audience = perSegment(req.body ?? {}, "audience", segments);
    if (targets === "invalid" || audience === "invalid") throw new ValidationError({ targets: req.t("validation.number") });
    await setWaveTargets(db, wave, { targets, audience }, req.user!.id);
    res.redirect(303, `/waves/${wave.id}?done=targets`);
  });

  // Notes on the work of the wave's period: the wave's study is the team's (studyScope), and a
  // note is found only under the wave's own study and label, so another wave's id is a 404.
  const noteFields = (req: Request) => {
    const form = parseNoteForm(req.body, req.t);
    if (!form.ok) throw new ValidationError(form.errors);
    return form.data;
  };
  const noteOf = async (wave: Wave, req: Request) => {
    const id = Number(req.params["noteId"]);
    const note = Number.isSafeInteger(id) ? await findNoteOfLabel(db, wave.studyId, wave.label, id) : undefined;
    if (!note) throw new NotFoundError();
    return note;
  };

  router.post("/waves/:waveId/notes", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    try {
      await addNote(db, wave, noteFields(req), req.user!.id);
    } catch (error) {
      if (error instanceof TooManyNotesError) throw new ValidationError({ text: req.t("tracking.notes.errors.tooManyForWave", { max: MAX_NOTES_PER_WAVE }) });
      throw error;
    }
    res.redirect(303, `/waves/${wave.id}?done=noteAdded#notes`);
  });

  router.post("/waves/:waveId/notes/:noteId", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    const note = await noteOf(wave, req);
    await editNote(db, wave, note, noteFields(req), req.user!.id);
    res.redirect(303, `/waves/${wave.id}?done=noteSaved#notes`);
  });

  router.post("/waves/:waveId/notes/:noteId/delete", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    await removeNote(db, wave, await noteOf(wave, req), req.user!.id);
    res.redirect(303, `/waves/${wave.id}?done=noteDeleted#notes`);
  });

  router.post("/waves/:waveId/links/:linkId", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    const link = await findLinkOfWave(db, wave, Number(req.params["linkId"]));
    const body = req.body ?? {};
    const text = (name: string) => (typeof body[name] === "string" && body[name].trim() ? (body[name] as string).trim() : null);
    const parsed = linkSettingsInput.safeParse({
      sourceLabel: text("sourceLabel"),
      redirectComplete: text("redirectComplete"),
      redirectScreenout: text("redirectScreenout"),
      redirectQuotaFull: text("redirectQuotaFull"),
      redirectQualityFail: text("redirectQualityFail"),
      passParams: commaList(body["passParams"]),
      signedParams: commaList(body["signedParams"]),
      // A checkbox: absent when unticked.
      requireSignature: body["requireSignature"] === "1",
    });
    if (!parsed.success) {
      throw new ValidationError(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])));
    }
    try {
      await saveLinkSettings(db, link, parsed.data, req.user!.id);
    } catch (error) {
      if (error instanceof SignatureWithoutParamsError) throw new ValidationError({ requireSignature: req.t("signing.requireNeedsParams") });
      throw error;
    }
    res.redirect(303, `/waves/${wave.id}?done=link`);
  });

  // A leaked or misused link is stopped here: its respondents get "not found" until it is enabled again.
  for (const [action, disabled] of [["disable", true], ["enable", false]] as const) {
    router.post(`/waves/:waveId/links/:linkId/${action}`, researcher, async (req, res) => {
      const wave = await waveFrom(req);
      const link = await findLinkOfWave(db, wave, Number(req.params["linkId"]));
      await setLinkDisabled(db, link, disabled, req.user!.id);
      res.redirect(303, `/waves/${wave.id}?done=${disabled ? "linkDisabled" : "linkEnabled"}`);
    });
  }

  router.post("/waves/:waveId/personal", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    const count = Number(req.body?.count);
    const segment = typeof req.body?.segment === "string" ? req.body.segment : "";
    // Made in the background (up to 10,000): the wave page shows the progress, then lists them for download.
    await queuePersonalLinks(db, wave, segment, count, req.user!.id);
    res.redirect(303, `/waves/${wave.id}`);
  });

  // Each personal link answers once as its respondent: a credential, so researchers only.
  router.get("/waves/:waveId/personal-links.csv", researcher, async (req, res) => {
    const wave = await waveFrom(req);
    // A list downloaded mid-way would look whole: it waits until the job has made them all.
    if (await personalLinksBeingMade(db, wave)) throw new PersonalLinksInProgressError();
    res.set("Cache-Control", "no-store");
    res.attachment(`wave-${wave.id}-personal-links.csv`).type("text/csv; charset=utf-8");
    // BOM so that Excel reads UTF-8; rows are written as they are read, waiting while the client
    // is behind (the reader holds nothing open meanwhile), and not read at all once it has gone.
    res.write("\uFEFF" + toCsvRow(["segment", "url", "token", "used"]));
    for await (const row of iteratePersonalLinks(db, wave.id)) {
      if (res.destroyed) return;
      const ok = res.write(toCsvRow([row.segmentKey, linkUrl(baseUrl, row.token), row.token, row.uses > 0 ? "yes" : "no"]));
      if (!ok) await drained(res);
    }
    res.end();
  });

  return router;
}
