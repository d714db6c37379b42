import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { Express } from "express";
import type { Db } from "../../db/client.js";
import { studies } from "../../db/schema.js";
import { MAX_ALIASES_PER_METRIC, MAX_ALIASES_PER_STUDY, MAX_ALIAS_LENGTH, MAX_OPTIONS, MAX_QUESTIONS } from "../../server/domain/study-definition.js";
import { createApiToken } from "../../server/services/accounts.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/**
 * Issue 13.11: a definition is bounded (aliases per metric and per study, alias length, options,
 * questions, the body's size), each bound named in the reader's language with a 4xx; error
 * details never pick up prototype members.
 */

const base = () => JSON.parse(JSON.stringify(brandLiftDefinition({ name: "Bounded" }))) as { questions: Array<Record<string, unknown>> } & Record<string, unknown>;

const textMetric = (key: string, match: string[]) => ({
  key,
  type: "text",
  text: { en: "Which brands of coffee do you know?" },
  metric: { name: `unaided_${key}`, match },
});

const aliases = (n: number, length = 8) => Array.from({ length: n }, (_, i) => `a${i}`.padEnd(length, "x"));

describe("bounded study definitions (API)", () => {
  let app: Express;
  let db: Db;
  let token: string;
  beforeAll(async () => {
    ({ app, db } = freshApp());
    const researcher = await addUser(db, "researcher");
    token = (await createApiToken(db, researcher.id, "import")).token;
  });
  const post = (body: unknown, lang = "en") => request(app).post("/api/studies").set("Authorization", `Bearer ${token}`).set("Accept-Language", lang).send(body as object);

  it(`refuses ${MAX_ALIASES_PER_METRIC + 1} aliases of one metric with a 422 naming the limit, in the reader's language`, async () => {
    const def = base();
    def.questions.unshift(textMetric("unaided", aliases(MAX_ALIASES_PER_METRIC + 1)));
    const before = (await db.select().from(studies)).length;
    const res = await post(def).expect(422);
    expect(res.body.error.code).toBe("invalid_definition");
    expect(res.body.error.details["questions[0].metric.match"]).toBe(`At most ${MAX_ALIASES_PER_METRIC} aliases per metric.`);
    const ru = await post(def, "ru").expect(422);
    expect(ru.body.error.details["questions[0].metric.match"]).toBe(`Не больше ${MAX_ALIASES_PER_METRIC} вариантов написания на метрику.`);
    expect(await db.select().from(studies)).toHaveLength(before);

    // The limit itself is accepted.
    def.questions[0] = textMetric("unaided", aliases(MAX_ALIASES_PER_METRIC));
    await post(def).expect(201);
  });

  it("refuses an alias too long, too many aliases in the study, options and questions", async () => {
    const long = base();
    long.questions.unshift(textMetric("unaided", ["acme", "x".repeat(MAX_ALIAS_LENGTH + 1)]));
    expect((await post(long).expect(422)).body.error.details["questions[0].metric.match[1]"]).toBe(`An alias is at most ${MAX_ALIAS_LENGTH} characters long.`);

    const many = base();
    const perQuestion = MAX_ALIASES_PER_METRIC;
    const count = Math.ceil((MAX_ALIASES_PER_STUDY + 1) / perQuestion);
    for (let i = 0; i < count; i++) many.questions.push(textMetric(`open_${i}`, aliases(perQuestion)));
    expect((await post(many).expect(422)).body.error.details["questions"]).toBe(`At most ${MAX_ALIASES_PER_STUDY} aliases in the whole study.`);

    const options = base();
    (options.questions[1] as { options: unknown[] }).options = Array.from({ length: MAX_OPTIONS + 1 }, (_, i) => ({ key: `o${i}`, text: { en: `Option ${i}` } }));
    expect((await post(options).expect(422)).body.error.details["questions[1].options"]).toBe(`At most ${MAX_OPTIONS} options per question.`);

    const questions = base();
    questions.questions = Array.from({ length: MAX_QUESTIONS + 1 }, (_, i) => ({ key: `q${i}`, type: "text", required: false, text: { en: `Question ${i}` } }));
    expect((await post(questions, "ru").expect(422)).body.error.details["questions"]).toBe(`Не больше ${MAX_QUESTIONS} вопросов в исследовании.`);
  });

  it("never echoes prototype members in error details", async () => {
    const def = base();
    Object.assign(def, { constructor: { name: "x" }, toString: 1 });
    Object.assign(def.questions[0]!, { constructor: 1, hasOwnProperty: 1 });
    const res = await post(def).expect(422);
    expect(res.text).not.toContain("function");
    expect(res.text).not.toContain("native code");
    expect(res.body.error.details).toMatchObject({ constructor: "unknown field", toString: "unknown field", "questions[0].constructor": "unknown field" });
    // A body that is nothing but such keys too.
    const bare = await post({ constructor: 1, __proto__: 2 }).expect(422);
    expect(bare.text).not.toContain("function");
  });

  it("answers a body over the size limit with a 413 that says the limit", async () => {
    const def = base();
    def["category"] = "x".repeat(1_100_000);
    const res = await post(def).expect(413);
    expect(res.body.error.code).toBe("payload_too_large");
    expect(res.body.error.message).toBe("The submitted data is too large.");
    expect(res.body.error.details.body).toBe("At most 1024 KB per request.");
  });
});

describe("bounded study definitions (import page and builder)", () => {
  it("lists the bound's message on the import page, echoes no prototype member, and answers an oversized import with a 413 page", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const csrf = csrfFrom((await agent.get("/studies/new").expect(200)).text);

    const def = base();
    def.questions.unshift(textMetric("unaided", aliases(MAX_ALIASES_PER_METRIC + 1, 3)));
    Object.assign(def, { constructor: 1 });
    const res = await agent.post("/studies/import?lang=ru").type("form").send({ _csrf: csrf, definition: JSON.stringify(def) }).expect(422);
    expect(res.text).toContain(`Не больше ${MAX_ALIASES_PER_METRIC} вариантов написания на метрику.`);
    expect(res.text).not.toContain("function Object");

    const big = base();
    big["category"] = "x".repeat(150_000);
    const tooLarge = await agent.post("/studies/import?lang=en").type("form").send({ _csrf: csrf, definition: JSON.stringify(big) }).expect(413);
    expect(tooLarge.text).toContain("The submitted data is too large.");
    expect(tooLarge.text).toContain("At most 100 KB per request.");
  });

  it("names the alias bound in the question editor", async () => {
    const { app, db } = freshApp();
    const researcher = await addUser(db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), researcher.id);
    const agent = await loggedInAgent(app, researcher.email);
    const csrf = csrfFrom((await agent.get(`/studies/${study.id}/questions/new`).expect(200)).text);
    const res = await agent
      .post(`/studies/${study.id}/questions?lang=en`)
      .type("form")
      .send({ _csrf: csrf, key: "unaided", type: "text", text_en: "Which brands do you know?", text_ru: "Какие бренды вы знаете?", required: "1", metric_name: "unaided_awareness", metric_match: aliases(MAX_ALIASES_PER_METRIC + 1).join("\n") })
      .expect(422);
    expect(res.text).toContain(`At most ${MAX_ALIASES_PER_METRIC} aliases per metric.`);
  });
});
