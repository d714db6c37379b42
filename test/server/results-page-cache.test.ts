import request from "supertest";
import type { Express } from "express";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { and, eq, gt, max } from "drizzle-orm";
import { createApp } from "../../server/app.js";
import { insertShareLink } from "../../db/queries/share-links.js";
import { responses, resultSnapshots, waves } from "../../db/schema.js";
import { createWave } from "../../server/services/study-setup.js";
import { EPOCH_VARIANT, markResultsStale } from "../../server/results-snapshots/version.js";
import { configureResultsSnapshots, refreshesSettled } from "../../server/results-snapshots/refresh.js";
import { RenderedCache } from "../../server/results-snapshots/page-cache.js";
import { skeletonOf, standIn } from "../../server/presenters/page-skeleton.js";
import { openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, csrfFrom, freshApp, loginCookies } from "../helpers.js";

/**
 * Results pages kept as rendered (results-snapshots/page-cache.ts): a kept page is the page a
 * fresh instance renders from nothing (byte for byte), and never outlives what it shows.
 */

async function seed(db: ReturnType<typeof freshApp>["db"]) {
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  const [subs, active] = survey.segments;
  const add = async (waveId: number, segmentId: number, n: number, aware: number) => {
    for (let i = 0; i < n; i++) {
      await insertResponseWithAnswers(db, survey.study.id, {
        waveId,
        segmentId,
        answers: { aided: i < aware ? ["acme"] : ["none"], fav: i < aware ? 5 : 2, recall: "yes", feedback: `verbatim ${waveId}-${segmentId}-${i}` },
      });
    }
  };
  await add(survey.wave.id, subs!.id, 30, 9);
  await add(post.id, subs!.id, 30, 18);
  await add(survey.wave.id, active!.id, 8, 1);
  await add(post.id, active!.id, 8, 4);
  return { survey, post, add, subs: subs!, active: active! };
}

async function get(app: Express, path: string, cookie?: string, language?: string): Promise<string> {
  const req = request(app).get(path);
  if (cookie) void req.set("Cookie", cookie);
  if (language) void req.set("Accept-Language", language);
  return (await req.expect(200)).text;
}

