import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { first } from "../../db/client.js";
import { options, questions, responses, studies } from "../../db/schema.js";
import { brandLiftDefinition, openSurvey } from "../fixtures/surveys.js";
import { freshDb } from "../helpers.js";

/**
 * studies.version is raised by the database itself (triggers of migration 0011 on SQLite, 0001 on
 * PostgreSQL) whenever the study, a question or an option changes, so a cache keyed by it is safe
 * whichever instance or code path made the change. Runs on both engines (npm test, test:postgres).
 */
describe("study version", () => {
  async function versionOf(db: ReturnType<typeof freshDb>, id: number): Promise<number> {
    return first(await db.select({ v: studies.version }).from(studies).where(eq(studies.id, id)))!.v;
  }

  it("rises on every change to the study, its questions and options, and on nothing else", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, brandLiftDefinition());
    const other = await openSurvey(db, brandLiftDefinition({ name: "Other" }));
    const id = survey.study.id;
    const [q] = await db.select().from(questions).where(eq(questions.studyId, id)).limit(1);
    const [o] = await db.select().from(options).where(eq(options.questionId, q!.id)).limit(1);
    const otherBefore = await versionOf(db, other.study.id);

    const steps: Array<[string, () => Promise<unknown>]> = [
      ["study renamed", () => db.update(studies).set({ name: "Renamed" }).where(eq(studies.id, id))],
      ["question reworded", () => db.update(questions).set({ position: q!.position }).where(eq(questions.id, q!.id))],
      ["option changed", () => db.update(options).set({ position: o!.position }).where(eq(options.id, o!.id))],
      ["option deleted", () => db.delete(options).where(eq(options.id, o!.id))],
      ["option added", () => db.insert(options).values({ ...o!, id: undefined })],
      ["question deleted", () => db.delete(questions).where(eq(questions.id, q!.id))],
    ];
    for (const [what, step] of steps) {
      const before = await versionOf(db, id);
      await step();
      expect(await versionOf(db, id), what).toBeGreaterThan(before);
    }
    // Respondents' data is not the questionnaire: a response leaves the version as it was.
    const before = await versionOf(db, id);
    await db.update(responses).set({ excluded: false });
    expect(await versionOf(db, id)).toBe(before);
    expect(await versionOf(db, other.study.id)).toBe(otherBefore);
  });

  it("a write that sets the version itself keeps the value written", async () => {
    const db = freshDb();
    const survey = await openSurvey(db, brandLiftDefinition());
    await db.update(studies).set({ version: 41 }).where(eq(studies.id, survey.study.id));
    expect(await versionOf(db, survey.study.id)).toBe(41);
  });
});
