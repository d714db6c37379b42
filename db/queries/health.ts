import { sql } from "drizzle-orm";
import { type Executor } from "../client.js";

/** A real read through the schema: fails when the file is gone, locked past the timeout or unmigrated. */
export async function checkDatabase(db: Executor): Promise<void> {
  db.get(sql`SELECT count(*) FROM users`);
}
