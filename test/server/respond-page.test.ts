import request from "supertest";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { brandLiftTemplate, MAX_ADVANTAGES, MAX_COMPETITORS } from "../../server/domain/template.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { addUser, freshApp } from "../helpers.js";

/**
 * The respondent page's weight and markup on a phone budget (issue 12, item 7): HTML and its one
 * stylesheet under 20 KB uncompressed, no script, every option a label around its input, a
 * progress line on multi-page surveys, and a favicon on every page.
 */

type Agent = ReturnType<typeof request.agent>;

/** The heaviest template study: every competitor and advantage slot filled with long texts. */
const heaviestTemplate = () =>
  brandLiftTemplate({
    studyName: "Весенняя кампания",
    brand: "Бодрость",
    category: "кофейни",
    locale: "ru",
    competitors: Array.from({ length: MAX_COMPETITORS }, (_, i) => `Конкурент с длинным названием ${i + 1}`),
    advantages: Array.from({ length: MAX_ADVANTAGES }, (_, i) => `Достаточно длинное преимущество бренда номер ${i + 1}`),
  });

function hidden(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
}

/** Answers the template's first page (the unaided question alone) and returns the second. */
async function secondPage(agent: Agent, url: string): Promise<string> {
  const first = await agent.get(url).expect(200);
  await agent.post(url).type("form").send({ ...hidden(first.text), q_unaided: "Бодрость" }).expect(303);
  return (await agent.get(url).expect(200)).text;
}

describe("survey page weight", () => {
  it("keeps the template's longest page and its stylesheet under 20 KB uncompressed, in 2 requests, with no script", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, heaviestTemplate());
    const agent = request.agent(app);
    const html = await secondPage(agent, `/s/${survey.links["subscribers"]!.token}`);
    expect(html).toContain("Конкурент с длинным названием 8");

    expect(html).not.toMatch(/<script/i);
    // The page's only subresources: one stylesheet and the (long-cached) favicon. No images, frames or fonts.
    expect(html.match(/<link rel="stylesheet"/g)).toHaveLength(1);
    expect(html).not.toMatch(/<(?:img|iframe|video|audio|object|embed)\b|@import|url\(/i);
    const cssUrl = /<link rel="stylesheet" href="(\/static\/respond\.[0-9a-f]{12}\.css)">/.exec(html)![1]!;
    const css = await agent.get(cssUrl).expect(200);
    expect(css.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(css.text).not.toMatch(/@import|url\(/);

    const bytes = Buffer.byteLength(html) + Buffer.byteLength(css.text);
    expect(bytes).toBeLessThan(20_000);
    // Compressed (as served) it is a fraction of that.
    expect(gzipSync(html).length + gzipSync(css.text).length).toBeLessThan(6_000);
  });

  it("serves the researcher stylesheet apart, so its growth never weighs on respondents", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await addUser(db, "researcher"); // else /login sends to /setup
    const page = await request(app).get(`/s/${survey.links["inactive"]!.token}`).expect(200);
    expect(page.text).not.toMatch(/\/static\/app\./);
    const login = await request(app).get("/login").expect(200);
    expect(login.text).toMatch(/<link rel="stylesheet" href="\/static\/app\.[0-9a-f]{12}\.css">/);
  });
});

describe("survey page markup", () => {
  it("wraps every option and scale point in its own label, so the whole row toggles the input", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db, brandLiftDefinition());
    const html = (await request(app).get(`/s/${survey.links["inactive"]!.token}?lang=en`).expect(200)).text;
    const inputs = [...html.matchAll(/<input type="(?:radio|checkbox)"[^>]*>/g)];
    expect(inputs).toHaveLength(5 + 2 + 5);
    const wrapped = [...html.matchAll(/<label class="(opt|pt)"><input type="(?:radio|checkbox)"[^>]*><span>([^<]*)<\/span><\/label>/g)];
    expect(wrapped.map((m) => m[1])).toEqual([...Array(7).fill("opt"), ...Array(5).fill("pt")]);
    expect(wrapped.map((m) => m[2])).toContain("None of these");
    // The scale's end labels describe the question, so a screen reader hears what 1 and 5 mean.
    expect(html).toContain('<fieldset id="q_fav" class="question" aria-describedby="q_fav-ends">');
    expect(html).toContain('<p class="scale-ends" id="q_fav-ends"><span>1 — Badly</span><span>5 — Great</span></p>');
  });

  it("shows a progress line on multi-page surveys only, counting the page shown", async () => {
    const { app, db } = freshApp();
    const multi = await openSurvey(db, heaviestTemplate());
    const agent = request.agent(app);
    const url = `/s/${multi.links["subscribers"]!.token}`;
    const first = (await agent.get(url).expect(200)).text;
    // The unaided question alone, the rest, then the profile questions on a page of their own.
    expect(first).toContain('<p class="progress-label" id="progress-label">Страница 1 из 3</p>');
    expect(first).toContain('<progress class="progress" aria-labelledby="progress-label" max="3" value="1"></progress>');
    const second = await secondPage(request.agent(app), `${url}?lang=en`);
    expect(second).toContain("Page 2 of 3");
    expect(second).toContain('max="3" value="2"');

    const single = await openSurvey(db, brandLiftDefinition({ name: "One page" }));
    const one = (await request(app).get(`/s/${single.links["inactive"]!.token}`).expect(200)).text;
    expect(one).not.toContain("<progress");
    expect(one).not.toContain("progress-label");
  });
});

describe("favicon", () => {
  it("is linked, fingerprinted and cached for good from respondent and researcher pages", async () => {
    const { app, db } = freshApp();
    const survey = await openSurvey(db);
    await addUser(db, "researcher");
    for (const path of [`/s/${survey.links["inactive"]!.token}`, "/login", "/s/NoSuchTokenAtAll_123"]) {
      const page = await request(app).get(path);
      const href = /<link rel="icon" href="(\/static\/favicon\.[0-9a-f]{12}\.svg)" type="image\/svg\+xml">/.exec(page.text)?.[1];
      expect(href, path).toBeDefined();
      const icon = await request(app).get(href!).expect(200);
      expect(icon.headers["content-type"]).toMatch(/^image\/svg\+xml/);
      expect(icon.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    }
  });

  it("answers /favicon.ico (asked for by convention) with an icon, not a 404", async () => {
    const { app } = freshApp();
    const res = await request(app).get("/favicon.ico").buffer(true).expect(200);
    expect(res.headers["content-type"]).toBe("image/x-icon");
    expect(res.headers["cache-control"]).toBe("public, max-age=604800");
    // An ICO header (reserved 0, type 1) with two images (16 and 32 px).
    expect([...(res.body as Buffer).subarray(0, 6)]).toEqual([0, 0, 1, 0, 2, 0]);
  });
});
