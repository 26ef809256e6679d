/**
 * SVDF: C emission, bit-exact with executeSvdfS8 / svdfFloat (index.ts). aux[0] is the state (reset by
 * the const_fill step before it). The integer form keeps the weights_time dot products per unit
 * (sum over rank and memory in one int32: the same value mod 2^32 as the TS's per-filter sums).
 */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, cHex32, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { requantFastHelpers } from '../dense/c.js';
import { FIXEDPOINT_HELPER, INT_LIMITS, cI, cType } from '../../backends/c/tflite-helpers.js';
import type { SvdfF32Step, SvdfS8Step } from './index.js';

/** Moves bytes [e, n) of p down by e bytes (the state shift), four at a time. */
export const SHIFT_HELPER = `static void tf_shift_down(uint8_t *p, int32_t n, int32_t e) {
  int32_t i;
  uint32_t v;
  for (i = 0; i + e + 4 <= n; i += 4) {
    memcpy(&v, p + i + e, 4);
    memcpy(p + i, &v, 4);
  }
  for (; i + e < n; i++) p[i] = p[i + e];
}
`;

export function emitSvdfC(s: SvdfS8Step | SvdfF32Step, fn: string): CStepEmission {
  const st = s.aux?.[0] ?? fail(`${s.name}: ${s.op} needs its state buffer`);
  const { batches: B, inputs: I, filters: F, units: U, rank: R, memory: M } = s;
  if (s.in.length !== B * I || s.out.length !== B * U || st.length !== B * F * M) fail(`${s.name}: svdf buffers do not match`);
  const S = cType(st.dtype);
  if (s.op === 'svdf_f32') {
    let code = `/* ${s.name}: svdf float, ${F} filters, memory ${M} */\n`;
    code += cConstArray('float', `${fn}_wf`, s.weightsFeature, cFloat, 6) + cConstArray('float', `${fn}_wt`, s.weightsTime, cFloat, 6);
    if (s.bias) code += cConstArray('float', `${fn}_b`, s.bias, cFloat, 6);
    const lo = Number.isFinite(s.actMin) ? `      if (acc < ${cFloat(s.actMin)}) acc = ${cFloat(s.actMin)};\n` : '';
    const hi = Number.isFinite(s.actMax) ? `      if (acc > ${cFloat(s.actMax)}) acc = ${cFloat(s.actMax)};\n` : '';
    code += `static void ${fn}(const float *x, float *y, float *st) {
  int32_t b, f, i, j, u, r;
  memmove(st, st + 1, ${(B * F * M - 1) * 4});
  for (b = 0; b < ${B}; b++) for (f = 0; f < ${F}; f++) {
    float dot = 0.0f;
    for (i = 0; i < ${I}; i++) dot = dot + ${fn}_wf[f * ${I} + i] * x[b * ${I} + i];
    st[(b * ${F} + f) * ${M} + ${M - 1}] = dot;
  }
  for (b = 0; b < ${B}; b++) for (u = 0; u < ${U}; u++) {
    float acc = ${s.bias ? `${fn}_b[u]` : '0.0f'};
    for (r = 0; r < ${R}; r++) {
      int32_t f2 = u * ${R} + r;
      float t = 0.0f;
      for (j = 0; j < ${M}; j++) t = t + ${fn}_wt[f2 * ${M} + j] * st[(b * ${F} + f2) * ${M} + j];
      acc = acc + t;
    }
${lo}${hi}    y[b * ${U} + u] = acc;
  }
}\n`;
    return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
  }
  if (s.in.dtype !== 'int8' || s.out.dtype !== 'int8' || (st.dtype !== 'int8' && st.dtype !== 'int16')) fail(`${s.name}: svdf_s8 is int8 -> int8 with an int8/int16 state`);
  const [smin, smax] = INT_LIMITS[st.dtype];
  const W = st.dtype === 'int16' ? 'int16_t' : 'int8_t';
  // feature weights as int16 pairs (SMLAD), the input zero point folded into a per-filter constant;
  // the state zero point folded into a per-unit constant: same sums mod 2^32 as the TS
  const pairs = Math.ceil(I / 2);
  const wf = new Uint32Array(F * pairs), fb = new Int32Array(F), tb = new Int32Array(U);
  for (let f = 0; f < F; f++) {
    let sum = 0;
    for (let k = 0; k < pairs; k++) {
      const a = s.weightsFeature[f * I + 2 * k], b = 2 * k + 1 < I ? s.weightsFeature[f * I + 2 * k + 1] : 0;
      wf[f * pairs + k] = ((a & 0xffff) | (b << 16)) >>> 0;
      sum += a + b;
    }
    fb[f] = Math.imul(-s.inZeroPoint, sum) | 0;
  }
  for (let u = 0; u < U; u++) {
    let sum = 0;
    for (let j = 0; j < R * M; j++) sum += s.weightsTime[u * R * M + j];
    tb[u] = ((s.bias ? s.bias[u] : 0) - Math.imul(s.stateZeroPoint, sum)) | 0;
  }
  let code = `/* ${s.name}: svdf int8, ${F} filters (rank ${R}), memory ${M}, ${st.dtype} state */\n`;
  code += cConstArray('uint32_t', `${fn}_wf`, wf, cHex32, 8);
  code += cConstArray('int32_t', `${fn}_fb`, fb, cInt32, 8);
  code += cConstArray(W, `${fn}_wt`, s.weightsTime, String, 32);
  code += cConstArray('int32_t', `${fn}_tb`, tb, cInt32, 8);
  const eb = st.dtype === 'int16' ? 2 : 1;
  code += `static void ${fn}(const int8_t *x, int8_t *y, ${S} *st) {
  uint32_t xb[${pairs}];
  int32_t b, f, k, j, u;
  tf_shift_down((uint8_t *)st, ${B * F * M * eb}, ${eb});
  for (b = 0; b < ${B}; b++) {
    const uint32_t *w = ${fn}_wf;
    for (k = 0; k < ${pairs}; k++) xb[k] = (uint32_t)(uint16_t)x[2 * k] | (${2 * pairs === I ? '(uint32_t)x[2 * k + 1]' : `(2 * k + 1 < ${I} ? (uint32_t)x[2 * k + 1] : 0u)`} << 16);
    for (f = 0; f < ${F}; f++) {
      uint32_t dot = (uint32_t)${fn}_fb[f];
      int32_t v;
      ${pairs % 4 === 0 ? `for (k = 0; k < ${pairs}; k += 4) {
        dot = TF_SMLAD(w[k], xb[k], dot);
        dot = TF_SMLAD(w[k + 1], xb[k + 1], dot);
        dot = TF_SMLAD(w[k + 2], xb[k + 2], dot);
        dot = TF_SMLAD(w[k + 3], xb[k + 3], dot);
      }` : `for (k = 0; k < ${pairs}; k++) dot = TF_SMLAD(w[k], xb[k], dot);`}
      w += ${pairs};
      v = tf_mbqm((int32_t)dot, ${cI(s.multiplier1)}, ${s.shift1});
      v = v < ${smin} ? ${smin} : v > ${smax} ? ${smax} : v;
      st[(b * ${F} + f) * ${M} + ${M - 1}] = (${S})((${s.stateZeroPoint}) + v);
    }
    x += ${I};
  }
  for (b = 0; b < ${B}; b++) {
    const ${W} *wt = ${fn}_wt;
    const ${S} *sp = st + b * ${F * M};
    for (u = 0; u < ${U}; u++) {
      uint32_t acc = (uint32_t)${fn}_tb[u];
      int32_t v;
      ${(R * M) % 4 === 0 ? `for (j = 0; j < ${R * M}; j += 4) {
        acc += (uint32_t)(wt[j] * sp[j]);
        acc += (uint32_t)(wt[j + 1] * sp[j + 1]);
        acc += (uint32_t)(wt[j + 2] * sp[j + 2]);
        acc += (uint32_t)(wt[j + 3] * sp[j + 3]);
      }` : `for (j = 0; j < ${R * M}; j++) acc += (uint32_t)(wt[j] * sp[j]);`}
      wt += ${R * M};
      sp += ${R * M};
      v = tf_mbqm((int32_t)acc, ${cI(s.multiplier2)}, ${s.shift2}) + (${s.outZeroPoint});
      y[b * ${U} + u] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER, dsp: requantFastHelpers().dsp, tfl_shift: SHIFT_HELPER }, includes: ['stdint.h', 'string.h'], code };

}
