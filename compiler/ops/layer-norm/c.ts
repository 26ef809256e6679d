/**
 * LayerNorm: C emission. layer_norm_s8 follows executeLayerNormS8 (index.ts) operation by operation in
 * float32 (no FMA: the generated C is compiled with -std=c99 / -ffp-contract=off), so it is bit-identical
 * with the TS oracle; layer_norm_f32 is the float reference within float32 rounding.
 */
import { fail } from '../../errors.js';
import type { LayerNormF32Step, LayerNormS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER } from '../../backends/c/helpers.js';

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
  code += `static void ${fn}(const int8_t *x, int8_t *y) {
  int32_t r, i;
  for (r = 0; r < ${s.rows}; r++) {
    int32_t S = 0, Q = 0;
    float variance, mean, inv, k;
    for (i = 0; i < ${n}; i++) {
      int32_t v = x[i] - (${s.inZeroPoint});
      S += v;
      Q += v * v;
    }
    variance = (float)((int64_t)${n} * Q - (int64_t)S * S) / ${cFloat(n * n)};
    mean = (float)S / ${cFloat(n)};
    inv = 1.0f / sqrtf(variance * ${cFloat(s.inScaleSq)} + ${cFloat(s.eps)});
    k = inv * ${cFloat(s.inScale)};
    for (i = 0; i < ${n}; i++) {
      float t = ((float)(x[i] - (${s.inZeroPoint})) - mean) * k;
      y[i] = tf_round_s8(t * ${fn}_gain[i] + ${fn}_offset[i]);
    }
    x += ${n};
    y += ${n};
  }
}\n`;
  return { helpers: { round_s8: ROUND_S8_HELPER }, includes: ['stdint.h', 'math.h'], code };
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
