import request from "supertest";
import { describe, expect, it } from "vitest";
import { kpis, studies } from "../../db/schema.js";
import { createApiToken } from "../../server/services/accounts.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { addUser, freshApp } from "../helpers.js";
import { sqlRows } from "../support/sql.js";

type Json = Record<string, any>;
const definitionJson = (overrides: Json = {}): Json => ({ ...JSON.parse(JSON.stringify(brandLiftDefinition())), ...overrides });

async function setup() {
  const { app, db } = freshApp();
  const user = await addUser(db, "researcher");
  const token = (await createApiToken(db, user.id, "token")).token;
  const post = (body: unknown, lang = "en") => request(app).post("/api/studies").set("Authorization", `Bearer ${token}`).set("Accept-Language", lang).send(body as object);
  const get = (path: string) => request(app).get(path).set("Authorization", `Bearer ${token}`).set("Accept-Language", "en");
  return { app, db, post, get };
}

describe("KPIs in the study definition", () => {
  it("stores KPIs with a lift or a level, by a wave that need not exist yet, and exports them again", async () => {
    const t = await setup();
    const list = [
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "Month 3" },
      { metric: "favorability", segment: "inactive", level: 0.4, by: "Month 1" },
    ];
    const created = (await t.post(definitionJson({ kpis: list })).expect(201)).body as Json;
    const rows = await sqlRows<{ metric: string; kind: string; target: number; by_wave: string; position: number }>(t.db, "SELECT metric, kind, target, by_wave, position FROM kpis WHERE study_id = ? ORDER BY position", [created["id"]]);
    expect(rows.map((r) => ({ ...r, position: Number(r.position) }))).toEqual([
      { metric: "aided_awareness", kind: "lift", target: 0.05, by_wave: "Month 3", position: 0 },
      { metric: "favorability", kind: "level", target: 0.4, by_wave: "Month 1", position: 1 },
    ]);
    const read = (await t.get(`/api/studies/${created["id"]}`).expect(200)).body as Json;
    expect(read["kpis"]).toEqual(list);
  });

  it("refuses an unknown metric or segment, both or neither of lift and level, and fractions out of range, creating nothing", async () => {
    const t = await setup();
    const bad = [
      { metric: "recall_of_nothing", segment: "subscribers", lift: 0.05, by: "M1" },
      { metric: "aided_awareness", segment: "lurkers", lift: 0.05, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, level: 0.4, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", lift: 5, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", level: 0, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", level: 1, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", lift: -0.05, by: "M1" },
      { metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "" },
    ];
    const res = await t.post(definitionJson({ kpis: bad })).expect(422);
    expect(res.body.error.code).toBe("invalid_definition");
    const fraction = expect.stringContaining("fraction above 0 and below 1");
    expect(res.body.error.details).toEqual({
      "kpis[0].metric": "No question of the questionnaire measures a metric with this name.",
      "kpis[1].segment": "The study has no segment with this key.",
      "kpis[2].lift": expect.stringContaining("not both and not neither"),
      "kpis[3].lift": expect.stringContaining("not both and not neither"),
      "kpis[4].lift": fraction,
      "kpis[5].level": fraction,
      "kpis[6].level": fraction,
      "kpis[7].lift": fraction,
      "kpis[8].by": expect.any(String),
    });
    const ru = await t.post(definitionJson({ kpis: bad.slice(0, 3) }), "ru").expect(422);
    expect(ru.body.error.details).toEqual({
      "kpis[0].metric": "Ни один вопрос анкеты не измеряет метрику с таким названием.",
      "kpis[1].segment": "В исследовании нет сегмента с таким ключом.",
      "kpis[2].lift": expect.stringContaining("одно из двух"),
    });
    expect(await t.db.select().from(studies)).toEqual([]);
    expect(await t.db.select().from(kpis)).toEqual([]);
  });

  it("checks the segment against the definition's own segments", async () => {
    const t = await setup();
    const segments = [{ key: "fans", label: { en: "Fans" } }];
    await t.post(definitionJson({ segments, kpis: [{ metric: "aided_awareness", segment: "subscribers", lift: 0.05, by: "M1" }] })).expect(422);
    await t.post(definitionJson({ segments, kpis: [{ metric: "aided_awareness", segment: "fans", lift: 0.05, by: "M1" }] })).expect(201);
  });
});
