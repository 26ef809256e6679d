/**
 * Elementwise add / mul: C emission. The second operand (aux[0]) is broadcast by `i % period`.
 * add_s8 / mul_s8 are bit-identical with executeAddS8 / executeMulS8 (TFLite ADD / MUL arithmetic via
 * tf_requant, the dense requantization helper); the float steps are plain float32 loops.
 */
import { fail } from '../../errors.js';
import type { AddS8Step, BinaryF32Step, MulS8Step } from '../../plan/program.js';
import { cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { requantFastHelpers, requantHelper } from '../dense/c.js';
import { ADD_LEFT_SHIFT } from './index.js';

function checkBinary(s: { name: string; length: number; period: number; in: { length: number }; out: { length: number }; aux?: { length: number }[] }): void {
  if (!s.aux || s.aux.length !== 1) fail(`${s.name}: a binary step needs one aux operand`);
  if (s.period < 1 || s.length % s.period !== 0 || s.aux[0].length !== s.period || s.in.length !== s.length || s.out.length !== s.length) {
    fail(`${s.name}: operand lengths ${s.length} / ${s.period} do not broadcast`);
  }
}


/** Loop over i with the broadcast index j = i % period kept incrementally (no division). */
function broadcastLoop(length: number, period: number, body: string): string {
  if (period === length) return `  for (i = 0; i < ${length}; i++) {\n    const int32_t j = i;\n${body}  }\n`;
  return `  for (i = 0, j = 0; i < ${length}; i++) {\n${body}    if (++j == ${period}) j = 0;\n  }\n`;
}

/** `static void <fn>(const float *a, float *y, const float *b)`. */
export function emitBinaryF32C(s: BinaryF32Step, fn: string): CStepEmission {
  checkBinary(s);
  const sym = s.op === 'add_f32' ? '+' : '*';
  const decl = s.period === s.length ? '  int32_t i;\n' : '  int32_t i, j;\n';
  const code = `/* ${s.name}: ${s.op}, ${s.length} elements, period ${s.period} */
static void ${fn}(const float *a, float *y, const float *b) {
${decl}${broadcastLoop(s.length, s.period, `    y[i] = a[i] ${sym} b[j];\n`)}}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

/**
 * add_s8 / mul_s8 share one implementation each (a step is a const descriptor plus a one-line wrapper).
 * When the emitter proves the preconditions (`fast`), requantization uses the SMMULR form of
 * REQUANT_FAST (see compiler/ops/dense/c.ts): SaturatingRoundingDoublingHighMul(a, m) = SMMULR(2a, m)
 * for |a| < 2^30, RoundingDivideByPOT(x, rs) = (x + 2^(rs-1) - (x < 0)) >> rs for rs >= 1, the output
 * zero point folded into the rounding constant (floor((v + zp*2^rs) / 2^rs) = floor(v / 2^rs) + zp).
 * TFLite ADD's input with multiplier 2^30 and shift 0 is exactly (q - zp) << 19 (SMMULR((q-zp) << 21, 2^30)).
 * Otherwise the general tf_requant path runs (runtime saturation / left-shift cases).
 */
const BINARY_S8_HELPER = `typedef struct {
  int32_t len, period, fast;
  int32_t azp, am, ash, bzp, bm, bsh; /* add: inputs; mul: azp, bzp only */
  int32_t om, osh, ozp;
  int32_t ornd;                       /* fast: 2^(rs-1) + (ozp << rs), rs = -osh */
} tf_bin8_t;

static inline int32_t tf_rdpot(int32_t x, int32_t rs, int32_t rnd) {
  return (x + rnd - (int32_t)((uint32_t)x >> 31)) >> rs;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_add8(const tf_bin8_t *d, const int8_t *a, int8_t *y, const int8_t *b) {
  int32_t i, j = 0;
  const int32_t ors = -d->osh, ornd = d->ornd, om = d->om, len = d->len, period = d->period;
  if (d->fast) {
    /* b has multiplier 2^30, shift 0 (swapped at emission when it was a); a's shift is <= -1 */
    const int32_t ars = -d->ash, arnd = 1 << (ars - 1), am = d->am, bzp = d->bzp, azp = d->azp;
    for (i = 0; i < len; i++) {
      int32_t x1 = tf_rdpot(tf_smmulr((int32_t)((uint32_t)(a[i] - azp) << 21), am), ars, arnd);
      int32_t x2 = (int32_t)((uint32_t)(b[j] - bzp) << 19);
      int32_t x = tf_smmulr((int32_t)((uint32_t)(x1 + x2) << 1), om);
      int32_t v = tf_rdpot(x, ors, ornd);
      y[i] = (int8_t)TF_SSAT8(v);
      if (++j == period) j = 0;
    }
    return;
  }
  for (i = 0; i < len; i++) {
    int32_t x1 = tf_requant((int32_t)((uint32_t)(a[i] - d->azp) << ${ADD_LEFT_SHIFT}), d->am, d->ash, 1, 1);
    int32_t x2 = tf_requant((int32_t)((uint32_t)(b[j] - d->bzp) << ${ADD_LEFT_SHIFT}), d->bm, d->bsh, 1, 1);
    int32_t v = tf_requant((int32_t)((uint32_t)x1 + (uint32_t)x2), om, d->osh, 1, 1) + d->ozp;
    y[i] = (int8_t)TF_SSAT8(v);
    if (++j == period) j = 0;
  }
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_mul8(const tf_bin8_t *d, const int8_t *a, int8_t *y, const int8_t *b) {
  int32_t i, j = 0;
  const int32_t azp = d->azp, bzp = d->bzp, om = d->om, len = d->len, period = d->period;
  if (d->fast) {
    const int32_t ors = -d->osh, ornd = d->ornd;
    for (i = 0; i < len; i++) {
      int32_t p = (a[i] - azp) * (b[j] - bzp);
      int32_t v = tf_rdpot(tf_smmulr(p * 2, om), ors, ornd);
      y[i] = (int8_t)TF_SSAT8(v);
      if (++j == period) j = 0;
    }
    return;
  }
  for (i = 0; i < len; i++) {
    int32_t v = tf_requant((a[i] - azp) * (b[j] - bzp), om, d->osh, 1, 1) + d->ozp;
    y[i] = (int8_t)TF_SSAT8(v);
    if (++j == period) j = 0;
  }
}
`;

function binHelpers(): Record<string, string> {
  return { ...requantHelper(), ...requantFastHelpers(), bin8: BINARY_S8_HELPER };
}

/** Rounding constant with the zero point folded in, or null when it could overflow. */
function foldedRound(rs: number, zp: number): number | null {
  if (rs < 1 || rs > 30 || (Math.abs(zp) + 1) * 2 ** rs > 2 ** 30) return null;
  return (2 ** (rs - 1) + zp * 2 ** rs) | 0;
}

/** `static void <fn>(const int8_t *a, int8_t *y, const int8_t *b)`. */
export function emitMulS8C(s: MulS8Step, fn: string): CStepEmission {
  checkBinary(s);
  const rnd = foldedRound(-s.shift, s.outZeroPoint);
  // |(a - aZp) * (b - bZp)| <= 256 * 256 = 2^16 < 2^30; multiplier must be non-negative for SMMULR's form
  const fast = rnd !== null && s.multiplier >= 0 && Math.abs(s.aZeroPoint) <= 128 && Math.abs(s.bZeroPoint) <= 128;
  const code = `/* ${s.name}: mul int8, ${s.length} elements, period ${s.period} */
static const tf_bin8_t ${fn}_d = { ${s.length}, ${s.period}, ${fast ? 1 : 0}, ${s.aZeroPoint}, 0, 0, ${s.bZeroPoint}, 0, 0, ${cInt32(s.multiplier)}, ${s.shift}, ${s.outZeroPoint}, ${fast ? rnd : 0} };
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
  tf_mul8(&${fn}_d, a, y, b);
}\n`;
  return { helpers: binHelpers(), includes: ['stdint.h', 'string.h'], code };
}

/** `static void <fn>(const int8_t *a, int8_t *y, const int8_t *b)`. */
export function emitAddS8C(s: AddS8Step, fn: string): CStepEmission {
  checkBinary(s);
  const unit = (m: number, sh: number) => m === 2 ** 30 && sh === 0;
  // fast: one input is the unit one (the operands are swapped so that it is b), the other shifts right
  const swap = unit(s.aMultiplier, s.aShift) && !unit(s.bMultiplier, s.bShift) && s.period === s.length;
  const A = swap ? { zp: s.bZeroPoint, m: s.bMultiplier, sh: s.bShift } : { zp: s.aZeroPoint, m: s.aMultiplier, sh: s.aShift };
  const B = swap ? { zp: s.aZeroPoint, m: s.aMultiplier, sh: s.aShift } : { zp: s.bZeroPoint, m: s.bMultiplier, sh: s.bShift };
  const rnd = foldedRound(-s.outShift, s.outZeroPoint);
  // |x1| <= 2^28 (a's multiplier < 2^31, shift <= -1), |x2| <= 2^27: |x1 + x2| < 2^30
  const fast = rnd !== null && unit(B.m, B.sh) && A.m >= 0 && A.sh <= -1 && A.sh >= -30 && s.outMultiplier >= 0
    && Math.abs(A.zp) <= 128 && Math.abs(B.zp) <= 128;
  const args = swap ? 'b, y, a' : 'a, y, b';
  const code = `/* ${s.name}: add int8, ${s.length} elements, period ${s.period}${swap ? ' (operands swapped)' : ''} */
static const tf_bin8_t ${fn}_d = { ${s.length}, ${s.period}, ${fast ? 1 : 0}, ${A.zp}, ${cInt32(A.m)}, ${A.sh}, ${B.zp}, ${cInt32(B.m)}, ${B.sh}, ${cInt32(s.outMultiplier)}, ${s.outShift}, ${s.outZeroPoint}, ${fast ? rnd : 0} };
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
  tf_add8(&${fn}_d, ${swap ? args : 'a, y, b'});
}\n`;
  return { helpers: binHelpers(), includes: ['stdint.h', 'string.h'], code };
}
