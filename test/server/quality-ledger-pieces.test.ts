import { join } from "node:path";
import ejs from "ejs";
import { describe, expect, it } from "vitest";
import { formatters, translator } from "../../server/i18n/index.js";
import { LEDGER_PIECE_SIZE, ledgerPage, ledgerQuery, pieces } from "../../server/quality/ledger-service.js";
import { drawInPieces } from "../../server/quality/ledger-view.js";
import { projectPath } from "../../db/project-root.js";
import { goodAnswers, insertQualityResponse, templateStudy } from "../fixtures/quality/responses.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

/**
 * The ledger's rows are read, described and drawn a piece at a time, a turn of the event loop
 * between pieces (on SQLite every statement and every render holds the thread that serves
 * respondents): these fail if a page of rows goes back to being one task, or if the pieces change
 * what the page shows.
 */

async function seed(db: ReturnType<typeof freshApp>["db"], flagged: number) {
  const t = await templateStudy(db);
  const ids: number[] = [];
  for (let i = 0; i < flagged; i++) {
    const r = await insertQualityResponse(db, t.study.id, {
      waveId: t.post.id,
      segmentId: t.segments[i % 2]!.id,
      answers: { ...goodAnswers(), feedback: `ответ ${i}` },
      flags: [{ code: "speeder", detail: "duration=20000;median=120000" }],
    });
    ids.push(r.id);
  }
  return { ...t, ids };
}

describe("ledger rows in pieces", () => {
  it("pieces: consecutive, in order, the last one shorter", () => {
    expect(pieces([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(pieces([], 10)).toEqual([]);
  });

  it("drawInPieces: a turn before each piece, the pieces' HTML in order", async () => {
    const log: string[] = [];
    const html = await drawInPieces(
      Array.from({ length: 25 }, (_, i) => i),
      10,
      async (piece) => {
        log.push(`draw ${piece.length}`);
        return piece.join(",") + ";";
      },
      async () => {
        log.push("turn");
      },
    );
    expect(log).toEqual(["turn", "draw 10", "turn", "draw 10", "turn", "draw 5"]);
    expect(html).toBe("0,1,2,3,4,5,6,7,8,9;10,11,12,13,14,15,16,17,18,19;20,21,22,23,24;");
  });

  it("ledgerPage reads and describes each piece of rows after a turn of its own", async () => {
    const { db } = freshApp();
    const few = await seed(db, 5);
    const turnsFor = async () => {
      let turns = 0;
      const page = await ledgerPage(db, few.study, ledgerQuery.parse({}), "en", translator("en"), async () => {
        turns++;
      });
      return { turns, page };
    };
    const small = await turnsFor();
    expect(small.page.rows).toHaveLength(5);
    for (let i = 5; i < 2 * LEDGER_PIECE_SIZE + 5; i++) {
      await insertQualityResponse(db, few.study.id, { waveId: few.post.id, segmentId: few.segments[0]!.id, answers: goodAnswers(), flags: [{ code: "speeder", detail: "duration=20000;median=120000" }] });
    }
    const large = await turnsFor();
    expect(large.page.rows).toHaveLength(2 * LEDGER_PIECE_SIZE + 5);
    // Three pieces instead of one: two more turns, and every row still has its answers and flags.
    expect(large.turns - small.turns).toBe(2);
    for (const row of large.page.rows) {
      expect(row.answers.map((a) => a.key)).toContain("feedback");
      expect(row.flags.map((f) => f.code)).toEqual(["speeder"]);
    }
  });

  it("the page's rows are the rows drawn in one piece, byte for byte", async () => {
    const { app, db } = freshApp();
    const { study, ids } = await seed(db, 2 * LEDGER_PIECE_SIZE + 3);
    const researcher = await addUser(db, "researcher");
    const agent = await loggedInAgent(app, researcher.email);
    const served = await agent.get(`/studies/${study.id}/quality?lang=en`).expect(200);
    const page = await ledgerPage(db, study, ledgerQuery.parse({}), "en", translator("en"));
    const whole = await ejs.renderFile(join(projectPath("views"), "quality", "_ledger-rows.ejs"), {
      rows: page.rows,
      values: {},
      canDecide: true,
      t: translator("en"),
      fmt: formatters("en", study.timeZone),
    });
    expect(page.rows.map((r) => r.id)).toEqual([...ids].reverse());
    expect(served.text).toContain(`<tbody>\n    ${whole}\n    </tbody>`);
  });
});
