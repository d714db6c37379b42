import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase, rawValues } from "../../db/client.js";
import { runMigrations } from "../../db/migrate.js";
import { chunkQuery } from "../../server/exports/response-chunks.js";

/**
 * The raw-responses export's chunk query on SQLite (the engine whose plan the app chooses with
 * hints: see chunkQuery): a migrated database, whatever TEST_ENGINE says.
 */
describe("raw-responses export: the chunk query's plan on SQLite", () => {
  it("walks the responses by primary key and reads each one's answers from the covering index alone", async () => {
    const db = openDatabase(":memory:");
    try {
      runMigrations(db);
      const query = chunkQuery(db, 1, { single: [1], scale: [2], text: [3] }, 0, 500);
      const plan = (await rawValues<[number, number, number, string]>(db, sql`EXPLAIN QUERY PLAN ${query}`)).map((row) => row[3]).join("\n");
      expect(plan).toMatch(/SEARCH r USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      // Answers' values come from the index (migration 0018), not a second look-up in the table each.
      expect(plan).toMatch(/SEARCH a USING COVERING INDEX answers_response_idx \(response_id=\?\)/);
    } finally {
      await closeDatabase(db);
    }
  });
});
