/**
 * TFLite UNIDIRECTIONAL_SEQUENCE_LSTM, float32 only (no peephole, projection or layer norm; CIFG
 * when input_to_input_weights is absent). Per batch and time step (batch-major unless time_major):
 *   i = σ(Wi x + Ri h + bi), f = σ(Wf x + Rf h + bf), g = act(Wc x + Rc h + bc), o = σ(Wo x + Ro h + bo)
 *   c = f * c + i * g (clipped to ±cell_clip when > 0); h = o * act(c); out[t] = h
 * State (h, c) starts at zero every inference (one-shot semantics; aux = [h, c] buffers).
 * The int8 / int16x8 LSTM (TFLM's integer LSTM with int16 gates and its int16 sigmoid/tanh) is not
 * implemented: quantized LSTMs are refused with an error naming the op.
 */
import { fail } from '../../errors.js';
import type { Table } from '../../frontends/tflite-schema.js';
import type { ConstFillStep } from '../tfl-binary/index.js';
import { activationName, constFloat, registerExtStep, registerTflGraphOp, registerTfliteOp, viewF32, type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs } from '../tflite.js';

export interface LstmOptions { activation: string; cellClip: number; projClip: number; timeMajor: boolean }

interface LstmDims { batches: number; steps: number; inputs: number; units: number; timeMajor: boolean }

export interface LstmF32Step extends ExtStepBase, LstmDims {
  op: 'lstm_f32';
  /** [4][units][inputs] and [4][units][units] in gate order i, f, c, o (i all zero with cifg), bias [4][units] */
  inputWeights: Float32Array;
  recurrentWeights: Float32Array;
  bias: Float32Array;
  cifg: boolean;
  cellClip: number;
  activation: 'TANH' | 'RELU' | 'NONE' | 'RELU6' | 'SIGN_BIT' | 'RELU_N1_TO_1';
}

function constF(node: TflNode, i: number): Float32Array | null {
  const o = node.attrs.operands[i];
  if (!o) return null;
  if (o.kind !== 'const' || !o.tensor.data) fail(`${node.attrs.where}: input ${i} must be a constant`);
  return constFloat(o.tensor);
}

function build(node: TflNode<LstmOptions>): Omit<LstmF32Step, 'op' | 'name' | 'in' | 'out' | 'aux'> {
  const a = node.attrs, where = a.where;
  const x = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  if (x.length !== 3) fail(`${where}: expects a 3-D input, got [${x}]`);
  for (const k of [9, 10, 11, 16, 17, 20, 21, 22, 23]) if (a.operands[k]) fail(`${where}: peephole, projection and layer-norm LSTMs are not supported`);
  const timeMajor = a.options.timeMajor;
  const [d0, d1, inputs] = x;
  const batches = timeMajor ? d1 : d0, steps = timeMajor ? d0 : d1;
  const wf = a.operands[2];
  if (!wf || wf.kind !== 'const') fail(`${where}: input_to_forget_weights must be a constant`);
  const units = wf.tensor.shape[0];
  const cifg = !a.operands[1];
  const W = new Float32Array(4 * units * inputs), R = new Float32Array(4 * units * units), B = new Float32Array(4 * units);
  for (let g = 0; g < 4; g++) {
    if (g === 0 && cifg) continue;
    const w = constF(node, 1 + g), r = constF(node, 5 + g), b = constF(node, 12 + g);
    if (!w || !r || w.length !== units * inputs || r.length !== units * units) fail(`${where}: gate ${g} weights do not fit ${units} units and ${inputs} inputs`);
    W.set(w, g * units * inputs); R.set(r, g * units * units);
    if (b) { if (b.length !== units) fail(`${where}: gate ${g} bias is not [${units}]`); B.set(b, g * units); }
  }
  const out = a.outputInfo[0].shape.reduce((p, d) => p * d, 1);
  if (out !== batches * steps * units) fail(`${where}: output [${a.outputInfo[0].shape}] is not ${batches} x ${steps} x ${units}`);
  return { batches, steps, inputs, units, timeMajor, inputWeights: W, recurrentWeights: R, bias: B, cifg, cellClip: a.options.cellClip, activation: a.options.activation as LstmF32Step['activation'] };
}

