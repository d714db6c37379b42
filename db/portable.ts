import { sql, type SQL } from "drizzle-orm";

/**
 * SQL that means the same on SQLite and PostgreSQL, for the few things the query builder does not
 * say itself. Booleans are compared through their column (`eq(col, false)`), never with 0 or 1.
 */

/** Constant predicates: SQLite reads TRUE and FALSE as 1 and 0, PostgreSQL as booleans. */
export const TRUE = sql`TRUE`;
export const FALSE = sql`FALSE`;

/** How many rows of the group satisfy `condition` (an aggregate FILTER: SQLite 3.30+, PostgreSQL 9.4+). */
export function countWhere(condition: SQL): SQL<number> {
  return sql<number>`count(*) FILTER (WHERE ${condition})`.mapWith(Number);
}
