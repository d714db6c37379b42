import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmac, newSecretToken, randomBase64url } from "../../../server/domain/secrets.js";

describe("random tokens drawn from a pool", () => {
  it("are the length asked for, base64url, and never repeat across many pool refills", () => {
    const seen = new Set<string>();
    // 20,000 × 16 bytes is about 80 refills of the 4 KB pool.
    for (let i = 0; i < 20_000; i++) {
      const token = randomBase64url(16);
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(20_000);
    expect(newSecretToken("bl_")).toMatch(/^bl_[A-Za-z0-9_-]{43}$/);
  });

  it("look random: each of the 64 characters about equally often in the first position", () => {
    const counts = new Map<string, number>();
    const n = 64_000;
    for (let i = 0; i < n; i++) {
      const c = randomBase64url(3)[0]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(64);
    // 1,000 expected per character; 6 standard deviations (about 186) either way.
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(190);
  });

  it("refuse a size the pool cannot give", () => {
    for (const bytes of [0, -1, 1.5, 4097, Number.NaN]) expect(() => randomBase64url(bytes)).toThrow(RangeError);
  });
});

describe("hmac", () => {
  it("is HMAC-SHA256 of the secret's text, whatever secrets came before it (keys are kept per secret)", () => {
    const secrets = ["", "s", "é-secret", "x".repeat(200), ...Array.from({ length: 70 }, (_, i) => `secret-${i}`)];
    for (const round of [1, 2]) {
      for (const secret of secrets) {
        const value = `browser|${secret}|${round}`;
        expect(hmac(secret, value)).toBe(createHmac("sha256", secret).update(value).digest("base64url"));
      }
    }
  });
});
