/** quantize / dequantize: C emission, bit-exact with quantizeValue / dequantizeValue (plan/program.ts). */
import type { DequantizeStep, QuantizeStep } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';

/** `static void <fn>(const float *x, int8_t *q)`: true division (not a reciprocal multiply), round half away from zero via +0.5 and truncation. */
export function emitQuantizeC(step: QuantizeStep, fn: string): CStepEmission {
  const code = `/* ${step.name}: float -> int8, scale ${step.scale}, zero point ${step.zeroPoint} */
static void ${fn}(const float *x, int8_t *q) {
  int32_t i;
  for (i = 0; i < ${step.out.length}; i++) {
    float t = x[i] / ${cFloat(step.scale)};
    int32_t r, v;
    if (t != t) t = 0.0f; /* NaN */
    if (t > 256.0f) t = 256.0f;
    if (t < -256.0f) t = -256.0f;
    r = t >= 0.0f ? (int32_t)(t + 0.5f) : -(int32_t)(0.5f - t);
    v = r + (${step.zeroPoint});
    q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

/** `static void <fn>(const int8_t *q, float *y)`: y = f32(f32(q - zp) * scale). */
export function emitDequantizeC(step: DequantizeStep, fn: string): CStepEmission {
  const code = `/* ${step.name}: int8 -> float, scale ${step.scale}, zero point ${step.zeroPoint} */
static void ${fn}(const int8_t *q, float *y) {
  int32_t i;
  for (i = 0; i < ${step.out.length}; i++) y[i] = (float)(q[i] - (${step.zeroPoint})) * ${cFloat(step.scale)};
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}
