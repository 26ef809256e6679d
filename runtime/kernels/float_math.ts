// Float helpers shared by the float kernels: an f64x2 exp accurate to a few ulp of double precision.
// Written here (not Math.exp) so its accuracy and cost are ours: softmax and the TS oracle then agree
// to well below float32 resolution.

const LOG2E: f64 = 1.4426950408889634;
// fdlibm's split of ln 2: LN2_HI has trailing zero bits, so k * LN2_HI is exact for |k| < 2^20.
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
// 2^52 + 2^51: adding it to an integral double in [-2^51, 2^51] leaves the integer in the low mantissa bits.
const ROUND_MAGIC: f64 = 6755399441055744.0;

// 1/k! for k = 13 .. 2 (Taylor series of exp on |r| <= ln2/2: truncation error < 5e-18 relative)
const C13: f64 = 1.6059043836821613e-10;
const C12: f64 = 2.08767569878681e-9;
const C11: f64 = 2.505210838544172e-8;
const C10: f64 = 2.755731922398589e-7;
const C9: f64 = 2.7557319223985893e-6;
const C8: f64 = 2.48015873015873e-5;
const C7: f64 = 1.984126984126984e-4;
const C6: f64 = 1.3888888888888889e-3;
const C5: f64 = 8.333333333333333e-3;
const C4: f64 = 4.1666666666666664e-2;
const C3: f64 = 1.6666666666666666e-1;
const C2: f64 = 0.5;

@inline function fma2(p: v128, r: v128, c: f64): v128 {
  return f64x2.add(f64x2.mul(p, r), f64x2.splat(c));
}

/**
 * exp of both f64 lanes. The caller keeps the lanes in [-708, 709] (NaN passes through as NaN):
 * the result is then a normal double and the 2^k scaling is a plain exponent add.
 */
@inline export function exp_f64x2(x: v128): v128 {
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(LOG2E)));
  let r = f64x2.sub(x, f64x2.mul(k, f64x2.splat(LN2_HI)));
  r = f64x2.sub(r, f64x2.mul(k, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(C13);
  p = fma2(p, r, C12);
  p = fma2(p, r, C11);
  p = fma2(p, r, C10);
  p = fma2(p, r, C9);
  p = fma2(p, r, C8);
  p = fma2(p, r, C7);
  p = fma2(p, r, C6);
  p = fma2(p, r, C5);
  p = fma2(p, r, C4);
  p = fma2(p, r, C3);
  p = fma2(p, r, C2);
  p = fma2(p, r, 1);
  p = fma2(p, r, 1);
  // k << 52 added to p's exponent field (k sits in the low bits of k + ROUND_MAGIC; the shift drops the rest)
  const kbits = i64x2.shl(f64x2.add(k, f64x2.splat(ROUND_MAGIC)), 52);
  return i64x2.add(p, kbits);
}

/** Scalar exp on the same code path: exact 0 below -745, +inf above 709.78, NaN for NaN. */
export function exp_f64(x: f64): f64 {
  if (x != x) return x;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.2) return 0;
  if (x < -708) {
    // subnormal result: exp(x/2) is normal and x/2 is exact; one more rounding in the square
    const h = f64x2.extract_lane(exp_f64x2(f64x2.splat(x * 0.5)), 0);
    return h * h;
  }
  return f64x2.extract_lane(exp_f64x2(f64x2.splat(x)), 0);
}
