import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    // better-sqlite3 is a native addon: forks isolate it more predictably than worker threads.
    pool: "forks",
    env: { LOG_SILENT: "1" },
  },
});
