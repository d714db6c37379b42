import { sql } from "drizzle-orm";
import type { Executor } from "../client.js";

/** A real read through the schema: fails when the file is gone, locked past the timeout or unmigrated. */
export function checkDatabase(db: Executor): void {
  db.get(sql`SELECT count(*) FROM users`);
}
