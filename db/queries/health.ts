import { sql } from "drizzle-orm";
import { rawRows, type Executor } from "../client.js";

/** A real read through the schema: fails when the file is gone, locked past the timeout or unmigrated. */
export async function checkDatabase(db: Executor): Promise<void> {
  await rawRows(db, sql`SELECT count(*) FROM users`);
}
