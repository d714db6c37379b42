// Only what test/stats/jstat-cross-check.test.ts uses; jstat ships no types.
declare module "jstat" {
  interface Normal {
    cdf(x: number, mean: number, sd: number): number;
    inv(p: number, mean: number, sd: number): number;
  }
  const jStat: { normal: Normal };
  export default jStat;
}
