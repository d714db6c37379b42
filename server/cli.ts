import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { closeDatabase, unitOfWork, type Db } from "../db/client.js";
import { recordAudit } from "../db/queries/audit.js";
import { findUserByEmail } from "../db/queries/users.js";
import { findMembership, findTeamByName, insertTeam, TeamNameTakenError } from "../db/queries/teams.js";
import { ACCOUNT_KINDS, DEFAULT_TEAM_NAME, TEAM_ROLES, type Team, type User } from "../db/schema.js";
import { loadConfigOrExit } from "./config.js";
import { openConfiguredDatabaseOrExit, restrictNewFiles } from "./data-files.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./domain/passwords.js";
import {
  AccountRuleError,
  disableUser,
  enableUser,
  removeFromTeam,
  renameTeamAs,
  resetPassword,
  setAdmin,
  setTeamRole,
  type AccountRule,
} from "./services/account-management.js";
import { createApiToken, createUser } from "./services/accounts.js";

const USAGE = `Usage:
  npm run cli -- team:create --name N
  npm run cli -- team:rename --team T --name N
  npm run cli -- user:create --email E --password P --role admin|owner|researcher|viewer [--team T] [--name N]
      (a team role applies in team T, or in the default team without --team)
  npm run cli -- user:role --email E --team T --role owner|researcher|viewer   (adds to the team or changes the role)
  npm run cli -- user:remove --email E --team T                               (takes the user out of the team)
  npm run cli -- user:admin --email E --on|--off
  npm run cli -- user:disable --email E      (ends the user's sessions and revokes their API tokens)
  npm run cli -- user:enable --email E
  npm run cli -- user:password --email E --password P   (ends the user's sessions)
  npm run cli -- token:create --email E [--name N]
Exit status: 0 done, 1 not found or refused, 2 bad arguments.
`;

