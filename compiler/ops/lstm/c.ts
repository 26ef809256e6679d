/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM: C emission.
 *  - lstm_f32: lstmFloat's order (index.ts); exp/tanh in double as the TS.
 *  - lstm_s8: lstmInt8 (index.ts) operation by operation. The gate dot products run on SMLAD: each weight row is
 *    stored as words of 4 int8 (zero-padded to a multiple of 4 columns), unpacked by SXTB16 into the (w0,w2),(w1,w3)
 *    pairs that match tf_extend_s8's input pairs; the int32 sums equal the TS's mod 2^32. The 16-bit gemmlowp
 *    logistic / tanh (tf_logistic16 / tf_tanh16) follow fixedpoint16.ts, its constants interpolated from there.
 */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, cHex32, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, cI } from '../../backends/c/tflite-helpers.js';
import { requantFastHelpers } from '../dense/c.js';
import { EXP_BARREL, EXP_MINUS_EIGHTH, NR_48_17, NR_NEG_32_17, ONE_THIRD } from './fixedpoint16.js';
import type { LstmF32Step, LstmS8Step } from './index.js';

const ACT: Record<string, string> = {
  TANH: '(float)tanh((double)v)', RELU: '(v > 0.0f ? v : 0.0f)', RELU6: '(v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v)',
  RELU_N1_TO_1: '(v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v)', SIGN_BIT: '(v < 0.0f ? 1.0f : 0.0f)', NONE: 'v',
};

