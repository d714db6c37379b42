import request from "supertest";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { first, type Db } from "../../db/client.js";
import { auditLog, links, responses, studies, type Link } from "../../db/schema.js";
import { signParams } from "../../server/domain/pass-through.js";
import { createApiToken } from "../../server/services/accounts.js";
import { openSurvey, validAnswers } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";
import { snapshotAll, type Agent } from "./support.js";

/**
 * Issue 13.8, signed links that panels can use: researchers see and rotate the study's signing
 * secret (page and API, audited, never to viewers); a link can require its signed parameters, and
 * then a missing or repeated one is a localized 403 that stores nothing.
 */

const secretOf = async (db: Db, studyId: number) => first(await db.select().from(studies).where(eq(studies.id, studyId)))!.signingSecret;
const responseCount = async (db: Db) => (await db.select().from(responses)).length;
const linkRow = async (db: Db, id: number) => first(await db.select().from(links).where(eq(links.id, id)))!;

/** The hidden fields of the survey form on a page (as in respond.test.ts). */
function hidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_\w)" value="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

async function world() {
  const { app, db } = freshApp();
  const researcher = await addUser(db, "researcher");
  const viewer = await addUser(db, "viewer");
  const survey = await openSurvey(db);
  return { app, db, survey, researcher, viewer, studyId: survey.study.id };
}

/** A link of the open wave that signs `signed` and, when `required`, refuses to open without them. */
async function signingLink(db: Db, link: Link, signed: string[], required: boolean): Promise<Link> {
  await db.update(links).set({ signedParams: signed, requireSignature: required }).where(eq(links.id, link.id));
  return linkRow(db, link.id);
}

