import type { Actor } from "./domain/access.js";
import type { StudyAccess } from "./middleware/auth.js";
import type { Locale, Translate } from "./i18n/index.js";

declare global {
  namespace Express {
    interface Request {
      /** Negotiated by middleware/locale.ts for every request. */
      locale: Locale;
      t: Translate;
      /** The signed-in researcher (cookie session) or token owner (API), if any. */
      user?: Actor;
      /** The study named by the path and the user's role on it (middleware/auth.ts `studyScope`). */
      studyAccess?: StudyAccess;
      /** SHA-256 of the session cookie, when a session is live. */
      sessionIdHash?: string;
    }
  }
}