/** One line for each rule a change can break (the web shows the same rules translated). */
const RULE_MESSAGES: Record<AccountRule, string> = {
  self_admin: "An administrator cannot take away their own flag.",
  self_disable: "A user cannot disable themselves.",
  self_reset: "Use the account page to change one's own password.",
  last_admin: "Refused: this is the last active administrator; make someone else an administrator first.",
  last_owner: "Refused: this is the team's last owner; make another member an owner first.",
  wrong_password: "Wrong password.",
  team_name_taken: "A team with this name already exists.",
};

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const userArgs = z.object({
  email: z.email("--email must be an email address"),
  password: z
    .string("--password is required")
    .min(MIN_PASSWORD_LENGTH, `--password must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH),
  role: z.enum(ACCOUNT_KINDS, `--role must be one of: ${ACCOUNT_KINDS.join(", ")}`),
  team: z.string().optional(),
  name: z.string().optional(),
});

/** Runs one CLI command against `db`; returns the process exit code. */
export async function runCli(argv: string[], db: Db, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  let values: Record<string, string | undefined>;
  let flags: { on: boolean; off: boolean };
  try {
    const parsed = parseArgs({
      args: rest,
      options: {
        email: { type: "string" },
        password: { type: "string" },
        role: { type: "string" },
        team: { type: "string" },
        name: { type: "string" },
        on: { type: "boolean" },
        off: { type: "boolean" },
      },
      strict: true,
    }).values;
    const { on, off, ...strings } = parsed;
    values = strings;
    flags = { on: on ?? false, off: off ?? false };
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  /** The user named by --email: a usage error without it (2), "not found" when there is none (1). */
  const userArg = async (): Promise<User | number> => {
    if (!values["email"]) {
      io.err(`--email is required.\n${USAGE}`);
      return 2;
    }
    const user = await findUserByEmail(db, values["email"]!);
    if (!user) {
      io.err(`No user with email ${values["email"]}.`);
      return 1;
    }
    return user;
  };
  const teamArg = async (): Promise<Team | number> => {
    const name = values["team"]?.trim();
    if (!name) {
      io.err(`--team is required.\n${USAGE}`);
      return 2;
    }
    const team = await findTeamByName(db, name);
    if (!team) {
      io.err(`No team named "${name}".`);
      return 1;
    }
    return team;
  };
  /**
   * Runs a change; a broken rule is one line and exit status 1. A change that finds things
   * already as asked (it returns false) succeeds and says so.
   */
  const change = async (run: () => boolean | void | Promise<boolean | void>, done: string): Promise<number> => {
    let changed: boolean | void;
    try {
      changed = await run();
    } catch (error) {
      if (!(error instanceof AccountRuleError)) throw error;
      io.err(RULE_MESSAGES[error.rule]);
      return 1;
    }
    io.out(changed === false ? `Nothing to change: ${done}` : done);
    return 0;
  };

  if (command === "user:disable" || command === "user:enable") {
    const user = await userArg();
    if (typeof user === "number") return user;
    if (command === "user:enable") return change(() => enableUser(db, user.id, null), `${user.email} is enabled.`);
    return change(() => disableUser(db, user.id, null), `${user.email} is disabled (sessions ended, API tokens revoked).`);
  }

  if (command === "user:password") {
    const password = values["password"] ?? "";
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      io.err(`--password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.\n${USAGE}`);
      return 2;
    }
    const user = await userArg();
    if (typeof user === "number") return user;
    return change(() => resetPassword(db, user.id, password, null), `Password of ${user.email} set; their sessions have ended.`);
  }

  if (command === "user:admin") {
    if (flags.on === flags.off) {
      io.err(`Give exactly one of --on and --off.\n${USAGE}`);
      return 2;
    }
    const user = await userArg();
    if (typeof user === "number") return user;
    return change(() => setAdmin(db, user.id, flags.on, null), `${user.email} ${flags.on ? "is an administrator" : "is no longer an administrator"}.`);
  }

  if (command === "user:role" || command === "user:remove") {
    const role = values["role"];
    if (command === "user:role" && !(TEAM_ROLES as readonly string[]).includes(role ?? "")) {
      io.err(`--role must be one of: ${TEAM_ROLES.join(", ")}\n${USAGE}`);
      return 2;
    }
    const user = await userArg();
    if (typeof user === "number") return user;
    const team = await teamArg();
    if (typeof team === "number") return team;
    if (command === "user:remove") {
      if (!(await findMembership(db, team.id, user.id))) {
        io.err(`${user.email} is not in team "${team.name}".`);
        return 1;
      }
      return change(() => removeFromTeam(db, team.id, user.id, null), `Removed ${user.email} from team "${team.name}".`);
    }
    return change(() => setTeamRole(db, team.id, user.id, role as (typeof TEAM_ROLES)[number], null), `${user.email} is ${role} in team "${team.name}".`);
  }

  if (command === "team:rename") {
    const name = values["name"]?.trim() ?? "";
    if (name === "" || name.length > 100) {
      io.err(`--name is required (1 to 100 characters).\n${USAGE}`);
      return 2;
    }
    const team = await teamArg();
    if (typeof team === "number") return team;
    return change(() => renameTeamAs(db, team.id, name, null), `Team "${team.name}" is named "${name}".`);
  }

  if (command === "user:create") {
    const parsed = userArgs.safeParse(values);
    if (!parsed.success) {
      io.err(parsed.error.issues.map((i) => i.message).join("\n") + "\n" + USAGE);
      return 2;
    }
    const { email, password, role, name, team } = parsed.data;
    if (await findUserByEmail(db, email)) {
      io.err(`A user with email ${email} already exists.`);
      return 1;
    }
    if (team !== undefined && role === "admin") {
      io.err("--team applies to a team role; an admin sees every team.");
      return 2;
    }
    const teamRow = team !== undefined ? await findTeamByName(db, team) : undefined;
    if (team !== undefined && !teamRow) {
      io.err(`No team named "${team}". Create it first: npm run cli -- team:create --name "${team}"`);
      return 1;
    }
    const user = await createUser(db, { email, password, role, name: name ?? email.split("@")[0]!, ...(teamRow ? { teamId: teamRow.id } : {}) }, null);
    io.out(role === "admin" ? `Created admin ${user.email} (id ${user.id}).` : `Created ${role} ${user.email} in team "${teamRow?.name ?? DEFAULT_TEAM_NAME}" (id ${user.id}).`);
    return 0;
  }

  if (command === "team:create") {
    const name = values["name"]?.trim() ?? "";
    if (name === "" || name.length > 100) {
      io.err(`--name is required (1 to 100 characters).\n${USAGE}`);
      return 2;
    }
    try {
      const team = await unitOfWork(db, async (tx) => {
        const created = await insertTeam(tx, name);
        await recordAudit(tx, { userId: null, systemActor: "cli", action: "team.create", entityType: "team", entityId: created.id, details: { name } });
        return created;
      });
      io.out(`Created team "${team.name}" (id ${team.id}).`);
      return 0;
    } catch (error) {
      if (!(error instanceof TeamNameTakenError)) throw error;
      io.err(`A team named "${name}" already exists.`);
      return 1;
    }
  }

  if (command === "token:create") {
    const user = values["email"] ? await findUserByEmail(db, values["email"]) : undefined;
    if (!user) {
      io.err(values["email"] ? `No user with email ${values["email"]}.` : `--email is required.\n${USAGE}`);
      return values["email"] ? 1 : 2;
    }
    const { token } = await createApiToken(db, user.id, values["name"] ?? "cli");
    // The token alone on stdout, so scripts can capture it: TOKEN=$(npm run -s cli -- token:create ...)
    io.out(token);
    return 0;
  }

  io.err(USAGE);
  return 2;
}

async function main(): Promise<void> {
  restrictNewFiles();
  const config = loadConfigOrExit();
  const db = await openConfiguredDatabaseOrExit(config, { migrate: true });
  try {
    process.exitCode = await runCli(process.argv.slice(2), db, {
      out: (line) => process.stdout.write(line + "\n"),
      err: (line) => process.stderr.write(line + "\n"),
    });
  } finally {
    await closeDatabase(db);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
