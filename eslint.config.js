// Lint only what the type checker cannot see: promises that nobody awaits. Since the data layer
// is asynchronous, a call whose promise is dropped (or tested for truth) runs late or never, and
// its errors vanish; these rules make that a failing check instead of a silent bug.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "data/", "public/", "db/migrations/", "db/migrations-pg/"] },
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/await-thenable": "error",
    },
  },
  {
    // The data API is awaited drizzle builders on every engine (see db/client.ts).
    files: ["server/**/*.ts", "db/queries/**/*.ts"],
    // The SQLite backup reads the file's own statements; PostgreSQL installs use pg_dump.
    ignores: ["server/backup.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[arguments.length=0] > MemberExpression.callee > Identifier.property[name=/^(all|get|run)$/]",
          message: "Await the query instead: .all(), .get() and .run() exist only on SQLite (use first() for one row).",
        },
        {
          selector: "MemberExpression[object.name=/^(db|tx)$/] > Identifier.property[name='transaction']",
          message: "Use unitOfWork(db, async (tx) => …) from db/client.ts.",
        },
      ],
    },
  },
);
