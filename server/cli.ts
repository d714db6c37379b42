import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { closeDatabase, type Db } from "../db/client.js";
import { findUserByEmail } from "../db/queries/users.js";
import { ROLES } from "../db/schema.js";
import { loadConfigOrExit } from "./config.js";
import { openDatabaseOrExit, restrictNewFiles } from "./data-files.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./domain/passwords.js";
import { createApiToken, createUser } from "./services/accounts.js";

const USAGE = `Usage:
  npm run cli -- user:create --email E --password P --role admin|researcher|viewer [--name N]
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
  role: z.enum(ROLES, `--role must be one of: ${ROLES.join(", ")}`),
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
    const { email, password, role, name } = parsed.data;
    if (findUserByEmail(db, email)) {
      io.err(`A user with email ${email} already exists.`);
      return 1;
    }
    const user = await createUser(db, { email, password, role, name: name ?? email.split("@")[0]! }, null);
    io.out(`Created ${user.role} ${user.email} (id ${user.id}).`);
    return 0;
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
