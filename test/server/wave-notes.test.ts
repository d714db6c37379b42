import request from "supertest";
import { describe, expect, it } from "vitest";
import { setWaveSegment } from "../../db/queries/fieldwork.js";
import { listSegments } from "../../db/queries/studies.js";
import { auditLog, waveNotes } from "../../db/schema.js";
import { insertTeam } from "../../db/queries/teams.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createStudyFromDefinition, createWave } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { seedStudy, type Json } from "../fixtures/tracking.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { sqlRows } from "../support/sql.js";
import { readerText } from "../support/page-text.js";

/**
 * Notes on the work of a wave's period: added, edited and deleted on the wave page by researchers
 * of the study's team, refused with a translated 422 writing nothing, carried by the study
 * definition (export, import, duplicate) and the API, and listed in the results JSON.
 */

const SLOW = 120_000;

async function notesOf(db: Parameters<typeof sqlRows>[0], studyId: number) {
  return sqlRows<{ wave_label: string; kind: string; text: string; date: string | null; amount: number | null; currency: string | null }>(
    db,
    "SELECT wave_label, kind, text, date, amount, currency FROM wave_notes WHERE study_id = ? ORDER BY id",
    [studyId],
  );
}

describe("wave notes on the wave page", () => {
  it("a researcher adds, edits and deletes notes; amounts are typed as people type them", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), user.id);
    const wave = await createWave(db, study.id, "post", "Март");
    const agent = await loggedInAgent(app, user.email);
    const csrf = csrfFrom((await agent.get(`/waves/${wave.id}?lang=ru`).expect(200)).text);

    await agent.post(`/waves/${wave.id}/notes`).type("form").send({ _csrf: csrf, kind: "spend", text: "Посевы в пабликах", date: "2027-03-03", amount: "150 000,50", currency: "rub" }).expect(303);
    await agent.post(`/waves/${wave.id}/notes`).type("form").send({ _csrf: csrf, kind: "post", text: "Пост о новой линейке", date: "", amount: "", currency: "" }).expect(303);
    expect(await notesOf(db, study.id)).toEqual([
      { wave_label: "Март", kind: "spend", text: "Посевы в пабликах", date: "2027-03-03", amount: 150000.5, currency: "RUB" },
      { wave_label: "Март", kind: "post", text: "Пост о новой линейке", date: null, amount: null, currency: null },
    ]);

    const page = readerText((await agent.get(`/waves/${wave.id}?lang=ru`).expect(200)).text);
    expect(page).toContain("Работа в период этой волны");
    expect(page).toContain("Расходы · 3 мар. 2027 г. · 150 000,5 RUB Посевы в пабликах");
    expect(page).toContain("Публикация Пост о новой линейке");
    expect(page).not.toContain("spend");

    const [first, second] = await db.select().from(waveNotes).orderBy(waveNotes.id);
    await agent.post(`/waves/${wave.id}/notes/${first!.id}`).type("form").send({ _csrf: csrf, kind: "campaign", text: "Весенняя кампания", date: "2027-03-01", amount: "1.5", currency: "USD" }).expect(303);
    await agent.post(`/waves/${wave.id}/notes/${second!.id}/delete`).type("form").send({ _csrf: csrf }).expect(303);
    expect(await notesOf(db, study.id)).toEqual([{ wave_label: "Март", kind: "campaign", text: "Весенняя кампания", date: "2027-03-01", amount: 1.5, currency: "USD" }]);
    const actions = (await db.select().from(auditLog)).map((a) => a.action).filter((a) => a.startsWith("wave.note"));
    expect(actions).toEqual(["wave.note_add", "wave.note_add", "wave.note_edit", "wave.note_delete"]);
    const audit = readerText((await agent.get(`/studies/${study.id}/audit?lang=en`).expect(200)).text);
    expect(audit).toContain("Added a note on the work of the wave “Март”");
  });

  it("refuses bad notes with a translated 422 and writes nothing", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), user.id);
    const wave = await createWave(db, study.id, "post", "March");
    const agent = await loggedInAgent(app, user.email);
    const csrf = csrfFrom((await agent.get(`/waves/${wave.id}`).expect(200)).text);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ kind: "spend", text: "Ads", amount: "", currency: "" }, "A spend note needs its amount and currency.", "Для расходов нужны сумма и валюта."],
      [{ kind: "campaign", text: "Ads", amount: "lots", currency: "RUB" }, "An amount is a number of 0 or more", "Сумма — число от 0"],
      [{ kind: "campaign", text: "Ads", amount: "-5", currency: "RUB" }, "An amount is a number of 0 or more", "Сумма — число от 0"],
      [{ kind: "campaign", text: "Ads", amount: "100", currency: "" }, "Give the currency of the amount.", "Укажите валюту суммы."],
      [{ kind: "campaign", text: "Ads", amount: "100", currency: "RUBLES" }, "three-letter ISO code", "трёхбуквенный код ISO"],
      [{ kind: "campaign", text: "Ads", date: "2027-02-30" }, "A date such as 2027-03-15.", "Дата в виде 2027-03-15."],
      [{ kind: "campaign", text: "   " }, "Say in a few words what was done.", "Опишите в нескольких словах, что сделано."],
      [{ kind: "campaign", text: "x".repeat(501) }, "At most 500 characters.", "Не больше 500 символов."],
      [{ kind: "banner", text: "Ads" }, "Choose a campaign, spend or post.", "Выберите кампанию, расходы или публикацию."],
    ];
    for (const [form, en, ru] of cases) {
      for (const [lang, message] of [["en", en], ["ru", ru]] as const) {
        const res = await agent.post(`/waves/${wave.id}/notes?lang=${lang}`).type("form").send({ _csrf: csrf, ...form });
        expect(res.status, JSON.stringify(form)).toBe(422);
        expect(readerText(res.text), JSON.stringify(form)).toContain(message);
      }
    }
    expect(await notesOf(db, study.id)).toEqual([]);
  });

  it("a note is reached only through its own wave; viewers see notes but cannot change them", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const viewer = await addUser(db, "viewer");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), user.id);
    const march = await createWave(db, study.id, "post", "March");
    const april = await createWave(db, study.id, "post", "April");
    const other = await createStudyFromDefinition(db, brandLiftDefinition({ name: "Other" }), user.id);
    const otherMarch = await createWave(db, other.id, "post", "March");
    const agent = await loggedInAgent(app, user.email);
    const csrf = csrfFrom((await agent.get(`/waves/${march.id}`).expect(200)).text);
    await agent.post(`/waves/${march.id}/notes`).type("form").send({ _csrf: csrf, kind: "post", text: "Launch post" }).expect(303);
    const [note] = await db.select().from(waveNotes);
    // Another wave of the study, or a wave of the same label in another study: not found.
    await agent.post(`/waves/${april.id}/notes/${note!.id}/delete`).type("form").send({ _csrf: csrf }).expect(404);
    await agent.post(`/waves/${otherMarch.id}/notes/${note!.id}`).type("form").send({ _csrf: csrf, kind: "post", text: "Changed" }).expect(404);
    const seen = await loggedInAgent(app, viewer.email);
    const page = (await seen.get(`/waves/${march.id}`).expect(200)).text;
    expect(readerText(page)).toContain("Launch post");
    expect(page).not.toContain("/notes");
    const viewerCsrf = csrfFrom(page);
    await seen.post(`/waves/${march.id}/notes/${note!.id}/delete`).type("form").send({ _csrf: viewerCsrf }).expect(403);
    expect((await notesOf(db, study.id)).map((n) => n.text)).toEqual(["Launch post"]);
  });
});

