import jStat from "jstat";
import { describe, expect, it } from "vitest";
import { normalCdf, normalQuantile } from "../../stats/index.js";

/**
 * Why stats/distributions.ts ports R's algorithms instead of calling jstat: jstat agrees in the
 * central range (so it stays here as an independent cross-check), but loses its relative accuracy
 * in the far tails, where small p-values live. Expected values from R 4.2.2:
 *   > sprintf("%.17g", c(pnorm(-8), pnorm(-10), pnorm(1.96), pnorm(-1.5), qnorm(0.975)))
 *   "6.2209605742717849e-16" "7.6198530241605269e-24" "0.97500210485177963" "0.066807201268858071" "1.9599639845400536"
 */
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe("normal distribution: ours vs jstat vs R", () => {
  it("agree with R and with each other in the central range", () => {
    expect(rel(normalCdf(1.96), 0.97500210485177963)).toBeLessThan(1e-15);
    expect(rel(normalCdf(-1.5), 0.066807201268858071)).toBeLessThan(1e-15);
    expect(rel(normalQuantile(0.975), 1.9599639845400536)).toBeLessThan(1e-15);
    expect(rel(jStat.normal.cdf(1.96, 0, 1), normalCdf(1.96))).toBeLessThan(1e-9);
    expect(rel(jStat.normal.inv(0.975, 0, 1), normalQuantile(0.975))).toBeLessThan(1e-9);
  });

  it("ours keeps R's accuracy in the tails where jstat does not", () => {
    expect(rel(normalCdf(-8), 6.2209605742717849e-16)).toBeLessThan(1e-12);
    expect(rel(normalCdf(-10), 7.6198530241605269e-24)).toBeLessThan(1e-12);
    expect(rel(jStat.normal.cdf(-8, 0, 1), 6.2209605742717849e-16)).toBeGreaterThan(1e-2);
    expect(jStat.normal.cdf(-10, 0, 1)).toBe(0);
  });
});
