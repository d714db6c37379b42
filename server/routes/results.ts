import { Router, type Request, type Response } from "express";
import { nanoid } from "nanoid";
import { z } from "zod";
import { unitOfWork, type Db } from "../../db/client.js";
import { recordAudit } from "../../db/queries/audit.js";
import { listWaveSegments } from "../../db/queries/fieldwork.js";
import { findLiveShareLink, insertShareLink, listShareLinks, revokeShareLink } from "../../db/queries/share-links.js";
import { findStudy } from "../../db/queries/studies.js";
import type { Study } from "../../db/schema.js";
import { localize } from "../domain/questionnaire.js";
import { HttpError, NotFoundError, ValidationError } from "../errors.js";
import { shiftsView, weightingView } from "../presenters/weighted-results.js";
import { waveShifts } from "../services/comparability.js";
import { breakdownView } from "../presenters/breakdown.js";
import { can, requireRole } from "../middleware/auth.js";
import { competitorsView } from "../presenters/competitors.js";
import { feedbackSummary } from "../presenters/feedback.js";
import { resultsView, sensitivityView } from "../presenters/results.js";
import { trackingView } from "../presenters/tracking.js";
import { loadQualitySettings } from "../quality/flag-service.js";
import { breathe, warningSentences } from "../quality/ledger-service.js";
import { feedbackThemes } from "../quality/themes-service.js";
import { feedbackOf, FEEDBACK_ALL } from "../results-snapshots/gather.js";
import { loadBaseline, loadBreakdown, loadStudyResults } from "../results-snapshots/load.js";
import { snapshotSettings } from "../results-snapshots/refresh.js";
import { pageInputs, queryKey, RenderedCache, type PageInputs } from "../results-snapshots/page-cache.js";
import { resultsDataVersion } from "../results-snapshots/version.js";
import { fillSkeleton, renderToString, skeletonOf, standIn, type Skeleton } from "../presenters/page-skeleton.js";
import type { Formatters } from "../i18n/index.js";
import { exclusionWarnings } from "../quality/warnings.js";
import { baselineView, detectabilityView } from "../presenters/fieldwork.js";
import { baselineOfResults, detectabilityOfResults } from "../services/fieldwork-results.js";
import { liftTableWithoutExclusions, resultsQuery, type ResultsQuery, type StudyResults } from "../services/results.js";
import { audienceView } from "../presenters/audience.js";
import { loadAudienceGrowth } from "../services/audience-growth.js";
import { studyFrom } from "./studies.js";
import { useStudyZone } from "../middleware/locale.js";
import { monthList } from "../presenters/monthly.js";
import { monthWaves } from "../services/monthly.js";
import { monthlyHandlers, type SharedStudy } from "./monthly.js";

/** Verbatims shown beside the themes, and the most shown with "all answers". */
const FEEDBACK_SAMPLE = 8;
/** Seconds after which the "being computed" page reloads itself. */
const COMPUTING_REFRESH_S = 5;
/** Themes per wave and segment in the printable report. */
const REPORT_THEMES = 3;
/** Verbatims in the printable report (the page shows FEEDBACK_SAMPLE and links to all). */
const REPORT_VERBATIMS = 5;

const shareForm = z.object({
  days: z.preprocess((v) => (v === "" || v === undefined ? undefined : v), z.coerce.number().int().min(1).max(3650).optional()),
  // A checkbox: verbatims are shown only when ticked (what respondents wrote may identify them).
  verbatims: z.preprocess((v) => v === "1" || v === "on", z.boolean()),
});

/** Rendered results pages and reports kept per process (each ~200 KB for a large study). */
const PAGES_KEPT = 40;

/** What differs between two requests for the same page and data: filled into the kept page's stand-ins. */
function perRequest(req: Request, res: Response): Map<string, string> {
  const fmt = res.locals["fmt"] as Formatters;
  return new Map([
    ["csrf", String(res.locals["csrfToken"] ?? "")],
    ["generated", req.t("resultsPage.generated", { date: fmt.dateTime(new Date()) })],
  ]);
}

