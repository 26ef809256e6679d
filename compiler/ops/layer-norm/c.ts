/**
 * LayerNorm: C emission. layer_norm_s8 follows executeLayerNormS8 (index.ts) operation by operation in
 * float32 (no FMA: the generated C is compiled with -std=c99 / -ffp-contract=off), so it is bit-identical
 * with the TS oracle; layer_norm_f32 is the float reference within float32 rounding.
 */
import { fail } from '../../errors.js';
import type { LayerNormF32Step, LayerNormS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER } from '../../backends/c/helpers.js';

/**
 * One shared implementation for every layer_norm_s8 step; a step is a const descriptor plus a one-line
 * wrapper. Each constant is the same float32 the per-step code would have folded in, so the arithmetic
 * (order documented in plan/program.ts) is unchanged.
 */
const LN_S8_HELPER = `typedef struct {
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
  for (r = 0; r < rows; r++) {
    int32_t S = 0, Q = 0;
    float variance, mean, inv, k;
    for (i = 0; i < n; i++) {
      int32_t v = x[i] - zp;
      S += v;
      Q += v * v;
    }
    variance = tf_u64_to_f32((uint64_t)((int64_t)n * Q - (int64_t)S * S)) / nn; /* n*Q - S*S >= 0 */
    mean = (float)S / fn;
    inv = 1.0f / sqrtf(variance * inScaleSq + eps);
    k = inv * inScale;
    for (i = 0; i < n; i++) {
      float t = ((float)(x[i] - zp) - mean) * k;
      y[i] = tf_round_s8(t * gain[i] + offset[i]);
    }
    x += n;
    y += n;
  }
}
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
  return { helpers: { round_s8: ROUND_S8_HELPER, ln8: LN_S8_HELPER }, includes: ['stdint.h', 'math.h'], code };
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
