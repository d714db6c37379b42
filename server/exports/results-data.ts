import { z } from "zod";
import type { Db } from "../../db/client.js";
import { listWaves } from "../../db/queries/fieldwork.js";
import type { Locale, Study } from "../../db/schema.js";
import { ValidationError } from "../errors.js";
import type { Translate } from "../i18n/index.js";
import { loadStudyResults } from "../results-snapshots/load.js";
import { resultsQuery, type StudyResults } from "../services/results.js";
import { CSV_FORMATS, LEGACY_DELIMITERS } from "./csv-dialect.js";

/**
 * The parameters every results export accepts: those of the results page (pre, post, confidence,
 * adjustment, flagged) plus the CSV dialect (`format`, or the older `delimiter`; see
 * csv-dialect.ts). Unknown parameters (lang, …) are ignored.
 */
export const exportQuery = resultsQuery.extend({
  format: z.enum(CSV_FORMATS).optional(),
  delimiter: z.enum(LEGACY_DELIMITERS).optional(),
});
export type ExportQuery = z.infer<typeof exportQuery>;

/** Zod issues as `{ field: message }` (first message per field). */
function issuesByField(error: z.ZodError): Record<string, string> {
  // Own keys only: a "constructor" field must not find Object's function there.
  const details: Record<string, string> = Object.create(null);
  for (const issue of error.issues) {
    const key = issue.path.map(String).join(".") || "(root)";
    if (!Object.hasOwn(details, key)) details[key] = issue.message;
  }
  return details;
}

/**
 * Reads the query of a results export: 422 `validation_failed` for malformed values, and for
 * wave ids that are not waves of the study or name the same wave twice (the page would silently
 * fall back to the defaults; an export must say what it compared).
 */
export async function parseExportQuery(db: Db, study: Study, query: unknown, t: Translate): Promise<ExportQuery> {
  const parsed = exportQuery.safeParse(query);
  if (!parsed.success) {
    const details = issuesByField(parsed.error);
    // The CSV parameters are ours alone: say which values they take, in the reader's language.
    if (details["format"] !== undefined) details["format"] = t("exports.errors.format");
    if (details["delimiter"] !== undefined) details["delimiter"] = t("exports.errors.delimiter");
    throw new ValidationError(details);
  }
  const options = parsed.data;
  if (options.pre !== undefined || options.post !== undefined) {
    const ids = new Set((await listWaves(db, study.id)).map((w) => w.id));
    const details: Record<string, string> = {};
    if (options.pre !== undefined && !ids.has(options.pre)) details["pre"] = t("exports.errors.unknownWave");
    if (options.post !== undefined && !ids.has(options.post)) details["post"] = t("exports.errors.unknownWave");
    if (options.pre !== undefined && options.pre === options.post) details["post"] = t("exports.errors.sameWave");
    if (Object.keys(details).length > 0) throw new ValidationError(details);
  }
  return options;
}

/**
 * The results for an export, from the same snapshot as the page (server/results-snapshots/load.ts);
 * "no_waves" when the study has no two waves to compare, "computing" while a large study's first
 * results are computed. `version`: the study's results data version, as loadStudyResults.
 */
export function loadResults(db: Db, study: Study, version: string, options: ExportQuery, locale: Locale, t: Translate): Promise<StudyResults | "no_waves" | "computing"> {
  const { delimiter: _delimiter, format: _format, ...resultOptions } = options;
  return loadStudyResults(db, study, version, resultOptions, locale, t);
}
