/**
 * LayerNorm: C emission. layer_norm_s8 follows executeLayerNormS8 (index.ts) operation by operation in
 * float32 (no FMA: the generated C is compiled with -std=c99 / -ffp-contract=off), so it is bit-identical
 * with the TS oracle; layer_norm_f32 is the float reference within float32 rounding.
 */
import { fail } from '../../errors.js';
import type { LayerNormF32Step, LayerNormS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER, asmFunctionC } from '../../backends/c/helpers.js';

/**
 * One shared implementation for every layer_norm_s8 step; a step is a const descriptor plus a one-line
 * wrapper. Each constant is the same float32 the per-step code would have folded in, so the arithmetic
 * (order documented in plan/program.ts) is unchanged.
 */
const LN_S8_HELPER = `#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif
typedef struct {
  const float *gain, *offset;
  float nn, fn, inScaleSq, eps, inScale; /* n*n, n, and the step's constants */
  int32_t rows, n, zp;
} tf_ln8_t;

/* (float)v for 0 <= v < 2^63 without the soft-float int64 conversion, same correctly rounded result:
   converting v >> k (< 2^32, >= 2^31) with the dropped bits ORed into bit 0 (sticky) rounds to nearest
   even exactly as v would, and scaling by 2^k is exact. */
static float tf_u64_to_f32(uint64_t v) {
  uint32_t hi = (uint32_t)(v >> 32), k = 0;
  union { uint32_t u; float f; } p;
  if (!hi) return (float)(uint32_t)v;
  while (hi) {
    hi >>= 1;
    k++;
  }
  p.u = (127u + k) << 23;
  return (float)((uint32_t)(v >> k) | (uint32_t)((v & (((uint64_t)1 << k) - 1u)) != 0)) * p.f;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_ln8(const tf_ln8_t *d, const int8_t *x, int8_t *y) {
  const int32_t n = d->n, zp = d->zp, rows = d->rows;
  const float *gain = d->gain, *offset = d->offset;
  const float nn = d->nn, fn = d->fn, inScaleSq = d->inScaleSq, eps = d->eps, inScale = d->inScale;
  int32_t r, i;
#if defined(__ARM_FEATURE_DSP)
  const uint32_t zz = ((uint32_t)zp & 0xffffu) * 0x00010001u;
#endif
  for (r = 0; r < rows; r++) {
    int32_t S = 0, Q = 0;
    float variance, mean, inv, k;
    i = 0;
#if defined(__ARM_FEATURE_DSP)
    /* four at a time: (q - zp) as int16 pairs, S and Q by SMLAD */
    for (; i + 4 <= n; i += 4) {
      uint32_t v;
      int32_t a, b;
      memcpy(&v, x + i, 4);
      a = __ssub16(__sxtb16((int32_t)v), (int32_t)zz);
      b = __ssub16(__sxtb16((int32_t)((v >> 8) | (v << 24))), (int32_t)zz);
      S = __smlad(a, 0x00010001, __smlad(b, 0x00010001, S));
      Q = __smlad(a, a, __smlad(b, b, Q));
    }
#endif
    for (; i < n; i++) {
      int32_t v = x[i] - zp;
      S += v;
      Q += v * v;
    }
    variance = tf_u64_to_f32((uint64_t)((int64_t)n * Q - (int64_t)S * S)) / nn; /* n*Q - S*S >= 0 */
    mean = (float)S / fn;
    inv = 1.0f / sqrtf(variance * inScaleSq + eps);
    k = inv * inScale;
#if defined(TF_VFP_ASM)
    if ((n & 3) == 0) {
      tf_ln8o_t o;
      o.x = x;
      o.y = y;
      o.gain = gain;
      o.offset = offset;
      o.n4 = n >> 2;
      o.zp = zp;
      o.mean = mean;
      o.k = k;
      tf_ln8o(&o);
    } else
#endif
    for (i = 0; i < n; i++) {
      float t = ((float)(x[i] - zp) - mean) * k;
      y[i] = tf_round_s8(t * gain[i] + offset[i]);
    }
    x += n;
    y += n;
  }
}
`;

/** One element of tf_ln8o (asm lines): float temp s<i>, gain s<4+i>, offset s<8+i>. */
function lnElement(i: number): string[] {
  const t = `s${i}`;
  return [
    'ldrsb r6, [r0], #1', 'sub r6, r6, r5', `vmov ${t}, r6`, `vcvt.f32.s32 ${t}, ${t}`, `vsub.f32 ${t}, ${t}, s12`,
    `vmul.f32 ${t}, ${t}, s13`, `vmul.f32 ${t}, ${t}, s${4 + i}`, `vadd.f32 ${t}, ${t}, s${8 + i}`,
    // roundToInt8: trunc(|t| + 0.5) (VCVT saturates, NaN -> 0), sign of t, SSAT 8
    `vmov r7, ${t}`, `vabs.f32 ${t}, ${t}`, `vadd.f32 ${t}, ${t}, s14`, `vcvt.s32.f32 ${t}, ${t}`, `vmov r6, ${t}`,
    'eor r6, r6, r7, asr #31', 'sub r6, r6, r7, asr #31', 'ssat r6, #8, r6', 'strb r6, [r1], #1',
  ];
}

