import { defineConfig } from "vitest/config";

const onPostgres = process.env.TEST_ENGINE === "postgres";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    // better-sqlite3 is a native addon: forks isolate it more predictably than worker threads.
    pool: "forks",
    env: { LOG_SILENT: "1" },
    // On PostgreSQL every fresh database of a test file is dropped when the file ends.
    setupFiles: onPostgres ? ["test/support/postgres-suite-setup.ts"] : [],
  },
});
