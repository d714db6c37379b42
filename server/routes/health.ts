import { Router } from "express";
import type { Db } from "../../db/client.js";
import { checkDatabase } from "../../db/queries/health.js";
import { logger } from "../logger.js";

export function healthRoutes(db: Db): Router {
  const router = Router();
  router.get("/healthz", async (_req, res) => {
    res.set("Cache-Control", "no-store");
    try {
      await checkDatabase(db);
      res.json({ status: "ok" });
    } catch (error) {
      logger.error("health check failed", error);
      res.status(503).json({ status: "unavailable" });
    }
  });
  return router;
}
