import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import { type Executor } from "../client.js";
import { auditLog, links, users, waves } from "../schema.js";

/** Who acted when no user did (audit_log.system_actor): the app on its own, the demo generator, the command line. */
export const SYSTEM_ACTORS = ["system", "demo", "cli"] as const;
export type SystemActor = (typeof SYSTEM_ACTORS)[number];

/**
 * How a service records an action that no signed-in user does right now: the system actor to
 * name instead of a user, and when it happened (the demo dates its fieldwork in the past).
 */
export interface Acting {
  systemActor?: SystemActor;
  at?: Date;
}

export interface AuditEntry {
  /** The user who acted; null when none did (then `systemActor` says who). */
  userId: number | null;
  systemActor?: SystemActor | null;
  /** When the action happened; default now. */
  at?: Date;
  action: string;
  entityType: string;
  entityId?: string | number | null;
  details?: Record<string, unknown>;
}

/** Appends to the audit log. Call it inside the transaction of the change it records. */
export async function recordAudit(db: Executor, entry: AuditEntry): Promise<void> {
  // One actor per entry: a log naming both a user and the system could not say who acted.
  if (entry.userId !== null && entry.systemActor) throw new Error(`audit ${entry.action}: both user ${entry.userId} and ${entry.systemActor}`);
  await db.insert(auditLog)
    .values({
      ...(entry.at ? { at: entry.at } : {}),
      userId: entry.userId,
      systemActor: entry.systemActor ?? null,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId == null ? null : String(entry.entityId),
      details: entry.details ?? null,
    })
    ;
}

export async function recentAudit(db: Executor, limit = 100) {
  return db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit);
}

/** Entries about a study, its waves and their links, newest first, with who made them. */
export async function studyAudit(db: Executor, studyId: number, limit = 500) {
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
    .limit(limit);
}
