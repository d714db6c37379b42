import { and, asc, count, eq, isNull } from "drizzle-orm";
import { isUniqueViolation, one, affectedRows, first, unitOfWork, type Executor } from "../client.js";
import { users, type NewUser, type User } from "../schema.js";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function countUsers(db: Executor): Promise<number> {
  return first(await db.select({ n: count() }).from(users))?.n ?? 0;
}

export async function findUserByEmail(db: Executor, email: string): Promise<User | undefined> {
  return first(await db.select().from(users).where(eq(users.email, normalizeEmail(email))));
}

export async function findUserById(db: Executor, id: number): Promise<User | undefined> {
  return first(await db.select().from(users).where(eq(users.id, id)));
}

export async function listUsers(db: Executor): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.email));
}

export class EmailTakenError extends Error {
  constructor() {
    super("email_taken");
  }
}

/** Inserts a user; a duplicate email raises EmailTakenError rather than a driver error. */
export async function insertUser(db: Executor, user: NewUser): Promise<User> {
  try {
    return one(await db
      .insert(users)
      .values({ ...user, email: normalizeEmail(user.email) })
      .returning());
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenError();
    throw error;
  }
}

/**
 * Creates the first administrator only while there is no user at all. The check and the insert
 * share one write transaction, so two simultaneous set-ups cannot both succeed.
 */
export async function insertFirstAdmin(db: Executor, user: Omit<NewUser, "isAdmin">): Promise<User | undefined> {
  return unitOfWork(db, async (tx) => {
      const existing = first(await tx.select({ n: count() }).from(users))?.n ?? 0;
      if (existing > 0) return undefined;
      return one(await tx
        .insert(users)
        .values({ ...user, email: normalizeEmail(user.email), isAdmin: true })
        .returning());
  });
}

/** Administrators who can still sign in: the install must keep at least one. */
export async function countActiveAdmins(db: Executor): Promise<number> {
  return first(await db.select({ n: count() }).from(users).where(and(eq(users.isAdmin, true), isNull(users.disabledAt))))?.n ?? 0;
}

/** Disables the user (`at`) or enables them again (null). */
export async function setUserDisabled(db: Executor, id: number, at: Date | null): Promise<void> {
  await db.update(users).set({ disabledAt: at }).where(eq(users.id, id));
}

export async function setUserAdmin(db: Executor, id: number, isAdmin: boolean): Promise<void> {
  await db.update(users).set({ isAdmin }).where(eq(users.id, id));
}

/**
 * Replaces the password hash; with `expected`, only while the stored hash is still that one
 * (false otherwise), so a change checked against the old password cannot overwrite a newer one.
 */
export async function setPasswordHash(db: Executor, id: number, passwordHash: string, expected?: string): Promise<boolean> {
  const where = expected === undefined ? eq(users.id, id) : and(eq(users.id, id), eq(users.passwordHash, expected));
  return affectedRows(await db.update(users).set({ passwordHash }).where(where)) === 1;
}
