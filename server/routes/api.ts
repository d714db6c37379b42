import express, { Router } from "express";
import type { Db } from "../../db/client.js";
import { listStudySummaries } from "../../db/queries/studies.js";
import { bearerToken, requireRole } from "../middleware/auth.js";

/**
 * The JSON API, authenticated by `Authorization: Bearer <token>` only (no cookies, so no CSRF).
 * Errors share one shape: `{"error":{"code","message"}}` (middleware/errors.ts).
 */
export function apiRoutes(db: Db): Router {
  const router = Router();
  router.use(express.json({ limit: "1mb" }));
  router.use(bearerToken(db));

  router.get("/me", requireRole("viewer"), (req, res) => {
    const { id, email, name, role } = req.user!;
    res.json({ id, email, name, role });
  });

  router.get("/studies", requireRole("viewer"), (_req, res) => {
    res.json({ studies: listStudySummaries(db) });
  });

  return router;
}