const f = Math.fround;
const sigmoid = (v: number) => f(1 / (1 + Math.exp(-v)));
function act(kind: string, v: number): number {
  switch (kind) {
    case 'TANH': return f(Math.tanh(v));
    case 'RELU': return Math.max(0, v);
    case 'RELU6': return Math.min(6, Math.max(0, v));
    case 'RELU_N1_TO_1': return Math.min(1, Math.max(-1, v));
    case 'SIGN_BIT': return v < 0 ? 1 : 0;
    default: return v;
  }
}

export function lstmFloat(x: Float32Array, y: Float32Array, h: Float32Array, c: Float32Array, s: Omit<LstmF32Step, 'op' | 'name' | 'in' | 'out' | 'aux'>): void {
  const { units: U, inputs: I } = s;
  const gate = new Float32Array(4 * U);
  for (let b = 0; b < s.batches; b++) {
    for (let t = 0; t < s.steps; t++) {
      const xo = (s.timeMajor ? t * s.batches + b : b * s.steps + t) * I;
      const hb = h.subarray(b * U, (b + 1) * U), cb = c.subarray(b * U, (b + 1) * U);
      for (let g = 0; g < 4; g++) {
        if (g === 0 && s.cifg) continue;
        for (let u = 0; u < U; u++) {
          let acc = s.bias[g * U + u];
          const wr = (g * U + u) * I, rr = (g * U + u) * U;
          for (let i = 0; i < I; i++) acc = f(acc + f(s.inputWeights[wr + i] * x[xo + i]));
          for (let k = 0; k < U; k++) acc = f(acc + f(s.recurrentWeights[rr + k] * hb[k]));
          gate[g * U + u] = acc;
        }
      }
      for (let u = 0; u < U; u++) {
        const fg = sigmoid(gate[U + u]);
        const ig = s.cifg ? f(1 - fg) : sigmoid(gate[u]);
        const g = act(s.activation, gate[2 * U + u]);
        let cell = f(f(fg * cb[u]) + f(ig * g));
        if (s.cellClip > 0) cell = Math.min(s.cellClip, Math.max(-s.cellClip, cell));
        cb[u] = cell;
        const og = sigmoid(gate[3 * U + u]);
        hb[u] = f(og * act(s.activation, cell));
      }
      y.set(hb, (s.timeMajor ? t * s.batches + b : b * s.steps + t) * U);
    }
  }
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<LstmOptions>, a = n.attrs;
  if (a.outputInfo[0].dtype !== 'float32' || a.inputInfo[0]?.dtype !== 'float32') fail(`${a.where}: quantized (${a.inputInfo[0]?.dtype}) UNIDIRECTIONAL_SEQUENCE_LSTM is not supported yet (float32 is)`);
  const p = build(n);
  const h = ctx.scratch('float32', p.batches * p.units), c = ctx.scratch('float32', p.batches * p.units);
  const reset = (r: typeof h): ConstFillStep => ({ op: 'const_fill', name: `${n.name}_state_reset`, in: r, out: r, values: new Float32Array(r.length) });
  const step: LstmF32Step = { op: 'lstm_f32', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0]), aux: [h, c], ...p };
  return [reset(h), reset(c), step];
}

function options(t: Table | null, where: string): Record<string, unknown> {
  return {
    activation: activationName(t ? t.i8(0, 'fused_activation_function') : 0, where), cellClip: t ? t.f32(1, 'cell_clip') : 0,
    projClip: t ? t.f32(2, 'proj_clip') : 0, timeMajor: t ? t.bool(3, 'time_major') : false,
  };
}

registerTfliteOp({ code: 44, tflName: 'UNIDIRECTIONAL_SEQUENCE_LSTM', graphOp: 'tfl.lstm', options });
registerTflGraphOp<LstmOptions>('tfl.lstm', {
  reference: ([x], _s, a: TflNodeAttrs<LstmOptions>) => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<LstmOptions>;
    const p = build(node);
    const y = new Float32Array(p.batches * p.steps * p.units);
    lstmFloat(x, y, new Float32Array(p.batches * p.units), new Float32Array(p.batches * p.units), p);
    return [y];
  },
  lower,
});
registerExtStep<LstmF32Step>('lstm_f32', (s, mem) => lstmFloat(viewF32(mem, s.in), viewF32(mem, s.out), viewF32(mem, s.aux![0]), viewF32(mem, s.aux![1]), s));
