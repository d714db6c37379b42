import type { Db } from "../../db/client.js";
import { studyAudit } from "../../db/queries/audit.js";

export interface AuditLine {
  at: Date;
  who: string | null;
  action: string;
  details: string;
}

/** The study's audit trail as lines to show: details as compact JSON, long values cut. */
export function auditEntries(db: Db, studyId: number): AuditLine[] {
  return studyAudit(db, studyId).map(({ entry, email }) => ({
    at: entry.at,
    who: email,
    action: `${entry.action} ${entry.entityType}#${entry.entityId ?? ""}`.trim(),
    details: entry.details ? JSON.stringify(entry.details).slice(0, 500) : "",
  }));
}
