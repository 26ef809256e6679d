/** LOGISTIC / TANH: C emission, bit-exact with executeActivationS8 (index.ts); float forms in double as the TS. */
import { fail } from '../../errors.js';
import type { CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, GEMMLOWP_HELPER, cI } from '../../backends/c/tflite-helpers.js';
import type { ActivationF32Step, ActivationS8Step } from './index.js';

export function emitActivationC(step: ActivationS8Step | ActivationF32Step, fn: string): CStepEmission {
  if (step.op === 'logistic_f32' || step.op === 'tanh_f32') return emitFloat(step as ActivationF32Step, fn);
  const s = step as ActivationS8Step;
  if (s.in.length !== s.out.length) fail(`${s.name}: ${s.op} keeps the length`);
  const logistic = s.op === 'logistic_s8';
  const fx = logistic
    ? `if (q == 0) r = 1 << 30;
      else {
        int32_t ab = q > 0 ? q : (int32_t)(0u - (uint32_t)q);
        int32_t pos = tf_nr_recip(tf_exp_neg((int32_t)(0u - (uint32_t)ab), 4), 0);
        r = q > 0 ? pos : (int32_t)((uint32_t)TF_I32_MAX - (uint32_t)pos);
      }
      v = tf_rdbp(r, 23) - 128;`
    : `if (q == 0) r = 0;
      else {
        int32_t n = q < 0 ? q : (int32_t)(0u - (uint32_t)q);
        int32_t t = tf_nr_recip(tf_exp_neg((int32_t)((uint32_t)n * 2u), 4), 1);
        r = q < 0 ? (int32_t)(0u - (uint32_t)t) : t;
      }
      v = tf_rdbp(r, 24);`;
  const code = `/* ${s.name}: ${s.op} (gemmlowp fixed point) */
static void ${fn}(const int8_t *x, int8_t *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) {
    int32_t d = x[i] - (${s.inZeroPoint}), q, r, v;
    if (d <= -${s.radius}) { y[i] = -128; continue; }
    if (d >= ${s.radius}) { y[i] = 127; continue; }
    q = tf_mbqm(d, ${cI(s.multiplier)}, ${s.shift});
    {
      ${fx}
    }
    y[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER, tfl_gemmlowp: GEMMLOWP_HELPER }, includes: ['stdint.h'], code };
}

function emitFloat(s: ActivationF32Step, fn: string): CStepEmission {
  if (s.in.length !== s.out.length) fail(`${s.name}: ${s.op} keeps the length`);
  const e = s.op === 'logistic_f32' ? '(float)(1.0 / (1.0 + exp(-(double)x[i])))' : '(float)tanh((double)x[i])';
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code: `/* ${s.name}: ${s.op} */
static void ${fn}(const float *x, float *y) {
  int32_t i;
  for (i = 0; i < ${s.out.length}; i++) y[i] = ${e};
}\n` };
}
