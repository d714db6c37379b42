import { Router } from "express";
import type { Db } from "../../db/client.js";
import { exportHandlers } from "../exports/handlers.js";
import { requireRole } from "../middleware/auth.js";
import { studyFrom } from "./studies.js";

/**
 * Downloads for the researcher pages (cookie session; any signed-in role may export, viewers
 * included). Results take the results page's query (pre, post, confidence, adjustment, flagged)
 * and `delimiter=comma|semicolon` for CSV; bad values are a 422, a study without two waves a 409.
 *
 *   GET /studies/:studyId/results.csv | .xlsx | .json | .R
 *   GET /studies/:studyId/responses.csv | .xlsx      (raw responses, streamed)
 *   GET /studies/:studyId/codebook.csv               (the columns of responses.csv explained)
 */
export function exportRoutes(db: Db): Router {
  const router = Router();
  const viewer = requireRole("viewer");
  const handlers = exportHandlers(db, (req) => studyFrom(db, req));
  router.get("/studies/:studyId/results.csv", viewer, handlers.resultsCsv);
  router.get("/studies/:studyId/results.xlsx", viewer, handlers.resultsXlsx);
  router.get("/studies/:studyId/results.json", viewer, handlers.resultsJson);
  router.get("/studies/:studyId/results.R", viewer, handlers.resultsR);
  router.get("/studies/:studyId/responses.csv", viewer, handlers.responsesCsv);
  router.get("/studies/:studyId/responses.xlsx", viewer, handlers.responsesXlsx);
  router.get("/studies/:studyId/codebook.csv", viewer, handlers.codebookCsv);
  return router;
}
