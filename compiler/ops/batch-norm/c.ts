/** Per-feature affine map (folded BatchNorm): C emission. affine_s8 is bit-identical with executeAffineS8. */
import { fail } from '../../errors.js';
import type { AffineF32Step, AffineS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { requantHelper } from '../dense/c.js';

/** `static void <fn>(const float *x, float *y)`: y = x * scale[c] + shift[c]. */
export function emitAffineF32C(s: AffineF32Step, fn: string): CStepEmission {
  const d = s.features;
  if (s.scale.length !== d || s.shift.length !== d) fail(`${s.name}: affine_f32 arrays do not match ${d} features`);
  let code = `/* ${s.name}: affine float32, ${s.rows} x ${d} */\n`;
  code += cConstArray('float', `${fn}_scale`, s.scale, cFloat, 6);
  code += cConstArray('float', `${fn}_shift`, s.shift, cFloat, 6);
  code += `static void ${fn}(const float *x, float *y) {
  int32_t r, c;
  for (r = 0; r < ${s.rows}; r++) {
    for (c = 0; c < ${d}; c++) y[c] = x[c] * ${fn}_scale[c] + ${fn}_shift[c];
    x += ${d};
    y += ${d};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

/** `static void <fn>(const int8_t *x, int8_t *y)`: v = mbqm((x - inZp) * w[c] + bias[c], m[c], shift[c]) + outZp. */
export function emitAffineS8C(s: AffineS8Step, fn: string): CStepEmission {
  const d = s.features;
  if (s.weights.length !== d || s.bias.length !== d || s.multiplier.length !== d || s.shift.length !== d) fail(`${s.name}: affine_s8 arrays do not match ${d} features`);
  const q = new Int32Array(3 * d);
  for (let c = 0; c < d; c++) { q[3 * c] = s.bias[c]; q[3 * c + 1] = s.multiplier[c]; q[3 * c + 2] = s.shift[c]; }
  const sat = s.multiplier.includes(-2147483648) ? 1 : 0;
  const lsh = s.shift.some((v) => v > 0) ? 1 : 0;
  let code = `/* ${s.name}: affine int8, ${s.rows} x ${d} */\n`;
  code += cConstArray('int8_t', `${fn}_w`, s.weights, String, 32);
  code += `/* per feature: bias, multiplier, shift */\n` + cConstArray('int32_t', `${fn}_q`, q, cInt32, 9);
  code += `static void ${fn}(const int8_t *x, int8_t *y) {
  int32_t r, c;
  for (r = 0; r < ${s.rows}; r++) {
    const int32_t *q = ${fn}_q;
    for (c = 0; c < ${d}; c++) {
      uint32_t acc = (uint32_t)((x[c] - (${s.inZeroPoint})) * ${fn}_w[c]) + (uint32_t)q[0];
      int32_t v = tf_requant((int32_t)acc, q[1], q[2], ${sat}, ${lsh}) + (${s.outZeroPoint});
      y[c] = (int8_t)TF_SSAT8(v);
      q += 3;
    }
    x += ${d};
    y += ${d};
  }
}\n`;
  return { helpers: requantHelper(), includes: ['stdint.h'], code };
}
