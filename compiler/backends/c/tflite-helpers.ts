/**
 * C helper snippets of the TensorFlow Lite kernels (compiler/ops/<tflite op>/c.ts), keyed like every
 * CStepEmission helper. Integer semantics are the TS oracle's (compiler/quant/fixedpoint.ts,
 * compiler/ops/tflite.ts, compiler/ops/tfl-softmax/index.ts), operation by operation:
 *  - tf_srdhm: SaturatingRoundingDoublingHighMul = floor((a*b + 2^30) / 2^31) (equal to gemmlowp's
 *    truncating form with a sign-dependent nudge; one SMLAL and a shift on the Cortex-M4)
 *  - tf_rdbp:  RoundingDivideByPOT, the exponent taken mod 32 (as the TS `>>` does)
 *  - tf_mbqm:  MultiplyByQuantizedMultiplier (32-bit, TFLM reference: shift left, SRDHM, RDBP)
 *  - tf_mbqm64: the int16x8 64-bit form (reduced 16-bit multiplier, one rounding shift)
 *  - gemmlowp exp_on_negative_values / one_over_one_plus_x / one_minus_x_over_one_plus_x
 */
import { fail } from '../../errors.js';
import type { DType } from '../../plan/program.js';

export const FIXEDPOINT_HELPER = `#ifndef TF_INT32_LIMITS
#define TF_INT32_LIMITS
#define TF_I32_MAX ((int32_t)0x7fffffff)
#define TF_I32_MIN ((int32_t)(-0x7fffffff - 1))
#endif
static inline int32_t tf_srdhm(int32_t a, int32_t b) {
  if (a == TF_I32_MIN && b == TF_I32_MIN) return TF_I32_MAX;
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}
static inline int32_t tf_rdbp(int32_t x, int32_t e) {
  int32_t mask, rem, thr;
  e &= 31;
  if (e == 0) return x;
  mask = (int32_t)(((uint32_t)1 << e) - 1u);
  rem = x & mask;
  thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}
static inline int32_t tf_mbqm(int32_t x, int32_t m, int32_t shift) {
  int32_t ls = shift > 0 ? shift : 0;
  return tf_rdbp(tf_srdhm((int32_t)((uint32_t)x << ls), m), shift > 0 ? 0 : -shift);
}
static inline int32_t tf_mbqm64(int64_t x, int32_t m, int32_t shift) {
  int64_t reduced = m < 0x7fff0000 ? (int64_t)((m + (1 << 15)) >> 16) : 0x7fff;
  int32_t total = 15 - shift;
  int64_t r = (x * reduced + ((int64_t)1 << (total - 1))) >> total;
  return (int32_t)(uint32_t)(uint64_t)r;
}
`;

export const GEMMLOWP_HELPER = `static inline int32_t tf_sat_mul_pot(int32_t x, int32_t e) {
  int32_t thr;
  if (e == 0) return x;
  if (e < 0) return tf_rdbp(x, -e);
  thr = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
  if (x > thr) return TF_I32_MAX;
  if (x < -thr) return TF_I32_MIN;
  return (int32_t)((uint32_t)x << e);
}
static int32_t tf_exp_quarter(int32_t a) {
  const int32_t c = 1895147668, third = 715827883;
  int32_t x = (int32_t)((uint32_t)a + (1u << 28));
  int32_t x2 = tf_srdhm(x, x), x3 = tf_srdhm(x2, x), x4 = tf_srdhm(x2, x2);
  int32_t x4o4 = tf_sat_mul_pot(x4, -2);
  int32_t poly = tf_sat_mul_pot((int32_t)((uint32_t)tf_srdhm((int32_t)((uint32_t)x4o4 + (uint32_t)x3), third) + (uint32_t)x2), -1);
  return (int32_t)((uint32_t)c + (uint32_t)tf_srdhm(c, (int32_t)((uint32_t)x + (uint32_t)poly)));
}
static int32_t tf_exp_neg(int32_t a, int32_t ib) {
  static const int32_t mult[7] = { 1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242 };
  int32_t frac = 31 - ib, quarter = (int32_t)1 << (frac - 2);
  int32_t amq = (int32_t)((uint32_t)(a & (quarter - 1)) - (uint32_t)quarter);
  int32_t result = tf_exp_quarter(tf_sat_mul_pot(amq, ib));
  int32_t rem = (int32_t)((uint32_t)amq - (uint32_t)a);
  int32_t k;
  for (k = 0; k < 7; k++) {
    int32_t e = k - 2;
    if (ib > e && (rem & ((int32_t)1 << (frac + e)))) result = tf_srdhm(result, mult[k]);
  }
  if (ib > 5 && a < -((int32_t)1 << (36 - ib))) result = 0;
  if (a == 0) result = TF_I32_MAX;
  return result;
}
static int32_t tf_nr_recip(int32_t a, int minus) {
  int64_t s = (int64_t)a + TF_I32_MAX;
  int32_t half = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
  int32_t x = (int32_t)(1515870810u + (uint32_t)tf_srdhm(half, -1010580540));
  int32_t i;
  for (i = 0; i < 3; i++) {
    int32_t om = (int32_t)((uint32_t)((int32_t)1 << 29) - (uint32_t)tf_srdhm(half, x));
    x = (int32_t)((uint32_t)x + (uint32_t)tf_sat_mul_pot(tf_srdhm(x, om), 2));
  }
  if (minus) return tf_sat_mul_pot((int32_t)((uint32_t)x - (1u << 29)), 2);
  return tf_sat_mul_pot(x >> 1, 2);
}
`;

/** C element type of a buffer. */
export function cType(d: DType | string): string {
  switch (d) {
    case 'int8': return 'int8_t';
    case 'int16': return 'int16_t';
    case 'int32': return 'int32_t';
    case 'float32': return 'float';
    default: return fail(`no C type for ${d}`);
  }
}

export const INT_LIMITS: Record<string, [number, number]> = { int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647] };

/** An integer literal valid for any int32 (INT32_MIN spelled safely). */
export const cI = (v: number): string => (v === -2147483648 ? '(-2147483647 - 1)' : String(v));