describe("the study's signing secret", () => {
  it("is shown to researchers on the settings page, with how to sign and a worked example, and never to viewers", async () => {
    const w = await world();
    const secret = await secretOf(w.db, w.studyId);
    const researcher = await loggedInAgent(w.app, w.researcher.email);
    const page = await researcher.get(`/studies/${w.studyId}/settings`).set("Accept-Language", "en").expect(200);
    expect(page.text).toContain(secret);
    expect(page.text).toContain("HMAC-SHA256");
    expect(page.text).toContain("base64url");
    expect(page.text).toContain("panel=7&amp;rid=12345");
    // The example's signature is the one the survey checks, made with this study's secret.
    expect(page.text).toContain(signParams(secret, { rid: "12345", panel: "7" }, ["rid", "panel"]));
    expect(page.text).toContain(`action="/studies/${w.studyId}/signing-secret/rotate"`);
    const ru = await researcher.get(`/studies/${w.studyId}/settings`).set("Accept-Language", "ru").expect(200);
    expect(ru.text).toContain("Секрет для подписи");

    const viewer = await loggedInAgent(w.app, w.viewer.email);
    const refused = await viewer.get(`/studies/${w.studyId}/settings`).set("Accept-Language", "en").expect(403);
    expect(refused.text).not.toContain(secret);
    for (const url of [`/studies/${w.studyId}`, `/waves/${w.survey.wave.id}`, `/studies/${w.studyId}/audit`, `/studies/${w.studyId}/export.json`]) {
      expect((await viewer.get(url).expect(200)).text, url).not.toContain(secret);
    }
  });

  it("rotates through a CSRF-protected form, audited without the secret, and signatures made with the old one then fail", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], true);
    const old = await secretOf(w.db, w.studyId);
    const oldUrl = `/s/${link.token}?rid=42&sig=${signParams(old, { rid: "42" }, ["rid"])}`;
    await request(w.app).get(oldUrl).expect(200);

    const researcher = await loggedInAgent(w.app, w.researcher.email);
    const csrf = csrfFrom((await researcher.get(`/studies/${w.studyId}/settings`).expect(200)).text);
    await researcher.post(`/studies/${w.studyId}/signing-secret/rotate`).type("form").send({}).expect(403);
    await researcher.post(`/studies/${w.studyId}/signing-secret/rotate`).type("form").send({ _csrf: "x".repeat(43) }).expect(403);
    // A viewer with a genuine form token of their own is refused too.
    const viewer = await loggedInAgent(w.app, w.viewer.email);
    const viewerCsrf = csrfFrom((await viewer.get("/account/tokens").expect(200)).text);
    await viewer.post(`/studies/${w.studyId}/signing-secret/rotate`).type("form").send({ _csrf: viewerCsrf }).expect(403);
    expect(await secretOf(w.db, w.studyId)).toBe(old);
    expect(await w.db.select().from(auditLog).where(eq(auditLog.action, "study.rotate_secret"))).toEqual([]);

    const res = await researcher.post(`/studies/${w.studyId}/signing-secret/rotate`).type("form").send({ _csrf: csrf }).expect(303);
    expect(res.headers["location"]).toBe(`/studies/${w.studyId}/settings?done=rotated#signing`);
    const secret = await secretOf(w.db, w.studyId);
    expect(secret).not.toBe(old);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const shown = await researcher.get(res.headers["location"]!).set("Accept-Language", "en").expect(200);
    expect(shown.text).toContain("A new signing secret is in force.");
    expect(shown.text).toContain(secret);
    expect(shown.text).not.toContain(old);

    const entries = await w.db.select().from(auditLog).where(eq(auditLog.action, "study.rotate_secret"));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ userId: w.researcher.id, entityType: "study", entityId: String(w.studyId), details: { via: "web" } });
    expect(JSON.stringify(entries)).not.toContain(secret);
    expect(JSON.stringify(entries)).not.toContain(old);
    const journal = await researcher.get(`/studies/${w.studyId}/audit`).set("Accept-Language", "en").expect(200);
    expect(journal.text).toContain("Rotated the signing secret of");

    const refused = await request(w.app).get(oldUrl).expect(403);
    expect(refused.text).toContain("Недействительная ссылка");
    await request(w.app).get(`/s/${link.token}?rid=42&sig=${signParams(secret, { rid: "42" }, ["rid"])}`).expect(200);
    expect(await responseCount(w.db)).toBe(0);
  });

  it("is read and rotated through the API by researchers; viewers get 403 and no secret", async () => {
    const w = await world();
    const researcherToken = (await createApiToken(w.db, w.researcher.id, "panel setup")).token;
    const viewerToken = (await createApiToken(w.db, w.viewer.id, "reports")).token;
    const old = await secretOf(w.db, w.studyId);
    const url = `/api/studies/${w.studyId}/signing-secret`;

    const read = await request(w.app).get(url).set("Authorization", `Bearer ${researcherToken}`).expect(200);
    expect(read.headers["cache-control"]).toBe("no-store");
    expect(read.body).toMatchObject({
      secret: old,
      algorithm: "HMAC-SHA256",
      encoding: "base64url",
      signatureParam: "sig",
      maxValueLength: 500,
      example: { params: { rid: "12345", panel: "7" }, signedParams: ["rid", "panel"], canonical: "panel=7&rid=12345", sig: signParams(old, { rid: "12345", panel: "7" }, ["rid", "panel"]) },
    });

    const before = await snapshotAll(w.db, ["api_tokens"]);
    for (const [method, path] of [["get", url], ["post", `${url}/rotate`]] as const) {
      const res = await request(w.app)[method](path).set("Authorization", `Bearer ${viewerToken}`).set("Accept-Language", "en").expect(403);
      expect(res.body).toEqual({ error: { code: "forbidden", message: "Your role does not allow this action." } });
      expect(JSON.stringify(res.body)).not.toContain(old);
      await request(w.app)[method](path).expect(401);
    }
    expect(await snapshotAll(w.db, ["api_tokens"])).toEqual(before);
    await request(w.app).get(`/api/studies/999999/signing-secret`).set("Authorization", `Bearer ${researcherToken}`).expect(404);
    await request(w.app).post(`/api/studies/999999/signing-secret/rotate`).set("Authorization", `Bearer ${researcherToken}`).expect(404);

    const rotated = await request(w.app).post(`${url}/rotate`).set("Authorization", `Bearer ${researcherToken}`).expect(200);
    const secret = await secretOf(w.db, w.studyId);
    expect(secret).not.toBe(old);
    expect(rotated.body.secret).toBe(secret);
    expect(rotated.body.example.sig).toBe(signParams(secret, { rid: "12345", panel: "7" }, ["rid", "panel"]));
    expect((await request(w.app).get(url).set("Authorization", `Bearer ${researcherToken}`).expect(200)).body.secret).toBe(secret);
    const entries = await w.db.select().from(auditLog).where(eq(auditLog.action, "study.rotate_secret"));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ userId: w.researcher.id, entityId: String(w.studyId), details: { via: "api" } });
  });
});

