/** quantize / dequantize: C emission, bit-exact with quantizeValue / dequantizeValue (plan/program.ts). */
import type { DequantizeStep, QuantizeStep } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER } from '../../backends/c/helpers.js';

/**
 * `static void <fn>(const float *x, int8_t *q)`: true division (not a reciprocal multiply), then
 * roundToInt8's arithmetic (tf_round_half_away, ROUND_S8_HELPER) saturated to
 * [-512, 511] before the zero point is added: equal to clamping t to [-256, 256] first, since any
 * |t| >= 256 ends at -128 or 127 either way.
 */
export function emitQuantizeC(step: QuantizeStep, fn: string): CStepEmission {
  const code = `/* ${step.name}: float -> int8, scale ${step.scale}, zero point ${step.zeroPoint} */
static void ${fn}(const float *x, int8_t *q) {
  int32_t i;
  for (i = 0; i < ${step.out.length}; i++) {
    int32_t r = tf_round_half_away(x[i] / ${cFloat(step.scale)});
    r = r < -512 ? -512 : r > 511 ? 511 : r;
    r += ${step.zeroPoint};
    q[i] = (int8_t)TF_SAT8(r);
  }
}\n`;
  return { helpers: { round_s8: ROUND_S8_HELPER }, includes: ['stdint.h'], code };
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
