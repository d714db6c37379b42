import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { and, eq, ne } from "drizzle-orm";
import { insertShareLink, revokeShareLink } from "../../db/queries/share-links.js";
import { findStudy } from "../../db/queries/studies.js";
import { audiencePoints, kpis, qualitySettings, resultSnapshots, segments, studies, waveNotes, waves, waveSegments } from "../../db/schema.js";
import { createWave } from "../../server/services/study-setup.js";
import { pageInputs } from "../../server/results-snapshots/page-cache.js";
import { EPOCH_VARIANT, markResultsStale, resultsDataVersion } from "../../server/results-snapshots/version.js";
import { openSurvey } from "../fixtures/surveys.js";
import { insertResponseWithAnswers } from "../fixtures/responses.js";
import { addUser, freshApp, loginCookies } from "../helpers.js";
import { watchStatements, type StatementTally, type StatementWatch } from "../support/statements.js";

/**
 * Issue 16: what a results page costs the database on the engine under test. A kept page (a hit)
 * reads its key, pageInputs, in one statement; a page rendered anew (a miss) reads the results
 * data version twice: with the key, whose version readSnapshot is given, and once more after the
 * render, to keep the page only if nothing it shows changed meanwhile (routes/results.ts).
 */

let watch: StatementWatch | undefined;
afterEach(() => watch?.stop());

async function seed() {
  const { app, db } = freshApp();
  const survey = await openSurvey(db);
  const post = await createWave(db, survey.study.id, "post", "Post");
  for (const w of [survey.wave.id, post.id]) {
    for (const s of survey.segments) {
      for (let i = 0; i < 5; i++) {
        await insertResponseWithAnswers(db, survey.study.id, { waveId: w, segmentId: s.id, answers: { aided: i < 2 ? ["acme"] : ["none"], fav: 4, recall: "yes", feedback: `said ${i}` } });
      }
    }
  }
  return { app, db, survey, post };
}

