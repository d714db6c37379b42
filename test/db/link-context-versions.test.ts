import { afterEach, describe, expect, it } from "vitest";
import { closeDatabase, isPostgres, type Db } from "../../db/client.js";
import { findLinkContext, findLinkContextKept, type KeptLinkContext } from "../../db/queries/fieldwork.js";
import { openSurvey, type OpenSurvey } from "../fixtures/surveys.js";
import { freshDb } from "../helpers.js";
import { sqlRows } from "../support/sql.js";

/**
 * A survey link's context is kept in process and only a narrow statement of its rows' versions is
 * read while they are unchanged (findLinkContextKept). What must hold, on either engine: a change
 * to any row the context is made of, written by any connection (here straight into the database,
 * as another instance or the CLI would), is in the context returned at the very next read; and a
 * link's use count, which changes on every visit, does not cost the wide read on SQLite.
 */

type Change = (db: Db, survey: OpenSurvey) => Promise<unknown>;

const linkOf = (s: OpenSurvey) => s.links["subscribers"]!;
const otherLink = (s: OpenSurvey) => Object.values(s.links).find((l) => l.id !== linkOf(s).id)!;
const now = Date.now();

/** One change per column of the context's rows a researcher or another instance may write. */
const changes: Record<string, Change> = {
  "link: source label": (db, s) => sqlRows(db, "UPDATE links SET source_label = 'VK post' WHERE id = ?", [linkOf(s).id]),
  "link: pass-through parameters": (db, s) => sqlRows(db, "UPDATE links SET pass_params = ? WHERE id = ?", [JSON.stringify(["rid"]), linkOf(s).id]),
  "link: signed parameters": (db, s) => sqlRows(db, "UPDATE links SET signed_params = ? WHERE id = ?", [JSON.stringify(["uid"]), linkOf(s).id]),
  "link: signature required": (db, s) => sqlRows(db, "UPDATE links SET require_signature = TRUE WHERE id = ?", [linkOf(s).id]),
  "link: complete redirect": (db, s) => sqlRows(db, "UPDATE links SET redirect_complete = 'https://panel.example/ok' WHERE id = ?", [linkOf(s).id]),
  "link: disabled": (db, s) => sqlRows(db, "UPDATE links SET disabled_at = ? WHERE id = ?", [now, linkOf(s).id]),
  "link: deleted and its token given to another segment's link": async (db, s) => {
    await sqlRows(db, "DELETE FROM links WHERE id = ?", [linkOf(s).id]);
    await sqlRows(db, "UPDATE links SET token = ? WHERE id = ?", [linkOf(s).token, otherLink(s).id]);
  },
  "wave: closed": (db, s) => sqlRows(db, "UPDATE waves SET status = 'closed', closed_at = ? WHERE id = ?", [now, s.wave.id]),
  "wave: relabelled": (db, s) => sqlRows(db, "UPDATE waves SET label = 'Before the campaign' WHERE id = ?", [s.wave.id]),
  "segment: renamed": (db, s) => sqlRows(db, "UPDATE segments SET label = ? WHERE id = ?", [JSON.stringify({ ru: "Читатели", en: "Followers" }), linkOf(s).segmentId]),
  "study: public title": (db, s) => sqlRows(db, "UPDATE studies SET public_title = 'Opinions 2027' WHERE id = ?", [s.study.id]),
  "study: archived": (db, s) => sqlRows(db, "UPDATE studies SET status = 'archived' WHERE id = ?", [s.study.id]),
  "quality settings: stored": (db, s) => storeSettings(db, s, 0.4),
};

/** Changes to rows that must exist before the context is kept: what is written first, then the change. */
const setUp: Record<string, Change> = {
  "quality settings: changed": (db, s) => storeSettings(db, s, 0.4),
  "quality settings: removed": (db, s) => storeSettings(db, s, 0.4),
};
changes["quality settings: changed"] = (db, s) =>
  sqlRows(db, "UPDATE quality_settings SET settings = ? WHERE study_id = ?", [JSON.stringify({ speederRatio: 0.2 }), s.study.id]);
changes["quality settings: removed"] = (db, s) => sqlRows(db, "DELETE FROM quality_settings WHERE study_id = ?", [s.study.id]);

function storeSettings(db: Db, s: OpenSurvey, speederRatio: number) {
  return sqlRows(db, "INSERT INTO quality_settings (study_id, settings, updated_at) VALUES (?, ?, ?)", [s.study.id, JSON.stringify({ speederRatio }), now]);
}

let db: Db | undefined;
afterEach(async () => {
  if (db) await closeDatabase(db);
  db = undefined;
});

async function keptAfter(database: Db, token: string, kept: KeptLinkContext | undefined) {
  const found = await findLinkContextKept(database, token, kept, { quota: true });
  return found && { ctx: found.ctx, versions: found.versions };
}

describe("a kept link context", () => {
  it.each(Object.keys(changes))("is read afresh after a change written by another connection: %s", async (name) => {
    db = freshDb();
    const survey = await openSurvey(db);
    const token = linkOf(survey).token;
    await setUp[name]?.(db, survey);

    const kept = await keptAfter(db, token, undefined);
    expect(kept!.ctx).toEqual(await findLinkContext(db, token));
    // Unchanged rows: the kept context itself is returned (only the narrow statement was read).
    expect((await keptAfter(db, token, kept))!.ctx).toBe(kept!.ctx);

    await changes[name]!(db, survey);
    const after = await keptAfter(db, token, kept);
    expect(after!.versions).not.toBe(kept!.versions);
    expect(after!.ctx).not.toBe(kept!.ctx);
    expect(after!.ctx).toEqual(await findLinkContext(db, token));
    expect(after!.ctx).not.toEqual(kept!.ctx);
  });

  it("is kept when only the link's use count changes (SQLite; PostgreSQL's row version changes with it)", async () => {
    db = freshDb();
    const survey = await openSurvey(db);
    const token = linkOf(survey).token;
    const kept = await keptAfter(db, token, undefined);
    await sqlRows(db, "UPDATE links SET uses = uses + 1 WHERE id = ?", [linkOf(survey).id]);
    const after = await keptAfter(db, token, kept);
    if (isPostgres(db)) {
      expect(after!.ctx).toEqual(await findLinkContext(db, token));
    } else {
      expect(after!.versions).toBe(kept!.versions);
      expect(after!.ctx).toBe(kept!.ctx);
    }
  });

  it("reads the quota afresh at every request, kept context or not", async () => {
    db = freshDb();
    const survey = await openSurvey(db, undefined, { subscribers: 5 });
    const token = linkOf(survey).token;
    const kept = await findLinkContextKept(db, token, undefined, { quota: true });
    expect(kept!.quota).toEqual({ target: 5, completed: 0 });
    await sqlRows(db, "UPDATE wave_segments SET target = 1 WHERE wave_id = ? AND segment_id = ?", [survey.wave.id, linkOf(survey).segmentId]);
    const after = await findLinkContextKept(db, token, kept, { quota: true });
    expect(after!.ctx).toBe(kept!.ctx);
    expect(after!.quota).toEqual({ target: 1, completed: 0 });
  });

  it("is not found once its link is gone", async () => {
    db = freshDb();
    const survey = await openSurvey(db);
    const token = linkOf(survey).token;
    const kept = await keptAfter(db, token, undefined);
    await sqlRows(db, "DELETE FROM links WHERE id = ?", [linkOf(survey).id]);
    expect(await keptAfter(db, token, kept)).toBeUndefined();
  });
});
