import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { auditLog, links, users, waves } from "../schema.js";

export interface AuditEntry {
  userId: number | null;
  action: string;
  entityType: string;
  entityId?: string | number | null;
  details?: Record<string, unknown>;
}

/** Appends to the audit log. Call it inside the transaction of the change it records. */
export function recordAudit(db: Executor, entry: AuditEntry): void {
  db.insert(auditLog)
    .values({
      userId: entry.userId,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId == null ? null : String(entry.entityId),
      details: entry.details ?? null,
    })
    .run();
}

export function recentAudit(db: Executor, limit = 100) {
  return db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit).all();
}

/** Entries about a study, its waves and their links, newest first, with who made them. */
export function studyAudit(db: Executor, studyId: number, limit = 500) {
  const waveIds = db
    .select({ id: sql<string>`CAST(${waves.id} AS TEXT)` })
    .from(waves)
    .where(eq(waves.studyId, studyId));
  const linkIds = db
    .select({ id: sql<string>`CAST(${links.id} AS TEXT)` })
    .from(links)
    .innerJoin(waves, eq(waves.id, links.waveId))
    .where(eq(waves.studyId, studyId));
  return db
    .select({ entry: auditLog, email: users.email })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.userId))
    .where(
      or(
        and(eq(auditLog.entityType, "study"), eq(auditLog.entityId, String(studyId))),
        and(eq(auditLog.entityType, "wave"), inArray(auditLog.entityId, waveIds)),
        and(eq(auditLog.entityType, "link"), inArray(auditLog.entityId, linkIds)),
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(limit)
    .all();
}