/** The output pass of layer_norm_s8 for n % 4 == 0, four elements per iteration (gains and offsets by VLDM). */
const LN_S8_ASM = `#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FP) && !defined(TF_NO_ASM)
#define TF_VFP_ASM 1
#endif
#if defined(TF_VFP_ASM)
typedef struct {
  const int8_t *x;
  int8_t *y;
  const float *gain, *offset;
  int32_t n4, zp;
  float mean, k;
} tf_ln8o_t;
void tf_ln8o(const tf_ln8o_t *c);
__asm__(
${asmFunctionC('tf_ln8o', [
    'push {r4-r7, lr}', 'vldr s12, [r0, #24]', 'vldr s13, [r0, #28]', 'vmov.f32 s14, #0.5', 'ldmia r0, {r0-r5}',
    '1:', 'vldmia r2!, {s4-s7}', 'vldmia r3!, {s8-s11}', ...lnElement(0), ...lnElement(1), ...lnElement(2), ...lnElement(3),
    'subs r4, r4, #1', 'bne 1b', 'pop {r4-r7, pc}',
  ])}
);
#endif
`;

/** `static void <fn>(const int8_t *x, int8_t *y)`. */
export function emitLayerNormS8C(s: LayerNormS8Step, fn: string): CStepEmission {
  const n = s.features;
  if (s.gain.length !== n || s.offset.length !== n) fail(`${s.name}: layer_norm_s8 gain/offset do not match ${n} features`);
  if (s.in.length !== s.rows * n || s.out.length !== s.rows * n) fail(`${s.name}: layer_norm_s8 buffers do not hold ${s.rows} x ${n}`);
  // Q <= n * 255^2 must fit int32 and n*Q - S*S is exact in int64.
  if (n * 255 * 255 > 2147483647) fail(`${s.name}: ${n} features overflow the int32 sums`);
  let code = `/* ${s.name}: layer norm int8, ${s.rows} x ${n} */\n`;
  code += cConstArray('float', `${fn}_gain`, s.gain, cFloat, 6);
  code += cConstArray('float', `${fn}_offset`, s.offset, cFloat, 6);
  code += `static const tf_ln8_t ${fn}_d = { ${fn}_gain, ${fn}_offset, ${cFloat(n * n)}, ${cFloat(n)}, ${cFloat(s.inScaleSq)}, ${cFloat(s.eps)}, ${cFloat(s.inScale)}, ${s.rows}, ${n}, ${s.inZeroPoint} };
static void ${fn}(const int8_t *x, int8_t *y) {
  tf_ln8(&${fn}_d, x, y);
}\n`;
  return { helpers: { round_s8: ROUND_S8_HELPER, ln8_asm: LN_S8_ASM, ln8: LN_S8_HELPER }, includes: ['stdint.h', 'string.h', 'math.h'], code };
}

/** `static void <fn>(const float *x, float *y)`: two-pass mean / biased variance, float32. */
export function emitLayerNormF32C(s: LayerNormF32Step, fn: string): CStepEmission {
  const n = s.features;
  if (s.weight.length !== n || (s.bias && s.bias.length !== n)) fail(`${s.name}: layer_norm_f32 weight/bias do not match ${n} features`);
  let code = `/* ${s.name}: layer norm float32, ${s.rows} x ${n} */\n`;
  code += cConstArray('float', `${fn}_w`, s.weight, cFloat, 6);
  if (s.bias) code += cConstArray('float', `${fn}_b`, s.bias, cFloat, 6);
  code += `static void ${fn}(const float *x, float *y) {
  int32_t r, i;
  for (r = 0; r < ${s.rows}; r++) {
    float mean = 0.0f, v = 0.0f, inv;
    for (i = 0; i < ${n}; i++) mean += x[i];
    mean /= ${cFloat(n)};
    for (i = 0; i < ${n}; i++) {
      float d = x[i] - mean;
      v += d * d;
    }
    inv = 1.0f / sqrtf(v / ${cFloat(n)} + ${cFloat(s.eps)});
    for (i = 0; i < ${n}; i++) y[i] = (x[i] - mean) * inv * ${fn}_w[i]${s.bias ? ` + ${fn}_b[i]` : ''};
    x += ${n};
    y += ${n};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code };
}
