/**
 * Hand-written SQL for tests that check what is stored, on whichever engine the test database is:
 * `?` placeholders (turned into `$1…` for PostgreSQL). Write it in the dialect both accept —
 * TRUE/FALSE for booleans, lower-case aliases (PostgreSQL folds unquoted ones). Writes go through
 * sqlRows too (they return no rows).
 */
import { isPostgres, postgresPool, type Db } from "../../db/client.js";

export async function sqlRows<T>(db: Db, text: string, params: readonly unknown[] = []): Promise<T[]> {
  if (!isPostgres(db)) {
    const statement = db.$client.prepare(text);
    // better-sqlite3 refuses all() on a statement that returns no rows (UPDATE, INSERT, DELETE…).
    if (!statement.reader) {
      statement.run(...params);
      return [];
    }
    return statement.all(...params) as T[];
  }
  let n = 0;
  const numbered = text.replace(/\?/g, () => `$${++n}`);
  return (await postgresPool(db)!.query(numbered, [...params])).rows as T[];
}

/** The first column of every row. */
export async function sqlColumn<T>(db: Db, text: string, params: readonly unknown[] = []): Promise<T[]> {
  return (await sqlRows<Record<string, T>>(db, text, params)).map((row) => Object.values(row)[0]!);
}

/** The first column of the first row, or undefined. */
export async function sqlValue<T>(db: Db, text: string, params: readonly unknown[] = []): Promise<T | undefined> {
  return (await sqlColumn<T>(db, text, params))[0];
}

/**
 * Rows sorted by their content, for comparing whole tables: without ORDER BY, PostgreSQL returns
 * an updated row wherever its new version landed, SQLite in rowid order.
 */
export function inContentOrder<T>(rows: readonly T[]): T[] {
  return rows
    .map((row) => [JSON.stringify(row), row] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
}
