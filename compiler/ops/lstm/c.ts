/** UNIDIRECTIONAL_SEQUENCE_LSTM (float32): C emission in lstmFloat's order (index.ts); exp/tanh in double as the TS. */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import type { LstmF32Step } from './index.js';

const ACT: Record<string, string> = {
  TANH: '(float)tanh((double)v)', RELU: '(v > 0.0f ? v : 0.0f)', RELU6: '(v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v)',
  RELU_N1_TO_1: '(v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v)', SIGN_BIT: '(v < 0.0f ? 1.0f : 0.0f)', NONE: 'v',
};

export function emitLstmC(s: LstmF32Step, fn: string): CStepEmission {
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
