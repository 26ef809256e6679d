/** LEAKY_RELU: C emission, bit-exact with executeLeakyReluInt / the float step (index.ts). */
import { fail } from '../../errors.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, INT_LIMITS, cI, cType } from '../../backends/c/tflite-helpers.js';
import type { LeakyReluF32Step, LeakyReluIntStep } from './index.js';

export function emitLeakyReluC(s: LeakyReluIntStep | LeakyReluF32Step, fn: string): CStepEmission {
  if (s.in.length !== s.out.length || s.in.dtype !== s.out.dtype) fail(`${s.name}: leaky_relu keeps length and type`);
  if (s.op === 'leaky_relu_f32') {
    const code = `/* ${s.name}: leaky relu, float, alpha ${s.alpha} */
static void ${fn}(const float *x, float *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) y[i] = x[i] >= 0.0f ? x[i] : x[i] * ${cFloat(s.alpha)};
}\n`;
    return { helpers: {}, includes: ['stdint.h'], code };
  }
  const T = cType(s.out.dtype);
  const [lo, hi] = INT_LIMITS[s.out.dtype];
  const code = `/* ${s.name}: leaky relu, ${s.out.dtype} */
static void ${fn}(const ${T} *x, ${T} *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) {
    int32_t d = x[i] - (${s.inZeroPoint});
    int32_t v = (${s.outZeroPoint}) + (d >= 0 ? tf_mbqm(d, ${cI(s.identityMultiplier)}, ${s.identityShift}) : tf_mbqm(d, ${cI(s.alphaMultiplier)}, ${s.alphaShift}));
    y[i] = (${T})(v < ${lo} ? ${lo} : v > ${hi} ? ${hi} : v);
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER }, includes: ['stdint.h'], code };
}
