import { Router } from "express";
import type { Db } from "../../db/client.js";
import { countUsers } from "../../db/queries/users.js";

/** The start page sends each visitor where they can act: set-up, login or their studies. */
export function homeRoutes(db: Db): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    if (req.user) return res.redirect(303, "/studies");
    res.redirect(303, (await countUsers(db)) === 0 ? "/setup" : "/login");
  });
  return router;
}
