/** Loaded before every test file when the suite runs on PostgreSQL: the file's databases go with it. */
import { afterAll } from "vitest";
import { dropFreshPostgresDbs } from "./postgres.js";

// A file that made a hundred databases drops them one by one: over vitest's 10 s hook default on a loaded machine.
afterAll(dropFreshPostgresDbs, 120_000);
