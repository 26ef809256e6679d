import type { Activation } from '../plan/program.js';

/** Exact erf-based GELU needs erf; this is a double-precision erf (Abramowitz-Stegun 7.1.26 is too coarse). */
export function erf(x: number): number {
  // W. J. Cody's rational approximations are overkill here; use the series / continued fraction split.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    // Maclaurin series converges quickly for |x| < 2.5 in double precision.
    let term = ax, sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz), accurate for larger |x|.
    const x2 = ax * ax;
    let f = ax, c = ax, d = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      d = ax + an * d; d = d === 0 ? 1e-300 : 1 / d;
      c = ax + an / c; if (c === 0) c = 1e-300;
      const delta = c * d; f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-x2) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

/** Float activation functions, evaluated in double and rounded to float32 (the reference oracle). */
export function applyActivation(a: Activation, x: number): number {
  switch (a) {
    case 'relu': return x > 0 ? x : 0;
    case 'linear': return x;
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'gelu': return 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}
