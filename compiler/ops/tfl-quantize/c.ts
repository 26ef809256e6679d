/**
 * quantize_int / dequantize_int / requantize: C emission, bit-exact with executeQuantizeInt /
 * executeRequantize (index.ts).
 *  - quantize_int: t = f32(x / scale); NaN -> 0, ±inf -> the dtype's max/min; else round half away from
 *    zero in double; + zp; clamp to the output dtype
 *  - dequantize_int: y = f32(double(scale) * (q - zp))
 *  - requantize: mbqm(q - inZp) + outZp, clamped
 */
import { fail } from '../../errors.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, INT_LIMITS, cI, cType } from '../../backends/c/tflite-helpers.js';
import type { QuantizeIntStep, RequantizeStep } from './index.js';

export function emitQuantizeIntC(s: QuantizeIntStep, fn: string): CStepEmission {
  if (s.in.length !== s.out.length) fail(`${s.name}: ${s.op} needs equal lengths`);
  if (s.op === 'quantize_int') {
    if (s.in.dtype !== 'float32' || !INT_LIMITS[s.out.dtype]) fail(`${s.name}: quantize_int is float32 -> int8/int16/int32`);
    const [lo, hi] = INT_LIMITS[s.out.dtype];
    const T = cType(s.out.dtype);
    const code = `/* ${s.name}: float -> ${s.out.dtype}, scale ${s.scale}, zero point ${s.zeroPoint} */
static void ${fn}(const float *x, ${T} *q) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) {
    float t = x[i] / ${cFloat(s.scale)};
    int64_t r, v;
    if (t != t) r = 0;
    else if (t - t != 0.0f) r = t > 0.0f ? ${cI(hi)} : ${cI(lo)};
    else {
      double d = (double)t;
      if (d > 1e10) d = 1e10;
      if (d < -1e10) d = -1e10;
      r = d >= 0.0 ? (int64_t)(d + 0.5) : -(int64_t)(0.5 - d);
    }
    v = r + (${s.zeroPoint});
    q[i] = (${T})(v < ${cI(lo)} ? ${cI(lo)} : v > ${cI(hi)} ? ${cI(hi)} : v);
  }
}\n`;
    return { helpers: {}, includes: ['stdint.h'], code };
  }
  if (s.out.dtype !== 'float32' || !INT_LIMITS[s.in.dtype]) fail(`${s.name}: dequantize_int is int8/int16/int32 -> float32`);
  const code = `/* ${s.name}: ${s.in.dtype} -> float, scale ${s.scale}, zero point ${s.zeroPoint} */
static void ${fn}(const ${cType(s.in.dtype)} *q, float *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) y[i] = (float)((double)${cFloat(s.scale)} * (double)((int64_t)q[i] - (${s.zeroPoint})));
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

export function emitRequantizeC(s: RequantizeStep, fn: string): CStepEmission {
  if (!INT_LIMITS[s.in.dtype] || !INT_LIMITS[s.out.dtype] || s.in.length !== s.out.length) fail(`${s.name}: requantize is integer -> integer of one length`);
  const [lo, hi] = INT_LIMITS[s.out.dtype];
  const code = `/* ${s.name}: requantize ${s.in.dtype} -> ${s.out.dtype} */
static void ${fn}(const ${cType(s.in.dtype)} *x, ${cType(s.out.dtype)} *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) {
    int64_t v = (int64_t)tf_mbqm((int32_t)((uint32_t)x[i] - (uint32_t)(${s.inZeroPoint})), ${cI(s.multiplier)}, ${s.shift}) + (${s.outZeroPoint});
    y[i] = (${cType(s.out.dtype)})(v < ${cI(lo)} ? ${cI(lo)} : v > ${cI(hi)} ? ${cI(hi)} : v);
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER }, includes: ['stdint.h'], code };
}
