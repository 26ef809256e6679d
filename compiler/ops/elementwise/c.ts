/**
 * Elementwise add / mul: C emission. The second operand (aux[0]) is broadcast by `i % period`.
 * add_s8 / mul_s8 are bit-identical with executeAddS8 / executeMulS8 (TFLite ADD / MUL arithmetic via
 * tf_requant, the dense requantization helper); the float steps are plain float32 loops.
 */
import { fail } from '../../errors.js';
import type { AddS8Step, BinaryF32Step, MulS8Step } from '../../plan/program.js';
import { cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { asmFunctionC } from '../../backends/c/helpers.js';
import { requantFastHelpers, requantHelper } from '../dense/c.js';
import { ADD_LEFT_SHIFT } from './index.js';

/** The descriptor keeps zero points as int16 and shifts as int8. */
function checkRanges(name: string, zps: number[], shifts: number[]): void {
  if (zps.some((z) => z < -32768 || z > 32767) || shifts.some((v) => v < -128 || v > 127)) fail(`${name}: zero point or shift out of the descriptor's range`);
}

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

/** v = SMMLAR(s2, om, ornd) - (s2 < 0), ASR ors, SSAT 8, store (asm lines; r6 om, r7 ornd, r8 ors, r10 temp). */
function requantTail(s2: string): string[] {
  return ['smmlar r10, ' + s2 + ', r6, r7', `sub r10, r10, ${s2}, lsr #31`, 'asr r10, r10, r8', 'ssat r10, #8, r10', 'strb r10, [r2], #1'];
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
const BINARY_S8_HELPER = `#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP) && !defined(TF_NO_ASM)
#define TF_EW8_ASM 1
/* Fast add / mul over n4 * 4 elements (read by offset: keep the order). add: p4 = table T0 (entry 128);
   mul: p4/p5 = zero points of a and b as int16 pairs. */
typedef struct {
  const int8_t *a, *b;
  int8_t *y;
  int32_t n4;
  intptr_t p4, p5;
  int32_t om, ornd, ors;
} tf_ew8_t;
void tf_add8f(const tf_ew8_t *c);
void tf_mul8f(const tf_ew8_t *c);
__asm__(
${asmFunctionC('tf_add8f', ['push {r4-r11, lr}', 'ldmia r0, {r0-r8}', '1:', ...[0, 1, 2, 3].flatMap(() => [
    'ldrsb r9, [r0], #1', 'ldr r9, [r4, r9, lsl #2]', 'ldrsb r10, [r1], #1', 'add r9, r9, r10, lsl #20',
    ...requantTail('r9')]), 'subs r3, r3, #1', 'bne 1b', 'pop {r4-r11, pc}'])}
${asmFunctionC('tf_mul8f', ['push {r4-r11, lr}', 'ldmia r0, {r0-r8}', '1:',
    'ldr r9, [r0], #4', 'ldr r10, [r1], #4',
    'sxtb16 r11, r9', 'sxtb16 r9, r9, ror #8', 'sxtb16 r12, r10', 'sxtb16 r10, r10, ror #8',
    'ssub16 r11, r11, r4', 'ssub16 r9, r9, r4', 'ssub16 r12, r12, r5', 'ssub16 r10, r10, r5',
    'sadd16 r11, r11, r11', 'sadd16 r9, r9, r9',
    // products 2(a - azp)(b - bzp) of elements 0..3 into lr, r12, r11, r9
    'smulbb lr, r11, r12', 'smultt r11, r11, r12', 'smulbb r12, r9, r10', 'smultt r9, r9, r10',
    ...requantTail('lr'), ...requantTail('r12'), ...requantTail('r11'), ...requantTail('r9'),
    'subs r3, r3, #1', 'bne 1b', 'pop {r4-r11, pc}'])}
);
#endif
typedef struct {
  int32_t len, period;
  int32_t am, bm, om;                 /* add: inputs and output; mul: om */
  int32_t ornd;                       /* fast: 2^(rs-1) + (ozp << rs), rs = -osh */
  int16_t azp, bzp, ozp;
  int8_t ash, bsh, osh, fast;
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
    /* b has multiplier 2^30, shift 0 (swapped at emission when it was a); a's shift is <= -1.
       2 * (x1 + x2) = T[a] + (b << 20) with T[a] = 2 * x1(a) - (bzp << 20) tabulated once per call;
       then SMMLAR(s2, om, rounding) - (s2 < 0) (as in tf_rq8x2: equal to using the sign of the product) */
    const int32_t ars = -d->ash, arnd = 1 << (ars - 1), am = d->am, bzp = d->bzp, azp = d->azp;
    int32_t T[256], k;
    const int32_t *T0 = T + 128; /* indexed by a directly */
    for (k = 0; k < 256; k++) {
      int32_t x1 = tf_rdpot(tf_smmulr((int32_t)((uint32_t)(k - 128 - azp) << 21), am), ars, arnd);
      T[k] = (int32_t)(((uint32_t)x1 << 1) - ((uint32_t)bzp << 20));
    }
    for (i = 0; i < len; i += period, a += period, y += period) { /* one pass per period: no index wrap */
#if defined(TF_EW8_ASM)
      if ((period & 3) == 0) {
        const tf_ew8_t c = { a, b, y, period >> 2, (intptr_t)T0, 0, om, ornd, ors };
        tf_add8f(&c);
        continue;
      }
#endif
      for (j = 0; j < period; j++) {
        int32_t s2 = (int32_t)((uint32_t)T0[a[j]] + ((uint32_t)(int32_t)b[j] << 20));
        int32_t v = (tf_smmlar(s2, om, ornd) - (int32_t)((uint32_t)s2 >> 31)) >> ors;
        y[j] = (int8_t)TF_SSAT8(v);
      }
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
#if defined(TF_EW8_ASM)
    if ((period & 3) == 0) {
      const int32_t za = (int32_t)(((uint32_t)azp & 0xffffu) * 0x00010001u), zb = (int32_t)(((uint32_t)bzp & 0xffffu) * 0x00010001u);
      for (i = 0; i < len; i += period, a += period, y += period) {
        const tf_ew8_t c = { a, b, y, period >> 2, za, zb, om, ornd, ors };
        tf_mul8f(&c);
      }
      return;
    }
#endif
    for (i = 0; i < len; i += period, a += period, y += period) {
      for (j = 0; j < period; j++) {
        int32_t p = (a[j] - azp) * (b[j] - bzp);
        int32_t v = (tf_smmlar(p * 2, om, ornd) - (int32_t)((uint32_t)p >> 31)) >> ors;
        y[j] = (int8_t)TF_SSAT8(v);
      }
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
  checkRanges(s.name, [s.aZeroPoint, s.bZeroPoint, s.outZeroPoint], [s.shift]);
  const rnd = foldedRound(-s.shift, s.outZeroPoint);
  // |(a - aZp) * (b - bZp)| <= 256 * 256 = 2^16 < 2^30; multiplier must be non-negative for SMMULR's form
  const fast = rnd !== null && s.multiplier >= 0 && Math.abs(s.aZeroPoint) <= 128 && Math.abs(s.bZeroPoint) <= 128;
  const code = `/* ${s.name}: mul int8, ${s.length} elements, period ${s.period} */
static const tf_bin8_t ${fn}_d = { ${s.length}, ${s.period}, 0, 0, ${cInt32(s.multiplier)}, ${fast ? rnd : 0}, ${s.aZeroPoint}, ${s.bZeroPoint}, ${s.outZeroPoint}, 0, 0, ${s.shift}, ${fast ? 1 : 0} };
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
  tf_mul8(&${fn}_d, a, y, b);
}\n`;
  return { helpers: binHelpers(), includes: ['stdint.h', 'string.h'], code };
}

/** `static void <fn>(const int8_t *a, int8_t *y, const int8_t *b)`. */
export function emitAddS8C(s: AddS8Step, fn: string): CStepEmission {
  checkBinary(s);
  checkRanges(s.name, [s.aZeroPoint, s.bZeroPoint, s.outZeroPoint], [s.aShift, s.bShift, s.outShift]);
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
static const tf_bin8_t ${fn}_d = { ${s.length}, ${s.period}, ${cInt32(A.m)}, ${cInt32(B.m)}, ${cInt32(s.outMultiplier)}, ${fast ? rnd : 0}, ${A.zp}, ${B.zp}, ${s.outZeroPoint}, ${A.sh}, ${B.sh}, ${s.outShift}, ${fast ? 1 : 0} };
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
  tf_add8(&${fn}_d, ${swap ? args : 'a, y, b'});
}\n`;
  return { helpers: binHelpers(), includes: ['stdint.h', 'string.h'], code };
}
