import { sql, type Column, type SQL } from "drizzle-orm";
import { isPostgres, type Executor } from "./client.js";

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

const jsonKey = (key: string): string => {
  // Keys are ours (identifiers in this code), never a user's text: checked, then written as a literal.
  if (!/^[A-Za-z_]\w*$/.test(key)) throw new RangeError(`not a JSON key of ours: ${key}`);
  return key;
};

/** A field of a JSON object as text: json_extract on SQLite, ->> on PostgreSQL. */
export function jsonField(db: Executor, json: SQL, key: string): SQL<string | null> {
  return isPostgres(db) ? sql<string | null>`(${json} ->> ${sql.raw(`'${jsonKey(key)}'`)})` : sql<string | null>`json_extract(${json}, ${sql.raw(`'$.${jsonKey(key)}'`)})`;
}

/**
 * The elements of a JSON array (or of the array at `key` of an object), as a FROM item named
 * `alias` whose column `value` is each element: json_each on SQLite, json_array_elements on
 * PostgreSQL (as text with `asText`, e.g. ids to CAST).
 */
export function jsonElements(db: Executor, json: SQL, alias: string, options: { key?: string; asText?: boolean } = {}): SQL {
  const name = sql.raw(jsonKey(alias));
  if (isPostgres(db)) {
    const array = options.key === undefined ? json : sql`(${json} -> ${sql.raw(`'${jsonKey(options.key)}'`)})`;
    const fn = sql.raw(options.asText ? "json_array_elements_text" : "json_array_elements");
    return sql`${fn}(${array}) AS ${name}(value)`;
  }
  return options.key === undefined ? sql`json_each(${json}) AS ${name}` : sql`json_each(${json}, ${sql.raw(`'$.${jsonKey(options.key)}'`)}) AS ${name}`;
}

/**
 * The rows of a group as one JSON array of arrays (`[[v1, v2, …], …]`, `[]` for none), as JSON
 * text: json_group_array on SQLite, json_agg on PostgreSQL. For a correlated subquery that brings
 * a row's few child rows with it, in the same statement.
 */
export function jsonRowsAgg(db: Executor, values: ReadonlyArray<Column | SQL>): SQL<string> {
  const row = sql.join([...values], sql`, `);
  return isPostgres(db) ? sql<string>`coalesce(json_agg(json_build_array(${row})), '[]'::json)` : sql<string>`json_group_array(json_array(${row}))`;
}

/**
 * A column SQLite's planner may not seek an index on (`+column`, SQLite's way to steer a plan to
 * another index or the primary key); on PostgreSQL the column itself: its planner goes by
 * statistics, which `+` would blind (it then estimates a handful of rows and scans the table).
 */
export function unindexed(db: Executor, column: Column): SQL {
  return isPostgres(db) ? sql`${column}` : sql`+${column}`;
}

/**
 * The select `query` locking the rows it returns until commit on PostgreSQL (`FOR UPDATE`, which
 * drizzle's PostgreSQL builder has); on SQLite, which has no such clause and needs none (a unit of
 * work holds its only write lock), the query as it is.
 */
export function forUpdate<Q extends object>(db: Executor, query: Q): Q {
  return isPostgres(db) ? (query as unknown as { for(strength: "update"): Q }).for("update") : query;
}
