/** Loaded before every test file when the suite runs on PostgreSQL: the file's databases go with it. */
import { afterAll } from "vitest";
import { dropFreshPostgresDbs } from "./postgres.js";

afterAll(dropFreshPostgresDbs);
