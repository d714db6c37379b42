import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { unitOfWork } from "../../db/client.js";
import { replaceMargins } from "../../db/queries/margins.js";
import { loadQuestionnaire } from "../../db/queries/questionnaire.js";
import { findStudy, listSegments } from "../../db/queries/studies.js";
import { waves } from "../../db/schema.js";
import { createDemoStudy } from "../../server/demo/create.js";
import { createApiToken } from "../../server/services/accounts.js";
import { parseCsv, withoutBom } from "../fixtures/exports/csv.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

/**
 * Weighted results end to end on the demo study (profile questions answered, margins for every
 * segment): on by default, switchable, said on the page, the report and the exports, and when a
 * cell cannot be weighted the page says which and shows the unweighted table.
 */
describe("weighted results", () => {
  let w: ReturnType<typeof freshApp>;
  let studyId: number;
  let token: string;
  let agent: Awaited<ReturnType<typeof loggedInAgent>>;
  beforeAll(async () => {
    w = freshApp();
    const admin = await addUser(w.db, "admin");
    token = (await createApiToken(w.db, admin.id, "t")).token;
    studyId = (await createDemoStudy(w.db, { seed: 7, locale: "ru", actorId: null, now: new Date() })).studyId;
    agent = await loggedInAgent(w.app, admin.email);
  }, 60_000);
  const api = (path: string) => request(w.app).get(path).set("Authorization", `Bearer ${token}`).set("Accept-Language", "en");

  it("weights every row by default: shares raked, effective n and design effect per wave, the verdict read off its own interval", async () => {
    const json = (await api(`/api/studies/${studyId}/results`).expect(200)).body;
    expect(json.options.weighted).toBe(true);
    expect(json.weighting).toMatchObject({ available: true, applied: true, problems: [] });
    expect(json.weighting.variables.sort()).toEqual(["age_group", "gender"]);
    for (const row of json.table.rows) {
      expect(row.weighted, row.id).toBe(true);
      expect(row.pre.nEff, row.id).toBeGreaterThan(0);
      expect(row.pre.nEff, row.id).toBeLessThanOrEqual(row.pre.n);
      expect(row.pre.designEffect, row.id).toBeCloseTo(row.pre.n / row.pre.nEff, 12);
      const change = row.verdict === "rise" || row.verdict === "fall";
      expect(row.verdictInterval.lower > 0 || row.verdictInterval.upper < 0, row.id).toBe(change);
      expect(row.adjustedPValue < row.alpha, row.id).toBe(change);
    }
    // The counts behind each weighted share are the plain ones: the same x and n as unweighted.
    const plain = (await api(`/api/studies/${studyId}/results?weighted=0`).expect(200)).body;
    expect(plain.options.weighted).toBe(false);
    expect(plain.weighting).toMatchObject({ available: true, applied: false });
    for (const row of plain.table.rows) expect(row.weighted).toBe(false);
    const counts = (body: { counts: Array<{ metric: string; segment: string; wave: string; x: number; n: number }> }) =>
      body.counts.map(({ metric, segment, wave, x, n }) => [metric, segment, wave, x, n].join("|")).sort();
    expect(counts(json)).toEqual(counts(plain));
  });

  it("says on the page and in the report which numbers are weighted, in Russian, and offers the switch", async () => {
    const page = (await agent.get(`/studies/${studyId}/results?lang=ru`).expect(200)).text;
    expect(page).toContain("Взвешено к структуре аудитории каждого сегмента");
    expect(page).toContain('name="weighted"');
    expect(page).toContain("Эффективный размер выборки");
    const off = (await agent.get(`/studies/${studyId}/results?lang=ru&weighted=0`).expect(200)).text;
    expect(off).toContain("Без взвешивания: каждый респондент считается один раз, хотя структура аудитории задана.");
    expect(off).not.toContain("Эффективный размер выборки");
    const report = (await agent.get(`/studies/${studyId}/report?lang=ru`).expect(200)).text;
    expect(report).toContain("Взвешено к структуре аудитории каждого сегмента");
  });

  it("warns before the lifts when the waves differ in who answered, naming the segment, the variable and the shift", async () => {
    const page = (await agent.get(`/studies/${studyId}/results?lang=en`).expect(200)).text;
    const block = /<p class="shifts">[\s\S]*?<\/p>/.exec(page)?.[0] ?? "";
    expect(block).toContain("The waves differ in who answered");
    // The demo's subscribers answered younger and more female after the campaign.
    expect(block).toMatch(/Subscribers: (Your gender|How old are you\?) — “[^”]+” \d+\.\d% → \d+\.\d% \(chi-square, p (=|&lt;)\s/);
    expect(block).toContain("The weighted results correct for this");
    expect(page.indexOf("The waves differ in who answered")).toBeLessThan(page.indexOf('id="metric-'));
  });

  it("puts the weighted flag, effective n and design effects in the CSV, agreeing with the JSON", async () => {
    const json = (await api(`/api/studies/${studyId}/results`).expect(200)).body;
    const csv = (await api(`/api/studies/${studyId}/results.csv?format=raw`).expect(200)).text;
    const [columns, ...lines] = parseCsv(withoutBom(csv), ",");
    expect(columns).toEqual(expect.arrayContaining(["Weighted to the population margins", "Pre: effective n", "Post: design effect"]));
    const nEff = columns!.indexOf("Pre: effective n");
    const values = lines.map((l) => Number(l[nEff]));
    expect(values.sort()).toEqual(json.table.rows.map((r: { pre: { nEff: number } }) => r.pre.nEff).sort());
  });

  it("when a targeted group has nobody in a wave, says which segment, wave and group, and shows the unweighted table", async () => {
    const local = freshApp();
    const admin = await addUser(local.db, "admin");
    const id = (await createDemoStudy(local.db, { seed: 3, locale: "en", actorId: null, now: new Date() })).studyId;
    const study = (await findStudy(local.db, id))!;
    const gender = (await loadQuestionnaire(local.db, id)).find((q) => q.key === "gender")!;
    const inactive = (await listSegments(local.db, id)).find((s) => s.key === "inactive")!;
    // A made-up level with a share: nobody can be in it.
    await unitOfWork(local.db, async (tx) =>
      replaceMargins(tx, study.id, [{ segmentId: inactive.id, waveId: null }], [
        { segmentId: inactive.id, waveId: null, questionId: gender.id, optionKey: "female", share: 0.5 },
        { segmentId: inactive.id, waveId: null, questionId: gender.id, optionKey: "male", share: 0.4 },
        { segmentId: inactive.id, waveId: null, questionId: gender.id, optionKey: "nobody", share: 0.1 },
      ]),
    );
    const agentLocal = await loggedInAgent(local.app, admin.email);
    const page = (await agentLocal.get(`/studies/${id}/results?lang=en`).expect(200)).text;
    expect(page).toContain("Unweighted: the waves could not be weighted to the population margins.");
    const preLabel = (await local.db.select().from(waves).where(eq(waves.studyId, id)))[0]!.label;
    expect(page).toContain(`, ${preLabel}: nobody answered`);
    expect(page).not.toContain('name="weighted"');
    const body = (await request(local.app).get(`/api/studies/${id}/results`).set("Authorization", `Bearer ${(await createApiToken(local.db, admin.id, "t")).token}`).expect(200)).body;
    expect(body.weighting.available).toBe(false);
    expect(body.weighting.problems[0].problem).toEqual({ kind: "empty_level", variable: "gender", level: "nobody" });
    expect(body.table.rows.every((r: { weighted: boolean }) => !r.weighted)).toBe(true);
  }, 60_000);

  it("breaks the lift down by a profile variable within each segment, with the family stated and small cells marked", async () => {
    const ru = (await agent.get(`/studies/${studyId}/breakdown?lang=ru&by=gender`).expect(200)).text;
    expect(ru).toContain("Разбивка");
    const family = /(\d+) (ячейка|ячейки|ячеек) с общей поправкой/.exec(ru);
    expect(family).not.toBeNull();
    const forms = { one: "ячейка", few: "ячейки", many: "ячеек", other: "ячейки" } as Record<string, string>;
    expect(family![2]).toBe(forms[new Intl.PluralRules("ru").select(Number(family![1]))]);
    expect(ru).toContain("мало ответов");
    expect(ru).not.toMatch(/subscribers\||prefer_not|no_answer/);
    const en = (await agent.get(`/studies/${studyId}/breakdown?lang=en&by=age_group`).expect(200)).text;
    expect(en).toContain("cells adjusted together");
    expect(en).toContain('value="age_group" selected');
  });
});