describe("a link that requires signed parameters", () => {
  /** A survey page opened with a correct signature, so its form token is genuine: what a refused post would carry. */
  async function genuineForm(app: Parameters<typeof request.agent>[0], token: string, secret: string): Promise<{ agent: Agent; fields: Record<string, string> }> {
    const agent = request.agent(app);
    const page = await agent.get(`/s/${token}?rid=42&sig=${signParams(secret, { rid: "42" }, ["rid"])}`).expect(200);
    return { agent, fields: hidden(page.text) };
  }

  it("refuses an address without rid with a localized 403 page, on the page and on a post, storing nothing", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], true);
    const secret = await secretOf(w.db, w.studyId);
    const ru = await request(w.app).get(`/s/${link.token}`).expect(403);
    expect(ru.text).toContain("Неполная ссылка");
    const en = await request(w.app).get(`/s/${link.token}?lang=en&src=vk`).expect(403);
    expect(en.text).toContain("Incomplete link");
    expect(en.headers["cache-control"]).toBe("no-store");
    // The signature alone, of a rid that is not there, is still missing its parameter.
    await request(w.app).get(`/s/${link.token}?sig=${signParams(secret, { rid: "42" }, ["rid"])}`).expect(403);
    // rid without a signature.
    expect((await request(w.app).get(`/s/${link.token}?rid=42`).expect(403)).text).toContain("Неполная ссылка");

    const { agent, fields } = await genuineForm(w.app, link.token, secret);
    const before = await snapshotAll(w.db, ["rate_limits"]);
    await agent.post(`/s/${link.token}`).type("form").send({ ...fields, ...validAnswers() }).expect(403);
    await agent.post(`/s/${link.token}?rid=42`).type("form").send({ ...fields, ...validAnswers() }).expect(403);
    expect(await snapshotAll(w.db, ["rate_limits"])).toEqual(before);
    expect(await responseCount(w.db)).toBe(0);
  });

  it("refuses rid sent twice, even with a valid signature for one of them, and stores nothing", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], true);
    const secret = await secretOf(w.db, w.studyId);
    const sig42 = signParams(secret, { rid: "42" }, ["rid"]);
    for (const query of [`rid=42&rid=43&sig=${sig42}`, `rid=43&rid=42&sig=${sig42}`, `rid=42&rid=42&sig=${sig42}`]) {
      const res = await request(w.app).get(`/s/${link.token}?${query}&lang=en`).expect(403);
      expect(res.text, query).toContain("Invalid link");
    }
    const { agent, fields } = await genuineForm(w.app, link.token, secret);
    const before = await snapshotAll(w.db, ["rate_limits"]);
    await agent.post(`/s/${link.token}?rid=42&rid=43&sig=${sig42}`).type("form").send({ ...fields, ...validAnswers() }).expect(403);
    expect(await snapshotAll(w.db, ["rate_limits"])).toEqual(before);
    expect(await responseCount(w.db)).toBe(0);
  });

  it("refuses rid sent twice on a link that signs rid without requiring it (it used to skip the check)", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], false);
    const agent = request.agent(w.app);
    await agent.get(`/s/${link.token}?rid=42&rid=43`).expect(403);
    const page = await agent.get(`/s/${link.token}`).expect(200);
    await agent.post(`/s/${link.token}?rid=42&rid=43`).type("form").send({ ...hidden(page.text), ...validAnswers() }).expect(403);
    expect(await responseCount(w.db)).toBe(0);
  });

  it("refuses sig sent twice, with or without rid, and stores nothing", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], true);
    const secret = await secretOf(w.db, w.studyId);
    const sig42 = signParams(secret, { rid: "42" }, ["rid"]);
    await request(w.app).get(`/s/${link.token}?rid=42&sig=${sig42}&sig=${sig42}`).expect(403);
    await request(w.app).get(`/s/${link.token}?rid=42&sig=${sig42}&sig=forged`).expect(403);
    await request(w.app).get(`/s/${link.token}?sig=a&sig=b`).expect(403);
    const { agent, fields } = await genuineForm(w.app, link.token, secret);
    const before = await snapshotAll(w.db, ["rate_limits"]);
    await agent.post(`/s/${link.token}?rid=42&sig=${sig42}&sig=${sig42}`).type("form").send({ ...fields, ...validAnswers() }).expect(403);
    expect(await snapshotAll(w.db, ["rate_limits"])).toEqual(before);
    expect(await responseCount(w.db)).toBe(0);
  });

  it("answers a correct signature (200), completes, and keeps every signed parameter, listed among the others or not", async () => {
    const w = await world();
    // panel_id is signed but not among the link's other pass-through names: it is kept all the same.
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid", "panel_id"], true);
    const secret = await secretOf(w.db, w.studyId);
    const values = { rid: "r 42/ж", panel_id: "7" };
    const sig = signParams(secret, values, ["rid", "panel_id"]);
    const url = `/s/${link.token}?rid=${encodeURIComponent(values.rid)}&panel_id=7&utm_source=vk&sig=${sig}`;
    const agent = request.agent(w.app);
    const page = await agent.get(url).expect(200);
    await agent.post(url).type("form").send({ ...hidden(page.text), ...validAnswers() }).expect(303);
    const stored = await w.db.select().from(responses);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ status: "completed", params: { rid: "r 42/ж", panel_id: "7", utm_source: "vk" } });
    // One of the two left out: refused, though the signature of the other alone would be right.
    await request(w.app).get(`/s/${link.token}?rid=42&sig=${signParams(secret, { rid: "42" }, ["rid", "panel_id"])}`).expect(403);
  });

  it("is answered without signed parameters when the link does not require them", async () => {
    const w = await world();
    const link = await signingLink(w.db, w.survey.links["inactive"]!, ["rid"], false);
    await request(w.app).get(`/s/${link.token}?src=vk`).expect(200);
    await request(w.app).get(`/s/${link.token}?rid=42`).expect(403);
  });

  it("is set per link on the wave page, where the signed parameters are, and audited", async () => {
    const w = await world();
    const link = w.survey.links["inactive"]!;
    const researcher = await loggedInAgent(w.app, w.researcher.email);
    const wavePage = await researcher.get(`/waves/${w.survey.wave.id}`).set("Accept-Language", "en").expect(200);
    expect(wavePage.text).toContain("Require signed parameters");
    expect(wavePage.text).toContain(`href="/studies/${w.studyId}/settings#signing"`);
    const csrf = csrfFrom(wavePage.text);
    const save = (form: Record<string, string>) =>
      researcher
        .post(`/waves/${w.survey.wave.id}/links/${link.id}`)
        .set("Accept-Language", "en")
        .type("form")
        .send({ _csrf: csrf, ...form });

    // Requiring a signature over no parameter is refused: it would look protected and protect nothing.
    const refused = await save({ signedParams: "", requireSignature: "1" }).expect(422);
    expect(refused.text).toContain("Name at least one parameter that must be signed");
    await save({ signedParams: "sig", requireSignature: "1" }).expect(422);
    expect(await linkRow(w.db, link.id)).toMatchObject({ signedParams: null, requireSignature: false });

    await save({ signedParams: "rid", requireSignature: "1" }).expect(303);
    expect(await linkRow(w.db, link.id)).toMatchObject({ signedParams: ["rid"], requireSignature: true });
    const shown = await researcher.get(`/waves/${w.survey.wave.id}`).set("Accept-Language", "en").expect(200);
    expect(shown.text).toMatch(new RegExp(`id="l${link.id}_require" name="requireSignature" value="1"[^>]* checked`));
    expect(shown.text).toContain("Signed parameters required: rid");
    await request(w.app).get(`/s/${link.token}`).expect(403);
    const entry = (await w.db.select().from(auditLog).where(eq(auditLog.action, "link.settings"))).at(-1)!;
    expect(entry.details).toMatchObject({ signedParams: ["rid"], requireSignature: true });

    // Unticked (the checkbox is then absent from the form): open again to visits without rid.
    await save({ signedParams: "rid" }).expect(303);
    expect(await linkRow(w.db, link.id)).toMatchObject({ signedParams: ["rid"], requireSignature: false });
    await request(w.app).get(`/s/${link.token}`).expect(200);
  });
});
