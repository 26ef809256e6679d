/** SOFTMAX int8 -> int8/int16 (softmax_tfl_s8): C emission, bit-exact with executeSoftmaxTflS8 (index.ts). */
import { fail } from '../../errors.js';
import type { CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, GEMMLOWP_HELPER, INT_LIMITS, cI, cType } from '../../backends/c/tflite-helpers.js';
import type { SoftmaxTflS8Step } from './index.js';

export const CLZ_HELPER = `static inline int32_t tf_clz32(uint32_t v) {
#if defined(__GNUC__)
  return v ? __builtin_clz(v) : 32;
#else
  int32_t n = 0;
  if (!v) return 32;
  while (!(v & 0x80000000u)) { v <<= 1; n++; }
  return n;
#endif
}
`;

export function emitSoftmaxTflC(s: SoftmaxTflS8Step, fn: string): CStepEmission {
  if (s.in.dtype !== 'int8' || (s.out.dtype !== 'int8' && s.out.dtype !== 'int16') || s.in.length !== s.rows * s.depth || s.out.length !== s.in.length) fail(`${s.name}: softmax_tfl_s8 is int8 -> int8/int16 over ${s.rows} x ${s.depth}`);
  const [outMin, outMax] = INT_LIMITS[s.out.dtype];
  const bits = s.out.dtype === 'int16' ? 16 : 8;
  const T = cType(s.out.dtype);
  const code = `/* ${s.name}: softmax int8 -> ${s.out.dtype}, ${s.rows} x ${s.depth} (gemmlowp fixed point) */
static int32_t ${fn}_exp(int32_t diff) {
  return tf_exp_neg(tf_srdhm((int32_t)((uint32_t)diff << ${s.leftShift}), ${cI(s.multiplier)}), 5);
}
static void ${fn}(const int8_t *x, ${T} *y) {
  int32_t r, c;
  for (r = 0; r < ${s.rows}; r++) {
    int32_t mx = x[0], sum = 0, h, bou, recip;
    uint32_t sh;
    for (c = 1; c < ${s.depth}; c++) if (x[c] > mx) mx = x[c];
    for (c = 0; c < ${s.depth}; c++) {
      int32_t d = x[c] - mx;
      if (d >= ${cI(s.diffMin)}) sum = (int32_t)((uint32_t)sum + (uint32_t)tf_rdbp(${fn}_exp(d), 12));
    }
    h = tf_clz32((uint32_t)sum);
    bou = 12 - h;
    sh = h >= 32 ? 0u : (uint32_t)sum << h;
    recip = tf_nr_recip((int32_t)(sh - 0x80000000u), 0);
    for (c = 0; c < ${s.depth}; c++) {
      int32_t d = x[c] - mx, v;
      if (d < ${cI(s.diffMin)}) { y[c] = ${cI(outMin)}; continue; }
      v = tf_rdbp(tf_srdhm(recip, ${fn}_exp(d)), bou + ${31 - bits}) + (${cI(outMin)});
      y[c] = (${T})(v < ${cI(outMin)} ? ${cI(outMin)} : v > ${outMax} ? ${outMax} : v);
    }
    x += ${s.depth};
    y += ${s.depth};
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER, tfl_gemmlowp: GEMMLOWP_HELPER, tfl_clz: CLZ_HELPER }, includes: ['stdint.h'], code };
}
