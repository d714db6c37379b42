import { describe, expect, it } from "vitest";
import { explicitSslMode } from "../../db/client.js";

describe("the sslmode node-postgres is given", () => {
  it("is verify-full where node-postgres reads verify-full today, whatever its next version would read", () => {
    for (const mode of ["prefer", "require", "verify-ca"]) {
      expect(explicitSslMode(`postgres://app:s3cret@db.internal:5432/brandlift?sslmode=${mode}`)).toBe("postgres://app:s3cret@db.internal:5432/brandlift?sslmode=verify-full");
      expect(explicitSslMode(`postgresql://db/brandlift?application_name=bl&sslmode=${mode}&connect_timeout=5`)).toBe(
        "postgresql://db/brandlift?application_name=bl&sslmode=verify-full&connect_timeout=5",
      );
    }
  });

  it("is left as written otherwise: no sslmode, disable, no-verify, verify-full, or libpq's meaning asked for", () => {
    for (const url of [
      "postgres://app@db/brandlift",
      "postgres://app@db/brandlift?sslmode=disable",
      "postgres://app@db/brandlift?sslmode=no-verify",
      "postgres://app@db/brandlift?sslmode=verify-full",
      "postgres://app@db/brandlift?uselibpqcompat=true&sslmode=require",
      "postgres://app@db/brandlift?sslmode=require&uselibpqcompat=true",
      "postgres://app:sslmode=require@db/brandlift",
    ]) {
      expect(explicitSslMode(url)).toBe(url);
    }
  });
});