export function emitLstmC(s: LstmF32Step | LstmS8Step, fn: string): CStepEmission {
  if (s.op === 'lstm_s8') return emitLstmS8C(s, fn);
  const { batches: B, steps: N, inputs: I, units: U } = s;
  const [h, c] = s.aux ?? [];
  if (!h || !c || h.length !== B * U || c.length !== B * U || s.in.length !== B * N * I || s.out.length !== B * N * U) fail(`${s.name}: lstm buffers do not match`);
  let code = `/* ${s.name}: LSTM float, ${U} units, ${N} steps */\n`;
  code += cConstArray('float', `${fn}_w`, s.inputWeights, cFloat, 6) + cConstArray('float', `${fn}_r`, s.recurrentWeights, cFloat, 6) + cConstArray('float', `${fn}_b`, s.bias, cFloat, 6);
  const clip = s.cellClip > 0 ? `      if (cell > ${cFloat(s.cellClip)}) cell = ${cFloat(s.cellClip)};\n      if (cell < ${cFloat(-s.cellClip)}) cell = ${cFloat(-s.cellClip)};\n` : '';
  const xo = (t: string) => (s.timeMajor ? `(${t} * ${B} + b)` : `(b * ${N} + ${t})`);
  code += `static float ${fn}_sig(float v) { return (float)(1.0 / (1.0 + exp(-(double)v))); }
static float ${fn}_act(float v) { return ${ACT[s.activation] ?? 'v'}; }
static void ${fn}(const float *x, float *y, float *hs, float *cs) {
  float gate[${4 * U}];
  int32_t b, t, g, u, i, k;
  for (b = 0; b < ${B}; b++) {
    float *hb = hs + b * ${U}, *cb = cs + b * ${U};
    for (t = 0; t < ${N}; t++) {
      const float *xt = x + ${xo('t')} * ${I};
      for (g = ${s.cifg ? 1 : 0}; g < 4; g++) for (u = 0; u < ${U}; u++) {
        const float *wr = ${fn}_w + (g * ${U} + u) * ${I}, *rr = ${fn}_r + (g * ${U} + u) * ${U};
        float acc = ${fn}_b[g * ${U} + u];
        for (i = 0; i < ${I}; i++) acc = acc + wr[i] * xt[i];
        for (k = 0; k < ${U}; k++) acc = acc + rr[k] * hb[k];
        gate[g * ${U} + u] = acc;
      }
      for (u = 0; u < ${U}; u++) {
        float fg = ${fn}_sig(gate[${U} + u]);
        float ig = ${s.cifg ? '1.0f - fg' : `${fn}_sig(gate[u])`};
        float gg = ${fn}_act(gate[${2 * U} + u]);
        float cell = fg * cb[u] + ig * gg, og;
${clip}        cb[u] = cell;
        og = ${fn}_sig(gate[${3 * U} + u]);
        hb[u] = og * ${fn}_act(cell);
      }
      for (u = 0; u < ${U}; u++) y[${xo('t')} * ${U} + u] = hb[u];
    }
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code };
}

/** 16-bit gemmlowp fixed point (fixedpoint16.ts): every raw add/sub/neg wraps to int16 (tf_w16). */
export const GEMMLOWP16_HELPER = `static inline int32_t tf_w16(int32_t v) { return (int32_t)(int16_t)(uint16_t)(uint32_t)v; }
static inline int32_t tf_sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
/* gemmlowp's trunc((a*b + (a*b >= 0 ? 2^14 : 1 - 2^14)) / 2^15) equals floor((a*b + 2^14) / 2^15): one shift */
static inline int32_t tf_srdhm16(int32_t a, int32_t b) {
  if (a == -32768 && b == -32768) return 32767;
  return tf_w16((a * b + (1 << 14)) >> 15);
}
static inline int32_t tf_rdbp16(int32_t x, int32_t e) {
  int32_t mask = (1 << e) - 1, thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return tf_w16((x >> e) + ((x & mask) > thr ? 1 : 0));
}
static inline int32_t tf_smpot16(int32_t x, int32_t e) {
  int32_t thr;
  if (e == 0) return x;
  if (e < 0) return tf_rdbp16(x, -e);
  thr = (1 << (15 - e)) - 1;
  return x > thr ? 32767 : x < -thr ? -32768 : tf_w16(x * (1 << e));
}
static inline int32_t tf_exp_quarter16(int32_t a) {
  int32_t x = tf_w16(a + (1 << 12));
  int32_t x2 = tf_srdhm16(x, x), x3 = tf_srdhm16(x2, x), x4 = tf_srdhm16(x2, x2);
  int32_t poly = tf_rdbp16(tf_w16(tf_srdhm16(tf_w16(tf_rdbp16(x4, 2) + x3), ${ONE_THIRD}) + x2), 1);
  return tf_sat16(${EXP_MINUS_EIGHTH} + tf_srdhm16(${EXP_MINUS_EIGHTH}, tf_w16(x + poly)));
}
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int32_t tf_exp_neg16(int32_t a, int32_t ib) {
  static const int16_t mult[7] = { ${EXP_BARREL.join(', ')} };
  int32_t frac = 15 - ib, quarter = (int32_t)1 << (frac - 2);
  int32_t amq = tf_w16((a & (quarter - 1)) - quarter);
  int32_t result = tf_exp_quarter16(tf_smpot16(amq, ib));
  int32_t rem = tf_w16(amq - a), k;
  for (k = 0; k < 7; k++) {
    int32_t e = k - 2;
    if (ib > e && (rem & ((int32_t)1 << (frac + e)))) result = tf_srdhm16(result, mult[k]);
  }
  if (ib > 5 && a < -((int32_t)1 << (20 - ib))) result = 0;
  return a == 0 ? 32767 : result;
}
static inline int32_t tf_nr16(int32_t a, int minus) {
  int32_t s = a + 32767;
  int32_t half = tf_w16((s + (s >= 0 ? 1 : -1)) / 2);
  int32_t x = tf_w16(${NR_48_17} + tf_srdhm16(half, ${NR_NEG_32_17})), i;
  for (i = 0; i < 3; i++) {
    int32_t om = tf_w16((1 << 13) - tf_srdhm16(half, x));
    x = tf_w16(x + tf_smpot16(tf_srdhm16(x, om), 2));
  }
  return minus ? tf_smpot16(tf_w16(x - (1 << 13)), 2) : tf_smpot16(x, 1);
}
/* gemmlowp::logistic, Q(ib).(15-ib) -> Q0.15 */
static int32_t tf_logistic16(int32_t a, int32_t ib) {
  int32_t p;
  if (a == 0) return 1 << 14;
  p = tf_nr16(tf_exp_neg16(tf_w16(-(a > 0 ? a : tf_w16(-a))), ib), 0);
  return a > 0 ? p : tf_w16(32767 - p);
}
/* gemmlowp::tanh, Q(ib).(15-ib) -> Q0.15 */
static int32_t tf_tanh16(int32_t a, int32_t ib) {
  int32_t t;
  if (a == 0) return 0;
  t = tf_nr16(tf_exp_neg16(a < 0 ? a : tf_w16(-a), ib + 1), 1);
  return a < 0 ? tf_w16(-t) : t;
}
`;

/** int8 rows [rows][cols] as words of 4 bytes per row, zero-padded to a multiple of 4 columns. */
function packRows(w: Int8Array, rows: number, cols: number): Uint32Array {
  const words = Math.ceil(cols / 4), out = new Uint32Array(rows * words);
  for (let r = 0; r < rows; r++) for (let k = 0; k < words; k++) {
    let v = 0;
    for (let j = 3; j >= 0; j--) { const c = 4 * k + j; v = (v << 8) | (c < cols ? w[r * cols + c] & 0xff : 0); }
    out[r * words + k] = v >>> 0;
  }
  return out;
}

function emitLstmS8C(s: LstmS8Step, fn: string): CStepEmission {
  const { batches: B, steps: N, inputs: I, units: U } = s;
  const [h, c] = s.aux ?? [];
  if (!h || !c || h.dtype !== 'int8' || c.dtype !== 'int16' || h.length !== B * U || c.length !== B * U) fail(`${s.name}: lstm_s8 needs an int8 output state and an int16 cell state of ${B * U} values`);
  if (s.in.dtype !== 'int8' || s.out.dtype !== 'int8' || s.in.length !== B * N * I || s.out.length !== B * N * U) fail(`${s.name}: lstm_s8 buffers do not match`);
  const IW = Math.ceil(I / 4), UW = Math.ceil(U / 4), G0 = s.cifg ? 1 : 0;
  let code = `/* ${s.name}: LSTM int8 (8x8_16), ${U} units, ${N} steps */\n`;
  code += cConstArray('uint32_t', `${fn}_w`, packRows(s.inputWeights, 4 * U, I), cHex32, 8);
  code += cConstArray('uint32_t', `${fn}_r`, packRows(s.recurrentWeights, 4 * U, U), cHex32, 8);
  code += cConstArray('int32_t', `${fn}_bx`, s.inputBias, cInt32, 8);
  // a zero output-state zero point leaves no recurrent bias
  const recBias = s.recurrentBias.some((v) => v !== 0);
  if (recBias) code += cConstArray('int32_t', `${fn}_bh`, s.recurrentBias, cInt32, 8);
  code += cConstArray('int32_t', `${fn}_q`, Int32Array.from([...s.gateMultipliers, ...s.gateShifts]), cInt32, 8);
  // short rows straight-line (no loop overhead), long ones in a loop
  const word = (acc: string, wp: string, xv: string, k: string, k2: string, k3: string) => `wv = ${wp}[${k}];
          ${acc} = TF_SMLAD(TF_SXTB16(wv), ${xv}[${k2}], ${acc});
          ${acc} = TF_SMLAD(TF_SXTB16(TF_ROR8(wv)), ${xv}[${k3}], ${acc});`;
  const dot = (acc: string, wp: string, xv: string, words: number) => (words <= 16
    ? Array.from({ length: words }, (_, k) => word(acc, wp, xv, String(k), String(2 * k), String(2 * k + 1))).join('\n          ')
    : `for (k = 0; k < ${words}; k++) {
            ${word(acc, wp, xv, 'k', '2 * k', '2 * k + 1').replace(/\n {10}/g, '\n            ')}
          }`);
  const row = s.timeMajor ? `t * ${B} + b` : `b * ${N} + t`;
  const clip = s.cellClip > 0 ? `        if (cell > ${s.cellClip}) cell = ${s.cellClip};\n        if (cell < ${-s.cellClip}) cell = ${-s.cellClip};\n` : '';
  code += `static void ${fn}(const int8_t *x, int8_t *y, int8_t *h, int16_t *c) {
  uint32_t xb[${2 * IW}], hb[${2 * UW}];
  int32_t b, t, u, g${IW > 16 || UW > 16 ? ', k' : ''};
  for (b = 0; b < ${B}; b++) {
    int8_t *hs = h + b * ${U};
    int16_t *cs = c + b * ${U};
    for (t = 0; t < ${N}; t++) {
      const int32_t row = ${row};
      int8_t *yr = y + row * ${U};
      tf_extend_s8(x + row * ${I}, xb, ${I}, ${4 * IW});
      tf_extend_s8(hs, hb, ${U}, ${4 * UW});
      for (u = 0; u < ${U}; u++) {
        int32_t gate[4], fg, ig, gg, og, cell, v;
        for (g = ${G0}; g < 4; g++) {
          const uint32_t *wr = ${fn}_w + (g * ${U} + u) * ${IW}, *rr = ${fn}_r + (g * ${U} + u) * ${UW};
          uint32_t wv, acc = (uint32_t)${fn}_bx[g * ${U} + u], rec = ${recBias ? `(uint32_t)${fn}_bh[g * ${U} + u]` : '0u'};
          ${dot('acc', 'wr', 'xb', IW)}
          ${dot('rec', 'rr', 'hb', UW)}
          v = tf_sat16(tf_mbqm((int32_t)acc, ${fn}_q[g], ${fn}_q[8 + g]));
          gate[g] = tf_sat16((int32_t)((uint32_t)tf_mbqm((int32_t)rec, ${fn}_q[4 + g], ${fn}_q[12 + g]) + (uint32_t)v));
        }
        fg = tf_logistic16(gate[1], 3);
        ig = ${s.cifg ? 'tf_w16(32767 - fg)' : 'tf_logistic16(gate[0], 3)'};
        gg = tf_tanh16(gate[2], 3);
        og = tf_logistic16(gate[3], 3);
        cell = tf_sat16(tf_w16(tf_rdbp(fg * cs[u], 15)) + tf_w16(tf_rdbp(ig * gg, ${30 + s.cellScalePower})));
${clip}        cs[u] = (int16_t)cell;
        v = (int32_t)((uint32_t)tf_mbqm(og * tf_tanh16(cell, ${15 + s.cellScalePower}), ${cI(s.hiddenMultiplier)}, ${s.hiddenShift}) + (uint32_t)(${s.hiddenZeroPoint}));
        yr[u] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
      }
      memcpy(hs, yr, ${U});
    }
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER, dsp: requantFastHelpers().dsp, tfl_gemmlowp16: GEMMLOWP16_HELPER }, includes: ['stdint.h', 'string.h'], code };
}
