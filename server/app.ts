import compression from "compression";
import cookieParser from "cookie-parser";
import express, { type Express } from "express";
import helmet from "helmet";
import type { Db } from "../db/client.js";
import { projectPath } from "../db/project-root.js";
import { loadAssets } from "./assets.js";
import type { Config } from "./config.js";
import { studyScope } from "./middleware/auth.js";
import { csrfProtection } from "./middleware/csrf.js";
import { errorHandler, notFound } from "./middleware/errors.js";
import { localeMiddleware } from "./middleware/locale.js";
import { requestLog } from "./middleware/request-log.js";
import { sessionMiddleware } from "./middleware/session.js";
import { accountRoutes } from "./routes/account.js";
import { adminRoutes } from "./routes/admin.js";
import { audienceRoutes } from "./routes/audience.js";
import { apiRoutes } from "./routes/api.js";
import { authRoutes } from "./routes/auth.js";
import { exportRoutes } from "./routes/exports.js";
import { healthRoutes } from "./routes/health.js";
import { respondRoutes } from "./routes/respond.js";
import { resultRoutes } from "./routes/results.js";
import { qualityRoutes } from "./routes/quality.js";
import { homeRoutes } from "./routes/home.js";
import { plannerRoutes } from "./routes/planner.js";
import { questionRoutes } from "./routes/questions.js";
import { studyRoutes } from "./routes/studies.js";
import { teamRoutes } from "./routes/teams.js";
import { waveRoutes } from "./routes/waves.js";
import { weightingRoutes } from "./routes/weighting.js";

const VIEWS_DIR = projectPath("views");

/** Form bodies are small; anything larger is refused with 413 before it is parsed. */
export const FORM_BODY_LIMIT = "100kb";

export interface AppDeps {
  db: Db;
  config: Config;
}

/** Builds the Express app without listening: main.ts listens, tests hand it to supertest. */
export function createApp({ db, config }: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  app.set("views", VIEWS_DIR);
  app.set("view engine", "ejs");
  // Set from the config, not left to Express's reading of NODE_ENV: unset NODE_ENV caches too.
  // "env" also keeps stack traces out of Express's fallback error page.
  app.set("env", config.production ? "production" : "development");
  app.set("view cache", config.production);
  // Every page and API answer is per request and no-store (tokens, counts): an ETag could never
  // be used, and hashing each body for one cost the survey page. Static files keep theirs.
  app.set("etag", false);
  // Only `a=1&a=2` style forms: no nested objects from query strings.
  app.set("query parser", "simple");

  const { assets, serve: serveAssets } = loadAssets();
  app.locals["assets"] = assets;

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", "data:"],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
          // Panel exits redirect a submitted form to the panel's own site, so targets are not limited to 'self'.
          formAction: ["'self'", "https:"],
          upgradeInsecureRequests: null,
        },
      },
      // Survey links are opened from social apps; let the referrer carry the origin only.
      referrerPolicy: { policy: "strict-origin-when-cross-origin" },
    }),
  );
  // No gzip for HTML that carries a CSRF token: a secret compressed beside reflected input is
  // what BREACH reads. Survey pages, reports, exports and static files are still compressed.
  app.use(
    compression({
      filter: (req, res) =>
        !(res.locals["csrfToken"] !== undefined && /html/.test(String(res.getHeader("Content-Type") ?? ""))) &&
        compression.filter(req, res),
    }),
  );
  app.use(requestLog());
  // Respondents first: a survey page passes through no more than it needs (respond.ts).
  app.use(respondRoutes(db, config.sessionSecret, config.surveyPostLimit, config.defaultLocale));
  app.use(serveAssets);
  app.use(healthRoutes(db));

  app.use(cookieParser());
  app.use(localeMiddleware(config.defaultLocale));

  app.use("/api", apiRoutes(db, config));

  // Researcher pages: cookie session, then CSRF on every state-changing form.
  const web = express.Router();
  web.use(express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT, parameterLimit: 1000 }));
  web.use(sessionMiddleware(db));
  web.use(csrfProtection(config.sessionSecret));
  web.use(studyScope(db));
  web.use((_req, res, next) => {
    // Pages with personal data and tokens are never stored by shared caches.
    res.set("Cache-Control", "private, no-store");
    next();
  });
  web.use(homeRoutes(db));
  web.use(authRoutes(db, config.sessionSecret));
  web.use(studyRoutes(db));
  web.use(exportRoutes(db));
  web.use(plannerRoutes(db));
  web.use(questionRoutes(db, config.sessionSecret));
  web.use(waveRoutes(db, config.baseUrl));
  web.use(resultRoutes(db, config.baseUrl));
  web.use(audienceRoutes(db));
  web.use(weightingRoutes(db));
  web.use(qualityRoutes(db));
  web.use(adminRoutes(db));
  web.use(teamRoutes(db));
  web.use(accountRoutes(db));
  app.use(web);

  app.use(notFound);
  app.use(errorHandler());
  return app;
}