/**
 * Who is looking, as far as the page shows it: a share link (with or without verbatims, its own
 * monthly links), the study role and what the user may do (share, set the target, margins), and
 * the site navigation (admin links, a team owner's link).
 */
function viewerKey(req: Request, res: Response, extra: Record<string, unknown>): string {
  const user = req.user;
  return JSON.stringify({
    shared: extra["shared"] === true,
    hideVerbatims: extra["hideVerbatims"] === true,
    monthBase: extra["monthBase"] ?? null,
    role: res.locals["studyRole"] ?? null,
    viewer: can(req, "viewer"),
    researcher: can(req, "researcher"),
    nav: user ? { admin: user.isAdmin, owned: user.memberships.filter((m) => m.role === "owner").map((m) => m.teamId) } : null,
  });
}


/** The page's own query with every answer listed. */
function allFeedbackQuery(req: Request): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) if (typeof value === "string" && key !== "feedback") query.set(key, value);
  query.set("feedback", "all");
  return query.toString();
}

/** Results page, printable report, read-only share links. */
export function resultRoutes(db: Db, baseUrl: string): Router {
  const router = Router();
  const viewer = requireRole("viewer");
  const pages = new RenderedCache(PAGES_KEPT);

  function parseOptions(req: Request) {
    const parsed = resultsQuery.safeParse(req.query);
    if (!parsed.success) throw new ValidationError({ options: req.t("resultsPage.invalidOptions") });
    return parsed.data;
  }

  /** Where a researcher sets the study's target lift; null for viewers and share links. */
  const setTargetUrl = (req: Request, study: Study) => (req.user && can(req, "researcher") ? `/studies/${study.id}/settings#targetLift` : null);

  /** Results during fieldwork: the pre wave's levels while the post wave is empty, "lift detectable yet?" until it closes. */
  function fieldworkData(req: Request, study: Study, results: StudyResults) {
    const baseline = baselineOfResults(results, req.locale);
    const detect = detectabilityOfResults(results, req.locale);
    return {
      baseline: baseline ? baselineView(baseline, "no_post", req.locale, req.t) : null,
      detect: detect ? detectabilityView(detect, req.locale, req.t) : null,
      setTargetUrl: setTargetUrl(req, study),
    };
  }

  /** Everything the results page and the report render. */
  async function pageData(req: Request, study: Study, results: StudyResults) {
    const view = resultsView(results, req.locale, req.t);
    const segmentParam = Number(req.query["fseg"]);
    const waveParam = Number(req.query["fwave"]);
    const feedbackQuestions = results.questions.filter((q) => q.type === "text" && !q.metricName);
    const waveId = Number.isSafeInteger(waveParam) && waveParam > 0 ? waveParam : undefined;
    const segmentId = Number.isSafeInteger(segmentParam) && segmentParam > 0 ? segmentParam : undefined;
    const feedback = feedbackOf(results.data, {
      questionIds: new Set(feedbackQuestions.map((q) => q.id)),
      waveId,
      segmentId,
      // A short sample on the page; all of them (up to a bound) on request.
      limit: req.query["feedback"] === "all" ? FEEDBACK_ALL : FEEDBACK_SAMPLE,
    });
    const segmentLabel = (id: number) => {
      const s = results.segments.find((x) => x.id === id);
      return s ? localize(s.label, req.locale, study.defaultLocale) || s.key : "";
    };
    const audience: Array<{ wave: (typeof results.waves)[number]; sizes: Map<number, number | null> }> = [];
    for (const w of results.waves) {
      audience.push({ wave: w, sizes: new Map((await listWaveSegments(db, w.id)).map((r) => [r.segmentId, r.audienceSize])) });
    }
    const excluded = results.respondents.reduce((n, r) => n + r.excluded, 0);

    // Data quality: differential exclusion between the compared waves and segments, the lifts
    // with and without exclusions, and the themes of open feedback.
    const includeFlagged = results.options.flagged;
    const waveOrder = [results.pre.id, results.post.id];
    const segmentOrder = results.segments.map((s) => s.id);
    const cells = results.respondents
      .map((r) => {
        const leftOut = r.excluded + (includeFlagged ? 0 : r.flagged);
        return { waveId: r.waveId, segmentId: r.segmentId, completed: r.n + leftOut, leftOut };
      })
      .sort((a, b) => segmentOrder.indexOf(a.segmentId) - segmentOrder.indexOf(b.segmentId) || waveOrder.indexOf(a.waveId) - waveOrder.indexOf(b.waveId));
    const margin = (await loadQualitySettings(db, study.id)).exclusionMarginPp;
    const exclusion = {
      margin,
      warnings: warningSentences(exclusionWarnings(cells, margin), results.waves, segmentLabel, req.t, req.locale),
    };
    const sensitivity = sensitivityView(results, await liftTableWithoutExclusions(db, results, req.locale, req.t), req.locale, req.t);
    const themes = feedbackThemes(results.data.themes, {
      questions: results.questions,
      waves: results.waves,
      segments: results.segments,
      waveId,
      segmentId,
      locale: req.locale,
      fallback: study.defaultLocale,
    });
    return {
      fieldwork: fieldworkData(req, study, results),
      weighting: weightingView(results, req.locale, req.t),
      shifts: shiftsView(waveShifts(results), results, req.locale, req.t),
      marginsUrl: req.user && can(req, "viewer") ? `/studies/${study.id}/weighting` : null,
      competitors: competitorsView(results, req.locale, req.t),
      tracking: trackingView(results, req.locale, req.t),
      months: monthList(monthWaves(results.waves), req.locale, study.timeZone, req.t),
      monthBase: `/studies/${study.id}/months`,
      exclusion,
      sensitivity,
      themes,
      study,
      results,
      freshness: results.freshness,
      view,
      feedback: feedback.map((f) => ({
        ...f,
        segment: segmentLabel(f.segmentId),
        wave: results.waves.find((w) => w.id === f.waveId)?.label ?? "",
      })),
      filter: { segment: segmentParam || 0, wave: waveParam || 0 },
      feedbackSummary: feedbackSummary(themes, req.t),
      feedbackAllUrl: feedback.length === FEEDBACK_SAMPLE && req.query["feedback"] !== "all" ? `?${allFeedbackQuery(req)}#feedback` : null,
      audience,
      hasAudience: audience.some((a) => [...a.sizes.values()].some((v) => v !== null)),
      // "Is the audience growing?": imported series, else the sizes typed per wave.
      audienceGrowth: audienceView(await loadAudienceGrowth(db, study, results.segments.map((s) => s.id)), { segmentLabel, segmentKey: (id: number) => results.segments.find((s) => s.id === id)?.key ?? "" }, req.locale, req.t),
      audienceImportUrl: req.user && can(req, "researcher") ? `/studies/${study.id}/audience` : null,
      headline: results.table.rows.filter((r) => r.kind === "total" || results.segments.length === 1),
      segmentLabel,
      methodsVerdict: req.t("verdict.methods", {
        level: view.level,
        adjustment: req.t(`resultsPage.adjustments.${results.options.adjustment}`),
      }),
      methods: req.t("resultsPage.methodsText", { excluded: view.formats.integer(excluded) }),
      query: new URLSearchParams(
        Object.entries({
          pre: String(results.pre.id),
          post: String(results.post.id),
          confidence: String(results.options.confidence),
          adjustment: results.options.adjustment,
          flagged: results.options.flagged ? "1" : "0",
          ...(results.weighting?.available ? { weighted: results.options.weighted ? "1" : "0" } : {}),
        }),
      ).toString(),
    };
  }

  /** A large study's first results (or breakdown) are being computed: a page that says so and reloads itself. */
  function computing(res: Response, study: Study, shared: boolean, what: "results" | "breakdown" = "results") {
    res.set("Refresh", String(COMPUTING_REFRESH_S));
    res.render("results/computing", { study, shared, what });
  }

  async function render(req: Request, res: Response, view: "results/index" | "results/report", study: Study, extra: Record<string, unknown>) {
    const options = parseOptions(req);
    const values = perRequest(req, res);
    const inputs = await pageInputs(db, study);
    const key = [view, req.path, study.id, inputs.key, req.locale, queryKey(req.query), viewerKey(req, res, extra)].join("\n");
    const kept = await pages.getOrJoin(key, values);
    if (kept) return res.send(kept);
    const finished = pages.rendersNow(key);
    let rendered: Skeleton | undefined;
    try {
      rendered = await renderAndKeep(req, res, view, study, extra, { options, values, inputs, key });
    } finally {
      finished(rendered);
    }
  }

  async function renderAndKeep(
    req: Request,
    res: Response,
    view: "results/index" | "results/report",
    study: Study,
    extra: Record<string, unknown>,
    { options, values, inputs, key }: { options: ResultsQuery; values: Map<string, string>; inputs: PageInputs; key: string },
  ): Promise<Skeleton | undefined> {
    // The snapshot current against the data version read with the key: one read of it for a view.
    const results = await loadStudyResults(db, study, inputs.version, options, req.locale, req.t);
    const shared = extra["shared"] === true;
    if (results === "computing") {
      computing(res, study, shared);
      return undefined;
    }
    if (results === "no_waves") {
      // Only a baseline so far: its levels, when the pre wave has respondents.
      const loaded = await loadBaseline(db, study, inputs.version, options, req.locale, req.t);
      if (loaded === "computing") {
        computing(res, study, shared);
        return undefined;
      }
      const baseline = loaded?.baseline ?? null;
      const fieldwork = { baseline: baseline ? baselineView(baseline, "only_pre", req.locale, req.t) : null, detect: null, setTargetUrl: null };
      res.render("results/empty", { study, shared, fieldwork, freshness: baseline ? loaded!.freshness : null });
      return undefined;
    }
    // Reading the snapshot and its tables, the view data and the template were one task of ~100 ms
    // under the heavy benchmark's load (a page not kept yet): three, with a turn between them.
    const between = snapshotSettings(db).betweenPhases ?? breathe;
    await between();
    const data = await pageData(req, study, results);
    // A share link made without verbatims: themes keep their labels and counts, lose their examples.
    if (extra["hideVerbatims"] === true) {
      data.feedback = [];
      data.feedbackAllUrl = null;
      data.themes = data.themes.map((q) => ({
        ...q,
        groups: q.groups.map((g) => ({ ...g, summary: { ...g.summary, themes: g.summary.themes.map((theme) => ({ ...theme, examples: [] })) } })),
      }));
    }
    // On paper the themes are an appendix: the first few per group, the rest counted.
    if (view === "results/report") {
      data.themes = data.themes.map((q) => ({ ...q, top: Math.min(q.top, REPORT_THEMES) }));
      data.feedback = data.feedback.slice(0, REPORT_VERBATIMS);
      data.feedbackAllUrl = null;
    }
    await between();
    const skeleton = skeletonOf(await renderToString(res, view, { ...data, ...extra, csrfToken: standIn("csrf"), generated: standIn("generated") }));
    res.send(fillSkeleton(skeleton, values));
    // Kept only when nothing it is made of changed while it was rendered: a second read of the
    // inputs, needed because the key holds most rows by their content, which can come back to what
    // it was (an audience size typed back): a page rendered from the rows in between, kept under
    // the earlier key, would then be served for the rows it does not show.
    // A page of an out-of-date snapshot is kept too: its view asked for the recomputation, whose
    // new snapshot makes a new key (pageInputs).
    if ((await pageInputs(db, study)).key === inputs.key) pages.keepSkeleton(key, skeleton, undefined);
    return skeleton;
  }

  router.get("/studies/:studyId/results", viewer, async (req, res) => {
    const study = await studyFrom(db, req);
    const canShare = can(req, "researcher");
    const shares = canShare ? (await listShareLinks(db, study.id)).map((s) => ({ ...s, url: `${baseUrl}/r/${s.token}` })) : [];
    await render(req, res, "results/index", study, { canShare, shares });
  });

  router.get("/studies/:studyId/breakdown", viewer, async (req, res) => {
    const study = await studyFrom(db, req);
    const options = parseOptions(req);
    // Read once for the results and their breakdown.
    const version = await resultsDataVersion(db, study.id);
    const results = await loadStudyResults(db, study, version, options, req.locale, req.t);
    if (results === "computing") return computing(res, study, false);
    if (results === "no_waves") return res.redirect(303, `/studies/${study.id}/results`);
    const by = typeof req.query["by"] === "string" ? req.query["by"] : undefined;
    // Counts per data version, as the results: a large study's are computed in the background.
    const loaded = await loadBreakdown(db, results, version, by, req.locale, req.t);
    if (loaded === "computing") return computing(res, study, false, "breakdown");
    res.render("results/breakdown", { study, results, view: loaded ? breakdownView(loaded.breakdown, results, req.locale, req.t) : null, freshness: loaded?.freshness ?? null });
  });

  router.get("/studies/:studyId/report", viewer, async (req, res) => {
    await render(req, res, "results/report", await studyFrom(db, req), { shared: false });
  });

  router.post("/studies/:studyId/share", requireRole("researcher"), async (req, res) => {
    const study = await studyFrom(db, req);
    const parsed = shareForm.safeParse(req.body ?? {});
    if (!parsed.success) throw new ValidationError({ days: req.t("validation.number") });
    const expiresAt = parsed.data.days ? new Date(Date.now() + parsed.data.days * 24 * 3600 * 1000) : null;
    await unitOfWork(db, async (tx) => {
      const link = await insertShareLink(tx, { studyId: study.id, token: nanoid(24), createdBy: req.user!.id, expiresAt, showVerbatims: parsed.data.verbatims });
      await recordAudit(tx, { userId: req.user!.id, action: "share.create", entityType: "study", entityId: study.id, details: { shareId: link.id, expiresAt, verbatims: parsed.data.verbatims } });
    });
    res.redirect(303, `/studies/${study.id}/results#share`);
  });

  router.post("/studies/:studyId/share/:shareId/revoke", requireRole("researcher"), async (req, res) => {
    const study = await studyFrom(db, req);
    const id = Number(req.params["shareId"]);
    if (!Number.isSafeInteger(id) || !(await revokeShareLink(db, study.id, id, new Date()))) throw new NotFoundError();
    await recordAudit(db, { userId: req.user!.id, action: "share.revoke", entityType: "study", entityId: study.id, details: { shareId: id } });
    res.redirect(303, `/studies/${study.id}/results#share`);
  });

  /** The study a share link names, for anyone holding it (no account): 404 for an unknown, expired or revoked link, 410 once archived. */
  async function sharedStudy(req: Request): Promise<SharedStudy> {
    req.res!.set("Cache-Control", "no-store");
    const token = String(req.params["token"]);
    const link = /^[A-Za-z0-9_-]{20,64}$/.test(token) ? await findLiveShareLink(db, token, new Date()) : undefined;
    const study = link ? await findStudy(db, link.studyId) : undefined;
    if (!link || !study) throw new NotFoundError();
    // Archiving a study ends its sharing, as it ends its survey links.
    if (study.status === "archived") throw new HttpError(410, "share_archived", "shareArchived");
    useStudyZone(req, study);
    req.res!.set("X-Robots-Tag", "noindex");
    return { study, token, showVerbatims: link.showVerbatims };
  }

  // A share link shows the report to anyone holding it, without an account.
  router.get("/r/:token", async (req, res) => {
    const share = await sharedStudy(req);
    await render(req, res, "results/report", share.study, { shared: true, hideVerbatims: !share.showVerbatims, monthBase: `/r/${share.token}/months` });
  });

  // The monthly reports of a tracking study: the file routes first (":waveId" would take "12.json").
  const monthly = monthlyHandlers(db, { studyFrom, sharedStudy });
  router.get("/studies/:studyId/months/:waveId.xlsx", viewer, monthly.xlsx);
  router.get("/studies/:studyId/months/:waveId.json", viewer, monthly.json);
  router.get("/studies/:studyId/months/:waveId", viewer, monthly.page);
  router.get("/r/:token/months/:waveId", monthly.shared);

  return router;
}