describe("wave notes in the study definition and the API", () => {
  const notes = [
    { wave: "Month 1", kind: "campaign", text: "Spring campaign", date: "2027-03-01" },
    { wave: "Month 1", kind: "spend", text: "Seeding", amount: 150000.5, currency: "RUB" },
    { wave: "Month 9", kind: "post", text: "Planned post" },
  ];

  it("imports, exports and duplicates them, by wave label (the wave need not exist yet)", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const token = (await createApiToken(db, user.id, "t")).token;
    const definition = { ...JSON.parse(JSON.stringify(brandLiftDefinition())), waveNotes: notes };
    const created = (await request(app).post("/api/studies").set("Authorization", `Bearer ${token}`).send(definition).expect(201)).body as Json;
    const read = (await request(app).get(`/api/studies/${created["id"]}`).set("Authorization", `Bearer ${token}`).expect(200)).body as Json;
    expect(read["waveNotes"]).toEqual(notes);

    const agent = await loggedInAgent(app, user.email);
    const exported = JSON.parse((await agent.get(`/studies/${created["id"]}/export.json`).expect(200)).text) as Json;
    expect(exported["waveNotes"]).toEqual(notes);
    const csrf = csrfFrom((await agent.get(`/studies/${created["id"]}`).expect(200)).text);
    const copy = await agent.post(`/studies/${created["id"]}/duplicate`).type("form").send({ _csrf: csrf }).expect(303);
    const copyId = Number(/\/studies\/(\d+)/.exec(copy.headers["location"] as string)![1]);
    expect((await notesOf(db, copyId)).map((n) => n.text)).toEqual(["Spring campaign", "Seeding", "Planned post"]);

    // The wave's notes through the API, and a new one.
    const wave = await createWave(db, copyId, "post", "Month 1");
    const listed = (await request(app).get(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${token}`).expect(200)).body as Json;
    expect(listed["notes"].map((n: Json) => n["text"])).toEqual(["Spring campaign", "Seeding"]);
    const added = (await request(app).post(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${token}`).send({ kind: "post", text: "Reel", date: "2027-03-10" }).expect(201)).body as Json;
    expect(added["note"]).toMatchObject({ wave: "Month 1", kind: "post", text: "Reel", date: "2027-03-10" });
    const refused = (await request(app).post(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${token}`).send({ kind: "spend", text: "Ads", amount: -1, currency: "RUB" }).expect(422)).body as Json;
    expect(refused["error"]["details"]["amount"]).toContain("An amount is a number of 0 or more");
  });

  it("the API edits and deletes a note of the wave, only its own wave's, and only for researchers of its team", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const token = (await createApiToken(db, user.id, "t")).token;
    const viewerToken = (await createApiToken(db, (await addUser(db, "viewer")).id, "v")).token;
    const outsiderTeam = await insertTeam(db, "Other brand");
    const outsiderToken = (await createApiToken(db, (await addUser(db, "researcher", "outsider@example.test", outsiderTeam.id)).id, "o")).token;
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), user.id);
    const march = await createWave(db, study.id, "post", "March");
    const april = await createWave(db, study.id, "post", "April");
    const api = (method: "put" | "delete", path: string, bearer = token) => request(app)[method](path).set("Authorization", `Bearer ${bearer}`);
    const added = (await request(app).post(`/api/waves/${march.id}/notes`).set("Authorization", `Bearer ${token}`).send({ kind: "post", text: "Launch post" }).expect(201)).body as Json;
    const id = added["note"]["id"] as number;
    const path = `/api/waves/${march.id}/notes/${id}`;

    const edited = (await api("put", path).send({ kind: "spend", text: "Seeding", amount: 90000, currency: "EUR", date: "2027-03-05" }).expect(200)).body as Json;
    expect(edited["note"]).toEqual({ id, wave: "March", kind: "spend", text: "Seeding", amount: 90000, currency: "EUR", date: "2027-03-05" });
    expect((await notesOf(db, study.id)).map((n) => [n.kind, n.text, n.amount, n.currency])).toEqual([["spend", "Seeding", 90000, "EUR"]]);
    // A bad edit: 422 with the field's message, the note as it was.
    const refused = (await api("put", path).send({ kind: "spend", text: "Seeding" }).expect(422)).body as Json;
    expect(JSON.stringify(refused["error"]["details"])).toContain("amount");
    expect((await notesOf(db, study.id)).map((n) => n.text)).toEqual(["Seeding"]);
    // Another wave's path, a note id that is not one, another team's researcher, a viewer: nothing changes.
    await api("put", `/api/waves/${april.id}/notes/${id}`).send({ kind: "post", text: "X" }).expect(404);
    await api("delete", `/api/waves/${april.id}/notes/${id}`).expect(404);
    await api("delete", `/api/waves/${march.id}/notes/1e3`).expect(404);
    await api("delete", `/api/waves/${march.id}/notes/${id + 1000}`).expect(404);
    await api("delete", path, outsiderToken).expect(404);
    await api("put", path, viewerToken).send({ kind: "post", text: "X" }).expect(403);
    await api("delete", path, viewerToken).expect(403);
    expect((await notesOf(db, study.id)).map((n) => n.text)).toEqual(["Seeding"]);

    expect((await api("delete", path).expect(200)).body).toEqual({ deleted: id });
    expect(await notesOf(db, study.id)).toEqual([]);
    await api("delete", path).expect(404);
    expect((await db.select().from(auditLog).orderBy(auditLog.id)).map((e) => e.action).filter((a) => a.startsWith("wave.note"))).toEqual(["wave.note_add", "wave.note_edit", "wave.note_delete"]);
  });

  it("refuses bad notes in a definition with their paths, creating nothing", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const token = (await createApiToken(db, user.id, "t")).token;
    const bad = [
      { wave: "M1", kind: "spend", text: "Ads" },
      { wave: "M1", kind: "campaign", text: "Ads", amount: 5 },
      { wave: "M1", kind: "campaign", text: "Ads", currency: "RUB" },
      { wave: "M1", kind: "campaign", text: "Ads", amount: 5, currency: "rub" },
      { wave: "", kind: "post", text: "Ads" },
      { wave: "M1", kind: "post", text: "Ads", date: "03/03/2027" },
    ];
    const res = await request(app)
      .post("/api/studies")
      .set("Authorization", `Bearer ${token}`)
      .set("Accept-Language", "ru")
      .send({ ...JSON.parse(JSON.stringify(brandLiftDefinition())), waveNotes: bad })
      .expect(422);
    expect(res.body.error.details).toEqual({
      "waveNotes[0].amount": "Для расходов нужны сумма и валюта.",
      "waveNotes[1].currency": "Укажите валюту суммы.",
      "waveNotes[2].amount": "Укажите сумму в этой валюте или оставьте валюту пустой.",
      "waveNotes[3].currency": "Валюта — трёхбуквенный код ISO, например RUB или USD.",
      "waveNotes[4].wave": expect.any(String),
      "waveNotes[5].date": "Дата в виде 2027-03-15.",
    });
    expect(await db.select().from(waveNotes)).toEqual([]);
  });

  it("the results JSON lists the notes with the wave they belong to (the first of their label)", async () => {
    const { app, db } = freshApp();
    const { studyId, waves, get, token } = await seedStudy(app, db, 3);
    for (const [wave, body] of [
      [waves[1]!, { kind: "spend", text: "Ads", amount: 1000, currency: "RUB" }],
      [waves[2]!, { kind: "post", text: "Reel" }],
    ] as const) {
      await request(app).post(`/api/waves/${wave.id}/notes`).set("Authorization", `Bearer ${token}`).send(body).expect(201);
    }
    const json = await get();
    expect(json["waveNotes"].map((n: Json) => [n["wave"], n["waveId"], n["kind"], n["amount"], n["currency"]])).toEqual([
      ["Month 1", waves[1]!.id, "spend", 1000, "RUB"],
      ["Month 2", waves[2]!.id, "post", null, null],
    ]);
    expect(studyId).toBe(waves[0]!.studyId);
    // Audience sizes are read beside the results too: a size entered now changes the costs at once.
    const segments = await listSegments(db, studyId);
    await setWaveSegment(db, waves[1]!.id, segments[0]!.id, { target: null, audienceSize: 50_000 });
    const after = await get();
    expect(after["costs"].filter((c: Json) => c["waveId"] === waves[1]!.id && c["segment"] === segments[0]!.key).map((c: Json) => c["audienceSize"])).toEqual([50_000, 50_000]);
  }, SLOW);
});
