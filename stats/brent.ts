/**
 * Brent's root finder on a bracketing interval [a, b] with f(a) and f(b) of opposite signs
 * (the algorithm behind R's uniroot, R_zeroin2). `fa` and `fb` are passed in so a caller can supply
 * an analytic endpoint value where f itself is 0/0. Iterates to an absolute tolerance of
 * 2 * eps * |x| + tol, i.e. to machine precision by default.
 *
 * Reference: R. P. Brent (1973), Algorithms for Minimization without Derivatives, ch. 4.
 *
 * @example brentRoot((x) => x * x - 2, 0, 2, -2, 2) // 1.414213562373095 (one ulp below Math.SQRT2)
 */
export function brentRoot(
  f: (x: number) => number,
  a0: number,
  b0: number,
  fa0: number,
  fb0: number,
  tol = 0,
  maxIterations = 200,
): number {
  let a = a0;
  let b = b0;
  let fa = fa0;
  let fb = fb0;
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (Math.sign(fa) === Math.sign(fb)) throw new RangeError("brentRoot: f(a) and f(b) must have opposite signs");
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (Math.abs(fc) < Math.abs(fb)) {
      // Keep b the best estimate so far.
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tolerance = 2 * Number.EPSILON * Math.abs(b) + tol / 2;
    const middle = (c - b) / 2;
    if (Math.abs(middle) <= tolerance || fb === 0) return b;
    if (Math.abs(e) >= tolerance && Math.abs(fa) > Math.abs(fb)) {
      // Try interpolation: secant when only two points are distinct, inverse quadratic otherwise.
      let p: number;
      let q: number;
      const s = fb / fa;
      if (a === c) {
        p = 2 * middle * s;
        q = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * middle * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * middle * q - Math.abs(tolerance * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = middle;
        e = d;
      }
    } else {
      d = middle;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tolerance ? d : middle > 0 ? tolerance : -tolerance;
    fb = f(b);
    if (Math.sign(fb) === Math.sign(fc)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
  }
  return b;
}
