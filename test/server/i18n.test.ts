import request from "supertest";
import { describe, expect, it } from "vitest";
import { messages, negotiateLocale, translator } from "../../server/i18n/index.js";
import { addUser, freshApp, loggedInAgent } from "../helpers.js";

/** Every key path of a message tree, with plural suffixes folded into their base key. */
function keyPaths(tree: object, prefix = ""): Set<string> {
  const out = new Set<string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix + key.replace(/_(zero|one|two|few|many|other)$/, "");
    if (value && typeof value === "object") for (const p of keyPaths(value, path + ".")) out.add(p);
    else out.add(path);
  }
  return out;
}

describe("message catalogues", () => {
  it("have the same keys in Russian and English", () => {
    expect([...keyPaths(messages.ru)].sort()).toEqual([...keyPaths(messages.en)].sort());
  });

  it("give every Russian plural key its one/few/many forms", () => {
    const find = (tree: object, prefix = ""): string[] =>
      Object.entries(tree).flatMap(([k, v]) =>
        v && typeof v === "object" ? find(v, `${prefix}${k}.`) : k.endsWith("_one") ? [prefix + k.slice(0, -4)] : [],
      );
    const t = translator("ru");
    for (const base of find(messages.ru)) {
      for (const form of ["one", "few", "many"]) {
        expect(t(`${base}_${form}`, { count: 1 }), `${base}_${form}`).not.toBe(`${base}_${form}`);
      }
    }
  });
});

describe("Russian and English plurals", () => {
  const ru = translator("ru");
  const en = translator("en");
  it.each([
    [1, "1 ответ"],
    [2, "2 ответа"],
    [4, "4 ответа"],
    [5, "5 ответов"],
    [11, "11 ответов"],
    [12, "12 ответов"],
    [21, "21 ответ"],
    [22, "22 ответа"],
    [25, "25 ответов"],
    [111, "111 ответов"],
    [0, "0 ответов"],
  ])("ru %i → %s", (count, expected) => {
    expect(ru("studies.responses", { count })).toBe(expected);
  });

  it.each([
    [1, "1 response"],
    [2, "2 responses"],
    [0, "0 responses"],
  ])("en %i → %s", (count, expected) => {
    expect(en("studies.responses", { count })).toBe(expected);
  });

  it("groups a count's digits as the page's other numbers are, and leaves other values as given", () => {
    expect(ru("studies.responses", { count: 2874 })).toBe("2\u00a0874 ответа");
    expect(ru("studies.responses", { count: 60_000 })).toBe("60\u00a0000 ответов");
    expect(en("studies.responses", { count: 12_345 })).toBe("12,345 responses");
    expect(en("studies.responses", { count: 1001 })).toBe("1,001 responses");
    // A count a caller formatted already passes as it is.
    expect(ru("audience.single", { label: "X", count: "400\u00a0000" })).toBe("X: 400\u00a0000 — одно измерение, сравнивать пока не с чем");
    // An id is not a quantity: never grouped.
    expect(en("quality.ledger.select", { id: 12_345 })).toBe("Select response 12345");
    expect(ru("quality.ledger.select", { id: 12_345 })).toBe("Выбрать анкету 12345");
  });
});

describe("locale negotiation", () => {
  it("prefers ?lang=, then the cookie, then Accept-Language, then the default", () => {
    expect(negotiateLocale({ query: "en", cookie: "ru", acceptLanguage: "ru", fallback: "ru" })).toBe("en");
    expect(negotiateLocale({ query: "de", cookie: "en", acceptLanguage: "ru", fallback: "ru" })).toBe("en");
    expect(negotiateLocale({ query: undefined, cookie: "xx", acceptLanguage: "en", fallback: "ru" })).toBe("en");
    expect(negotiateLocale({ query: ["en", "ru"], cookie: undefined, acceptLanguage: false, fallback: "ru" })).toBe("ru");
  });

  it("reads Accept-Language with regions and weights, and remembers ?lang= in a cookie", async () => {
    const { app } = freshApp({ defaultLocale: "en" });
    const ru = await request(app).get("/nowhere").set("Accept-Language", "de-DE,ru-RU;q=0.8,en;q=0.5").expect(404);
    expect(ru.text).toContain('<html lang="ru">');
    const en = await request(app).get("/nowhere").set("Accept-Language", "fr").expect(404);
    expect(en.text).toContain('<html lang="en">');

    const agent = request.agent(app);
    const switched = await agent.get("/nowhere?lang=ru").set("Accept-Language", "en").expect(404);
    expect(switched.headers["set-cookie"]?.toString()).toMatch(/bl_lang=ru/);
    const remembered = await agent.get("/nowhere").set("Accept-Language", "en").expect(404);
    expect(remembered.text).toContain('<html lang="ru">');
  });

  it("shows the studies page with Russian plural counts", async () => {
    const { app, db } = freshApp();
    await addUser(db, "researcher");
    const agent = await loggedInAgent(app, "researcher@example.test");
    const { insertStudy } = await import("../../db/queries/studies.js");
    const { defaultSegments } = await import("../../server/domain/segments.js");
    await insertStudy(db, {
      name: "Весна",
      brand: "Акме",
      defaultLocale: "ru",
      locales: ["ru", "en"],
      signingSecret: "s",
      createdBy: null,
      segments: defaultSegments(),
    });
    const page = await agent.get("/studies?lang=ru").expect(200);
    expect(page.text).toContain("0 волн");
    expect(page.text).toContain("0 ответов");
  });
});

describe("404 page", () => {
  it("is in Russian", async () => {
    const { app } = freshApp();
    const res = await request(app).get("/no/such/page?lang=ru").expect(404);
    expect(res.text).toContain("Страница не найдена");
    expect(res.headers["content-type"]).toMatch(/text\/html/);
  });

  it("is in English", async () => {
    const { app } = freshApp();
    const res = await request(app).get("/no/such/page?lang=en").expect(404);
    expect(res.text).toContain("Page not found");
  });
});

describe("keys used in code and templates", () => {
  it("exist in both catalogues", async () => {
    const { readdirSync, readFileSync, statSync } = await import("node:fs");
    const { join } = await import("node:path");
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|ejs)$/.test(name)) files.push(path);
      }
    };
    walk("views");
    walk("server");
    const used = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(file, "utf8").matchAll(/\bt\(\s*['"`]([a-zA-Z][\w.]*[\w])['"`]\s*[,)]/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(100);
    const has = (tree: object, key: string) => {
      let node: unknown = tree;
      for (const part of key.split(".")) {
        if (!node || typeof node !== "object") return false;
        const obj = node as Record<string, unknown>;
        node = part in obj ? obj[part] : (obj[`${part}_one`] ?? obj[`${part}_other`]);
      }
      return node !== undefined;
    };
    const missing = [...used].filter((k) => !has(messages.en, k) || !has(messages.ru, k));
    expect(missing).toEqual([]);
  });
});
