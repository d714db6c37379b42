import { and, asc, count, eq, isNull } from "drizzle-orm";
import type { Executor } from "../client.js";
import { users, type NewUser, type User } from "../schema.js";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function countUsers(db: Executor): number {
  return db.select({ n: count() }).from(users).get()?.n ?? 0;
}

export function findUserByEmail(db: Executor, email: string): User | undefined {
  return db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
}

export function findUserById(db: Executor, id: number): User | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function listUsers(db: Executor): User[] {
  return db.select().from(users).orderBy(asc(users.email)).all();
}

export class EmailTakenError extends Error {
  constructor() {
    super("email_taken");
  }
}

/** Inserts a user; a duplicate email raises EmailTakenError rather than a driver error. */
export function insertUser(db: Executor, user: NewUser): User {
  try {
    return db
      .insert(users)
      .values({ ...user, email: normalizeEmail(user.email) })
      .returning()
      .get();
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw new EmailTakenError();
    throw error;
  }
}

/**
 * Creates the first administrator only while there is no user at all. The check and the insert
 * share one write transaction, so two simultaneous set-ups cannot both succeed.
 */
export function insertFirstAdmin(db: Executor, user: Omit<NewUser, "isAdmin">): User | undefined {
  return db.transaction(
    (tx) => {
      const existing = tx.select({ n: count() }).from(users).get()?.n ?? 0;
      if (existing > 0) return undefined;
      return tx
        .insert(users)
        .values({ ...user, email: normalizeEmail(user.email), isAdmin: true })
        .returning()
        .get();
    },
    { behavior: "immediate" },
  );
}

/** Administrators who can still sign in: the install must keep at least one. */
export function countActiveAdmins(db: Executor): number {
  return db.select({ n: count() }).from(users).where(and(eq(users.isAdmin, true), isNull(users.disabledAt))).get()?.n ?? 0;
}

/** Disables the user (`at`) or enables them again (null). */
export function setUserDisabled(db: Executor, id: number, at: Date | null): void {
  db.update(users).set({ disabledAt: at }).where(eq(users.id, id)).run();
}

export function setUserAdmin(db: Executor, id: number, isAdmin: boolean): void {
  db.update(users).set({ isAdmin }).where(eq(users.id, id)).run();
}

/**
 * Replaces the password hash; with `expected`, only while the stored hash is still that one
 * (false otherwise), so a change checked against the old password cannot overwrite a newer one.
 */
export function setPasswordHash(db: Executor, id: number, passwordHash: string, expected?: string): boolean {
  const where = expected === undefined ? eq(users.id, id) : and(eq(users.id, id), eq(users.passwordHash, expected));
  return db.update(users).set({ passwordHash }).where(where).run().changes === 1;
}