describe("results pages kept as rendered", () => {
  // The printable report says when it was printed, to the minute: the same minute for every render.
  beforeEach(() => vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-20T10:00:00Z") }));
  afterEach(() => vi.useRealTimers());

  it("are byte for byte what a fresh instance renders, per page, language, share link and role", async () => {
    const { app, db, config } = freshApp();
    const { survey } = await seed(db);
    await addUser(db, "researcher");
    await addUser(db, "viewer");
    const researcher = await loginCookies(app, "researcher@example.test");
    const viewer = await loginCookies(app, "viewer@example.test");
    const withVerbatims = await insertShareLink(db, { studyId: survey.study.id, token: "with-verbatims-0123456789ab", createdBy: 1, expiresAt: null, showVerbatims: true });
    const without = await insertShareLink(db, { studyId: survey.study.id, token: "without-verbatims-0123456789", createdBy: 1, expiresAt: null, showVerbatims: false });
    const S = `/studies/${survey.study.id}`;

    const grid: Array<[path: string, cookie: string | undefined]> = [];
    for (const lang of ["ru", "en"]) {
      grid.push(
        [`${S}/results?lang=${lang}`, researcher],
        [`${S}/results?lang=${lang}`, viewer],
        [`${S}/results?lang=${lang}&confidence=0.9`, researcher],
        [`${S}/report?lang=${lang}`, researcher],
        [`${S}/results.json?lang=${lang}`, viewer],
        [`/r/${withVerbatims.token}?lang=${lang}`, undefined],
        [`/r/${without.token}?lang=${lang}`, undefined],
      );
    }
    // Every page twice on one instance (the second one kept), interleaved so that a key missing
    // the language, the link, the query or the role would serve another page's text.
    const first = new Map<string, string>();
    for (const [path, cookie] of grid) first.set(`${path} ${cookie}`, await get(app, path, cookie));
    for (const [path, cookie] of grid) {
      const kept = await get(app, path, cookie);
      const fresh = await get(createApp({ db, config }), path, cookie);
      expect(kept, path).toBe(fresh);
      expect(kept, path).toBe(first.get(`${path} ${cookie}`));
    }

    // The language the browser asks for, with the same address: each its own.
    for (const path of [`${S}/results`, `${S}/report`, `${S}/results.json`, `/r/${withVerbatims.token}`]) {
      const cookie = path.startsWith("/r/") ? undefined : researcher;
      const ru = await get(app, path, cookie, "ru");
      const en = await get(app, path, cookie, "en");
      expect(await get(app, path, cookie, "ru"), path).toBe(ru);
      expect(await get(app, path, cookie, "en"), path).toBe(en);
      expect(en, path).toBe(await get(createApp({ db, config }), path, cookie, "en"));
      expect(en, path).not.toBe(ru);
    }

    const page = (path: string, cookie?: string) => first.get(`${path} ${cookie}`)!;
    expect(page(`${S}/results?lang=ru`, researcher)).not.toBe(page(`${S}/results?lang=en`, researcher));
    // Only a researcher may share; the viewer's page has no share form.
    expect(page(`${S}/results?lang=en`, researcher)).toContain(`action="${S}/share"`);
    expect(page(`${S}/results?lang=en`, viewer)).not.toContain(`action="${S}/share"`);
    // A link made without verbatims shows none of what respondents wrote.
    expect(page(`/r/${withVerbatims.token}?lang=en`)).toContain("verbatim ");
    expect(page(`/r/${without.token}?lang=en`)).not.toContain("verbatim ");
    expect(page(`${S}/report?lang=en`, researcher)).toContain("20 Nov 2026");
  });

  it("fill each reader's own CSRF token and time of printing into a kept page", async () => {
    const { app, db, config } = freshApp();
    const { survey } = await seed(db);
    await addUser(db, "researcher");
    const one = await loginCookies(app, "researcher@example.test");
    const two = await loginCookies(app, "researcher@example.test");
    const S = `/studies/${survey.study.id}`;
    const a = await get(app, `${S}/results?lang=en`, one);
    const b = await get(app, `${S}/results?lang=en`, two);
    expect(csrfFrom(a)).not.toBe(csrfFrom(b));
    expect(b).toBe(await get(createApp({ db, config }), `${S}/results?lang=en`, two));

    const printed = await get(app, `${S}/report?lang=en`, one);
    vi.setSystemTime(new Date("2026-11-21T12:00:00Z"));
    const later = await get(app, `${S}/report?lang=en`, one);
    expect(printed).toContain("20 Nov 2026");
    expect(later).toContain("21 Nov 2026");
    expect(later).toBe(await get(createApp({ db, config }), `${S}/report?lang=en`, one));
  });

  it("are served again while nothing changed, and never after the data or what the page shows changed", async () => {
    const { app, db, config } = freshApp();
    const { survey, post, add, subs } = await seed(db);
    await addUser(db, "researcher");
    const cookie = await loginCookies(app, "researcher@example.test");
    const link = await insertShareLink(db, { studyId: survey.study.id, token: "share-0123456789abcdefghij", createdBy: 1, expiresAt: null, showVerbatims: true });
    const S = `/studies/${survey.study.id}`;
    const paths = [`${S}/results?lang=en`, `${S}/report?lang=en`, `${S}/results.json?lang=en`, `/r/${link.token}?lang=en`];
    const cookieOf = (path: string) => (path.startsWith("/r/") ? undefined : cookie);
    const fresh = (path: string) => get(createApp({ db, config }), path, cookieOf(path));
    const before = new Map<string, string>();
    // The first view of a small study computes its snapshot (so what the page is made of changes
    // while it renders, and it is not kept); the second is kept.
    for (const path of paths) await get(app, path, cookieOf(path));
    for (const path of paths) before.set(path, await get(app, path, cookieOf(path)));

    // Kept: a change no key sees (here the stored numbers, by hand) is not shown by this instance,
    // which a fresh one renders from the snapshot.
    const snapshot = (await db.select().from(resultSnapshots).where(eq(resultSnapshots.studyId, survey.study.id))).find((s) => s.variant !== EPOCH_VARIANT)!;
    await db.update(resultSnapshots).set({ payload: snapshot.payload.replaceAll("verbatim ", "tampered ") }).where(eq(resultSnapshots.id, snapshot.id));
    for (const path of paths.filter((p) => !p.includes(".json"))) {
      expect(await get(app, path, cookieOf(path))).toBe(before.get(path));
      expect(await fresh(path)).toContain("tampered ");
    }
    await db.update(resultSnapshots).set({ payload: snapshot.payload }).where(eq(resultSnapshots.id, snapshot.id));

    // New responses, as respondents' submissions arrive (not yet checked in the background): only
    // the data version says so. New numbers (recomputed on the request for a small study).
    const epochRow = and(eq(resultSnapshots.studyId, survey.study.id), eq(resultSnapshots.variant, EPOCH_VARIANT));
    const [epoch] = await db.select().from(resultSnapshots).where(epochRow);
    const newest = (await db.select({ id: max(responses.id) }).from(responses))[0]!.id!;
    await add(post.id, subs.id, 20, 20);
    await db.update(responses).set({ checkedAt: null }).where(gt(responses.id, newest));
    await db.update(resultSnapshots).set({ dataVersion: epoch!.dataVersion }).where(epochRow);
    for (const path of paths) {
      const now = await get(app, path, cookieOf(path));
      expect(now, path).not.toBe(before.get(path));
      expect(now, path).toBe(await fresh(path));
      before.set(path, now);
    }

    // A wave renamed: not in the data version, shown on every page.
    await db.update(waves).set({ label: "Renamed post wave" }).where(eq(waves.id, post.id));
    for (const path of paths) {
      const now = await get(app, path, cookieOf(path));
      expect(now, path).toContain("Renamed post wave");
      expect(now, path).toBe(await fresh(path));
    }
  });
});

describe("results pages of a large study in fieldwork", () => {
  it("keep the page of out-of-date numbers while responses keep arriving, and make a new one when the recomputation lands", async () => {
    const { app, db, config } = freshApp();
    const { survey, post, add, subs } = await seed(db);
    await addUser(db, "researcher");
    const cookie = await loginCookies(app, "researcher@example.test");
    configureResultsSnapshots(db, { syncLimit: 0 });
    const path = `/studies/${survey.study.id}/results?lang=en`;
    const fresh = () => get(createApp({ db, config }), path, cookie);
    await get(app, path, cookie);
    await refreshesSettled(db);
    const current = await get(app, path, cookie);
    expect(current).not.toContain("being updated");

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    configureResultsSnapshots(db, { syncLimit: 0, beforeRefresh: () => held });
    await add(post.id, subs.id, 5, 5);
    const stale = await get(app, path, cookie);
    expect(stale).toContain("being updated");
    // More responses, and their background checks, while the recomputation runs: the kept page
    // (the stored numbers changed by hand, which no key sees, show it is not rendered again).
    await add(post.id, subs.id, 5, 5);
    await markResultsStale(db, survey.study.id);
    const snapshot = (await db.select().from(resultSnapshots).where(eq(resultSnapshots.studyId, survey.study.id))).find((x) => x.variant !== EPOCH_VARIANT)!;
    await db.update(resultSnapshots).set({ payload: snapshot.payload.replaceAll("verbatim ", "tampered ") }).where(eq(resultSnapshots.id, snapshot.id));
    expect(await get(app, path, cookie)).toBe(stale);
    expect(await fresh()).toContain("tampered ");
    release();
    await refreshesSettled(db);
    // The recomputed snapshot: a new page, what a fresh instance renders.
    const after = await get(app, path, cookie);
    expect(after).not.toBe(stale);
    expect(after).toBe(await fresh());
  });
});

describe("a page being rendered", () => {
  it("is given to readers who ask for it meanwhile, each with their own per-request values, kept or not", async () => {
    const cache = new RenderedCache(4);
    const mine = new Map([["csrf", "token-1"]]);
    const page = skeletonOf(`<input value="${standIn("csrf")}">`);
    expect(await cache.getOrJoin("page", mine)).toBeUndefined();
    const finished = cache.rendersNow("page");
    const waiting = [cache.getOrJoin("page", mine), cache.getOrJoin("page", new Map([["csrf", "token-2"]]))];
    cache.keepSkeleton("page", page, undefined);
    finished(page);
    expect(await Promise.all(waiting)).toEqual(['<input value="token-1">', '<input value="token-2">']);
    expect(await cache.getOrJoin("page", new Map([["csrf", "token-3"]]))).toBe('<input value="token-3">');
    // Numbers from an out-of-date snapshot: the page is shared with those waiting, not kept for later readers.
    const stale = cache.rendersNow("stale");
    const sharing = cache.getOrJoin("stale", mine);
    stale(page);
    expect(await sharing).toBe('<input value="token-1">');
    expect(await cache.getOrJoin("stale", mine)).toBeUndefined();
    // A render that answered another page ("being computed") leaves its waiters to ask themselves.
    const other = cache.rendersNow("other");
    const left = cache.getOrJoin("other", mine);
    other(undefined);
    expect(await left).toBeUndefined();
  });

  it("gives five readers of a share link at once the page a fresh instance renders", async () => {
    const { app, db, config } = freshApp();
    const { survey } = await seed(db);
    const link = await insertShareLink(db, { studyId: survey.study.id, token: "share-five-0123456789abcdef", createdBy: (await addUser(db, "researcher")).id, expiresAt: null, showVerbatims: true });
    // The first view computes the small study's snapshot (not kept); then five readers at once.
    await get(app, `/r/${link.token}?lang=ru`);
    const pages = await Promise.all(Array.from({ length: 5 }, () => get(app, `/r/${link.token}?lang=ru`)));
    expect(new Set(pages).size).toBe(1);
    expect(pages[0]).toBe(await get(createApp({ db, config }), `/r/${link.token}?lang=ru`));
  });
});
