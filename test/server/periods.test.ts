import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { listWaves } from "../../db/queries/fieldwork.js";
import { waves } from "../../db/schema.js";
import { monthLabel, nextMonthLabel } from "../../server/domain/periods.js";
import { createStudyFromDefinition } from "../../server/services/study-setup.js";
import { brandLiftDefinition } from "../fixtures/surveys.js";
import { addUser, csrfFrom, freshApp, loggedInAgent } from "../helpers.js";

/** Monthly wave names of a tracking study: the month in the reader's language and the study's zone. */

const wave = (label: string, openedAt: Date | null, createdAt = new Date(Date.UTC(2026, 0, 1))) => ({ label, openedAt, createdAt });

describe("monthLabel", () => {
  it("names the month in the nominative, capitalised, with the year and nothing else", () => {
    const at = new Date(Date.UTC(2026, 9, 15));
    expect(monthLabel(at, "ru", "Europe/Moscow")).toBe("Октябрь 2026");
    expect(monthLabel(at, "en", "Europe/Moscow")).toBe("October 2026");
  });

  it("reads the month in the study's time zone", () => {
    // 31 October 22:30 UTC is already 1 November in Moscow, still October in New York.
    const at = new Date(Date.UTC(2026, 9, 31, 22, 30));
    expect(monthLabel(at, "en", "Europe/Moscow")).toBe("November 2026");
    expect(monthLabel(at, "en", "America/New_York")).toBe("October 2026");
  });
});

describe("nextMonthLabel", () => {
  const zone = "Europe/Moscow";

  it("is the month after the last wave opened, or the current month for a first wave", () => {
    expect(nextMonthLabel([wave("Baseline", new Date(Date.UTC(2026, 7, 24)))], "en", zone)).toBe("September 2026");
    expect(nextMonthLabel([], "ru", zone, new Date(Date.UTC(2026, 11, 1, 12)))).toBe("Декабрь 2026");
    // Not opened yet: counted from when it was planned.
    expect(nextMonthLabel([wave("Plan", null, new Date(Date.UTC(2026, 2, 5)))], "en", zone)).toBe("April 2026");
  });

  it("keeps a month-end date inside the next month and crosses the year", () => {
    expect(nextMonthLabel([wave("J", new Date(Date.UTC(2027, 0, 31, 10)))], "en", zone)).toBe("February 2027");
    expect(nextMonthLabel([wave("D", new Date(Date.UTC(2026, 11, 20)))], "en", zone)).toBe("January 2027");
  });

  it("skips a month some wave is already named after", () => {
    const waves = [wave("Baseline", new Date(Date.UTC(2026, 7, 24))), wave("September 2026", new Date(Date.UTC(2026, 7, 30)))];
    // The second wave opened in August too: September is taken, so October.
    expect(nextMonthLabel(waves, "en", zone)).toBe("October 2026");
  });
});

describe("the study page's wave form", () => {
  it("proposes the next month's tracking wave once the study tracks, and names it so when left empty", async () => {
    const { app, db } = freshApp();
    const user = await addUser(db, "researcher");
    const study = await createStudyFromDefinition(db, brandLiftDefinition(), user.id);
    const agent = await loggedInAgent(app, user.email);
    const add = async (kind: string) => {
      const page = await agent.get(`/studies/${study.id}?lang=en`).expect(200);
      return agent.post(`/studies/${study.id}/waves`).type("form").send({ _csrf: csrfFrom(page.text), kind, label: "" }).expect(303);
    };
    await add("pre");
    const [baseline] = await listWaves(db, study.id);
    await db.update(waves).set({ openedAt: new Date(Date.UTC(2026, 7, 24, 12)) }).where(eq(waves.id, baseline!.id));
    // Before any tracking wave the form proposes a post wave; the hint names the month a tracking one would get.
    const before = (await agent.get(`/studies/${study.id}?lang=en`).expect(200)).text;
    expect(before).toMatch(/<option value="post" selected>/);
    expect(before).toContain("the next one would be “September 2026”");
    await add("tracking");
    const after = (await agent.get(`/studies/${study.id}?lang=ru`).expect(200)).text;
    expect(after).toMatch(/<option value="tracking" selected>/);
    expect((await listWaves(db, study.id)).map((w) => w.label)).toEqual(["Before the campaign", "September 2026"]);
  });
});
