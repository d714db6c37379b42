import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { closeDatabase, type Db } from "../db/client.js";
import { recordAudit } from "../db/queries/audit.js";
import { findUserByEmail } from "../db/queries/users.js";
import { findTeamByName, insertTeam, TeamNameTakenError } from "../db/queries/teams.js";
import { ACCOUNT_KINDS, DEFAULT_TEAM_NAME } from "../db/schema.js";
import { loadConfigOrExit } from "./config.js";
import { openDatabaseOrExit, restrictNewFiles } from "./data-files.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./domain/passwords.js";
import { createApiToken, createUser } from "./services/accounts.js";

const USAGE = `Usage:
  npm run cli -- team:create --name N
  npm run cli -- user:create --email E --password P --role admin|owner|researcher|viewer [--team T] [--name N]
      (a team role applies in team T, or in the default team without --team)
  npm run cli -- token:create --email E [--name N]
`;

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
  try {
    values = parseArgs({
      args: rest,
      options: {
        email: { type: "string" },
        password: { type: "string" },
        role: { type: "string" },
        team: { type: "string" },
        name: { type: "string" },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  if (command === "user:create") {
    const parsed = userArgs.safeParse(values);
    if (!parsed.success) {
      io.err(parsed.error.issues.map((i) => i.message).join("\n") + "\n" + USAGE);
      return 2;
    }
    const { email, password, role, name, team } = parsed.data;
    if (findUserByEmail(db, email)) {
      io.err(`A user with email ${email} already exists.`);
      return 1;
    }
    if (team !== undefined && role === "admin") {
      io.err("--team applies to a team role; an admin sees every team.");
      return 2;
    }
    const teamRow = team !== undefined ? findTeamByName(db, team) : undefined;
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
      const team = db.transaction((tx) => {
        const created = insertTeam(tx, name);
        recordAudit(tx, { userId: null, systemActor: "cli", action: "team.create", entityType: "team", entityId: created.id, details: { name } });
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
    const user = values["email"] ? findUserByEmail(db, values["email"]) : undefined;
    if (!user) {
      io.err(values["email"] ? `No user with email ${values["email"]}.` : `--email is required.\n${USAGE}`);
      return values["email"] ? 1 : 2;
    }
    const { token } = createApiToken(db, user.id, values["name"] ?? "cli");
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
  const db = openDatabaseOrExit(config.databasePath, { migrate: true });
  try {
    process.exitCode = await runCli(process.argv.slice(2), db, {
      out: (line) => process.stdout.write(line + "\n"),
      err: (line) => process.stderr.write(line + "\n"),
    });
  } finally {
    closeDatabase(db);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
