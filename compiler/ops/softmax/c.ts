/**
 * Softmax over the last dimension: C emission. softmax_s8 repeats executeSoftmaxS8 (index.ts) in
 * float32, operation for operation (bit-identical); softmax_f32 uses expf (float32 accuracy).
 */
import { fail } from '../../errors.js';
import type { SoftmaxF32Step, SoftmaxS8Step } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';

/** `static void <fn>(const int8_t *x, int8_t *y)`: a call of the shared tf_softmax8. */
export function emitSoftmaxS8C(s: SoftmaxS8Step, fn: string): CStepEmission {
  const n = s.features;
  if (!(s.base > 0 && s.base <= 1)) fail(`${s.name}: softmax_s8 base ${s.base} is outside (0, 1]`);
  if (s.in.length !== s.rows * n || s.out.length !== s.rows * n) fail(`${s.name}: softmax_s8 buffers do not hold ${s.rows} x ${n}`);
  const code = `/* ${s.name}: softmax int8, ${s.rows} x ${n} */
static void ${fn}(const int8_t *x, int8_t *y) {
  tf_softmax8(x, y, ${s.rows}, ${n}, ${cFloat(s.base)});
}\n`;
  return { helpers: { tf_softmax_fill: SOFTMAX_TABLE_HELPER, tf_softmax8: SOFTMAX_S8_HELPER }, includes: ['stdint.h'], code };
}

/** The one softmax_s8 implementation (arithmetic of plan/program.ts, float32 in the documented order). */
const SOFTMAX_S8_HELPER = `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_softmax8(const int8_t *x, int8_t *y, int32_t rows, int32_t n, float base) {
  const float *e = tf_softmax_table;
  int32_t r, i;
  tf_softmax_fill(base);
  for (r = 0; r < rows; r++) {
    int32_t m = -128;
    float sum = 0.0f, inv;
    for (i = 0; i < n; i++) if (x[i] > m) m = x[i];
    for (i = 0; i < n; i++) sum += e[m - x[i]];
    inv = 1.0f / sum;
    for (i = 0; i < n; i++) {
      float t = e[m - x[i]] * inv * 256.0f;
      int32_t v = (int32_t)(t + 0.5f) - 128;
      y[i] = (int8_t)(v > 127 ? 127 : v);
    }
    x += n;
    y += n;
  }
}
`;

/** One shared 1 KiB RAM table, refilled per call: t[k] = base^k by repeated multiplication (see program.ts). */
const SOFTMAX_TABLE_HELPER = `static float tf_softmax_table[256];
static void tf_softmax_fill(float base) {
  int32_t k;
  tf_softmax_table[0] = 1.0f;
  for (k = 1; k < 256; k++) {
    float p = tf_softmax_table[k - 1];
    tf_softmax_table[k] = p < 1e-30f ? 0.0f : p * base;
  }
}
`;

/** `static void <fn>(const float *x, float *y)`: max-subtracted, expf. */
export function emitSoftmaxF32C(s: SoftmaxF32Step, fn: string): CStepEmission {
  const n = s.features;
  const code = `/* ${s.name}: softmax float32, ${s.rows} x ${n} */
static void ${fn}(const float *x, float *y) {
  int32_t r, i;
  for (r = 0; r < ${s.rows}; r++) {
    float m = x[0], sum = 0.0f, inv;
    for (i = 1; i < ${n}; i++) if (x[i] > m) m = x[i];
    for (i = 0; i < ${n}; i++) {
      y[i] = expf(x[i] - m);
      sum += y[i];
    }
    inv = 1.0f / sum;
    for (i = 0; i < ${n}; i++) y[i] *= inv;
    x += ${n};
    y += ${n};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code };
}
