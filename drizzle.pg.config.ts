import { defineConfig } from "drizzle-kit";

// PostgreSQL migrations, generated from db/pg/schema.ts (itself generated from db/schema.ts) by
// `npm run db:generate:pg` and committed beside the SQLite ones in db/migrations.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/pg/schema.ts",
  out: "./db/migrations-pg",
  strict: true,
});