/** Statements that read the results data version (version.ts: the newest unchecked response of each wave). */
const versionReads = (tally: StatementTally) => tally.statements.filter((s) => /"checked_at"\s+is\s+null/i.test(s) && /max\(/i.test(s)).length;

describe("what a results page costs the database", () => {
  it("a kept page reads its key in one statement; a new one reads the data version twice, not once more per snapshot read", async () => {
    const { app, db, survey } = await seed();
    await addUser(db, "researcher");
    const cookie = await loginCookies(app, "researcher@example.test");
    const link = await insertShareLink(db, { studyId: survey.study.id, token: "share-0123456789abcdefghij", createdBy: 1, expiresAt: null, showVerbatims: true });
    const S = `/studies/${survey.study.id}`;
    // Beside the key: the session, the user's teams, the study (twice), the share links (a researcher's page lists them).
    const pages: Array<[path: string, cookie: string | undefined, hitAtMost: number]> = [
      [`${S}/results?lang=en`, cookie, 6],
      [`${S}/report?lang=en`, cookie, 5],
      [`${S}/results.json?lang=en`, cookie, 6], // and the audit row
      [`/r/${link.token}?lang=en`, undefined, 3],
    ];
    // The first view computes the small study's snapshot (the page is not kept: its inputs changed meanwhile).
    await request(app).get(`${S}/results`).set("Cookie", cookie).expect(200);
    watch = watchStatements(db);
    for (const [path, who, hitAtMost] of pages) {
      const view = async () => {
        const req = request(app).get(path);
        if (who) void req.set("Cookie", who);
        await req.expect(200);
        return watch!.take();
      };
      watch.take();
      const miss = await view();
      const hit = await view();
      expect(versionReads(miss), `${path} rendered:\n${miss.statements.join("\n")}`).toBe(2);
      expect(versionReads(hit), path).toBe(1);
      expect(hit.statements.length, `${path} kept:\n${hit.statements.join("\n")}`).toBeLessThanOrEqual(hitAtMost);
      expect(hit.statements.length, path).toBeLessThan(miss.statements.length);
    }
  });
});

describe("a results page's key (pageInputs)", () => {
  it("changes with every kind of write a page shows, and only then", async () => {
    const { app, db, survey, post } = await seed();
    const id = survey.study.id;
    const user = await addUser(db, "researcher");
    // The snapshot computed, so current: a write to the data turns its flag.
    await request(app).get(`/r/${(await insertShareLink(db, { studyId: id, token: "share-grid-0123456789abcdef", createdBy: user.id, expiresAt: null, showVerbatims: true })).token}`).expect(200);
    const [subs] = survey.segments;
    const now = new Date("2026-11-20T10:00:00Z");
    const key = async (at = now) => (await pageInputs(db, (await findStudy(db, id))!, at)).key;
    const variants = (await db.select({ variant: resultSnapshots.variant }).from(resultSnapshots).where(eq(resultSnapshots.studyId, id))).map((r) => r.variant).filter((v) => v !== EPOCH_VARIANT);
    expect(variants.length).toBeGreaterThan(0);
    const shown: Array<[what: string, write: () => Promise<unknown>]> = [
      ["the study renamed", () => db.update(studies).set({ name: "Renamed" }).where(eq(studies.id, id))],
      ["a wave relabelled", () => db.update(waves).set({ label: "Later" }).where(eq(waves.id, post.id))],
      ["an audience size typed", () =>
        db
          .insert(waveSegments)
          .values({ waveId: survey.wave.id, segmentId: subs!.id, audienceSize: 1234 })
          .onConflictDoUpdate({ target: [waveSegments.waveId, waveSegments.segmentId], set: { audienceSize: 1234 } })],
      ["an audience size typed again", () => db.update(waveSegments).set({ audienceSize: 4321 }).where(and(eq(waveSegments.waveId, survey.wave.id), eq(waveSegments.segmentId, subs!.id)))],
      ["a segment moved", () => db.update(segments).set({ position: 9 }).where(eq(segments.id, subs!.id))],
      ["quality settings saved", async () => {
        const [row] = await db.select().from(qualitySettings).where(eq(qualitySettings.studyId, id));
        if (row) return db.update(qualitySettings).set({ settings: { ...row.settings, exclusionMarginPp: 7 } }).where(eq(qualitySettings.studyId, id));
        return db.insert(qualitySettings).values({ studyId: id, settings: { exclusionMarginPp: 7 } });
      }],
      ["a KPI added", () => db.insert(kpis).values({ studyId: id, position: 99, metric: "aided", segmentId: subs!.id, kind: "lift", target: 0.05, byWave: "Post" })],
      ["a wave note added", () => db.insert(waveNotes).values({ studyId: id, waveLabel: "Post", kind: "campaign", text: "launch" })],
      ["an audience count imported", () => db.insert(audiencePoints).values({ studyId: id, segmentId: subs!.id, measure: "subscribers", day: "2026-11-01", count: 100 })],
      ["a share link made", () => insertShareLink(db, { studyId: id, token: "share-grid-second-0123456789", createdBy: user.id, expiresAt: null })],
      ["a share link revoked", async () => revokeShareLink(db, id, (await insertShareLink(db, { studyId: id, token: "share-grid-third-01234567890", createdBy: user.id, expiresAt: null })).id, now)],
      ["a snapshot recomputed", () => db.update(resultSnapshots).set({ computedAt: new Date(now.getTime() + 1000) }).where(and(eq(resultSnapshots.studyId, id), eq(resultSnapshots.variant, variants[0]!)))],
    ];
    // Writes to the data (the data version, version.ts): they turn a current snapshot's flag.
    const data: Array<[what: string, write: () => Promise<unknown>]> = [
      ["a response arriving", () => insertResponseWithAnswers(db, id, { waveId: post.id, segmentId: subs!.id, answers: { aided: ["acme"], fav: 5, recall: "yes", feedback: "new" } })],
      ["the results marked stale (checks, exclusions, coding)", () => markResultsStale(db, id)],
      ["a wave closed", () => db.update(waves).set({ status: "closed", closedAt: now }).where(eq(waves.id, post.id))],
    ];
    /** The snapshots made current, as a recomputation would. */
    const recomputed = async () => {
      const version = await resultsDataVersion(db, id, now.getTime());
      await db.update(resultSnapshots).set({ dataVersion: version }).where(and(eq(resultSnapshots.studyId, id), ne(resultSnapshots.variant, EPOCH_VARIANT)));
    };
    const changes = async (what: string, write: () => Promise<unknown>, before: string) => {
      await write();
      const after = await key();
      expect(after, what).not.toBe(before);
      // Read again with nothing written: the same key (no part of it changes by itself).
      expect(await key(), what).toBe(after);
      return after;
    };
    let before = await key();
    expect(await key()).toBe(before);
    for (const [what, write] of shown) before = await changes(what, write, before);
    for (const [what, write] of data) {
      await recomputed();
      await changes(what, write, await key());
    }
    // Out of date already: more responses leave the key (and the kept page of the numbers shown) as it is.
    before = await key();
    await data[0]![1]();
    expect(await key()).toBe(before);
    // A new day in the study's zone (an open wave's span ends today).
    expect(await key(new Date(now.getTime() + 24 * 3600 * 1000))).not.toBe(before);
  });
});
