/**
 * TFLite UNIDIRECTIONAL_SEQUENCE_LSTM (no peephole, projection or layer norm; CIFG when input_to_input_weights is
 * absent). Per batch and time step (batch-major unless time_major), gate order i, f, c (cell), o:
 *  - lstm_f32 (float32):
 *      i = σ(Wi x + Ri h + bi), f = σ(Wf x + Rf h + bf), g = act(Wc x + Rc h + bc), o = σ(Wo x + Ro h + bo)
 *      c = f * c + i * g (clipped to ±cell_clip when > 0); h = o * act(c); out[t] = h
 *  - lstm_s8 (TFLite's "8x8_16" integer LSTM: int8 input / output / output state, int16 cell state, int8 weights,
 *    int32 biases, 5 intermediates; lstm.cc PopulateQuantizedLstmParams8x8_16 + lstm_eval.cc LstmStepInteger8x8_16):
 *      gate (Q3.12 int16) = sat16(sat16(mbqm(bx + Σ W x, sx)) + mbqm(bh + Σ R h, sh))
 *        bx = bias + (-inZp) Σ W row, bh = (-stateZp) Σ R row (int32, wrapping);
 *        sx = inScale * wScale / 2^-12, sh = stateScale * rScale / 2^-12 (float32 arithmetic, then QuantizeMultiplier)
 *      i, f, o = gemmlowp logistic (Q3.12 -> Q0.15), g = gemmlowp tanh (3 integer bits -> Q0.15); CIFG: i = 32767 - f
 *      c = sat16(int16(RDBP(f c, 15)) + int16(RDBP(i g, 30 + cellPow)))   (cell scale 2^cellPow, cellPow <= -9)
 *        then clipped to ±trunc(cell_clip / cellScale) when that is > 0
 *      h = out[t] = sat8(mbqm(o * tanh(c), 2^-30 / hiddenScale) + hiddenZp), tanh with 15 + cellPow integer bits
 *        (hiddenScale, hiddenZp: the effective_hidden_scale intermediate. TFLite before the 2022 PortableCwiseMul fix
 *        (tensorflow#56493; @tensorflow/tfjs-tflite 0.0.1-alpha.10 predates it) subtracts hiddenZp; we add it, as
 *        TFLite and TFLM do since. The two agree when it is 0, as in trained_lstm_int8.)
 *      The int32 sums and the adds after mbqm wrap (as TFLite's int32 arithmetic does in practice), in every target.
 *    (fixedpoint16.ts has the 16-bit gemmlowp arithmetic; every step of a time step depends only on the previous
 *    h and c, so each unit is computed completely before the next and h is copied from out[t] at the end.)
 * State (h, c; aux = [h, c]) is persistent, as TFLite's variable tensors: each inference starts from the state the
 * previous one left; reset-only const_fill steps give the initial value (zero; int8 h: its zero point) when the
 * model instance starts and on reset (plan/program.ts).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier, roundingDivideByPOT as rdbp } from '../../quant/fixedpoint.js';
import type { ConstFillStep } from '../tfl-binary/index.js';
import {
  activationName, constFloat, registerExtStep, registerTflGraphOp, registerTfliteOp, viewF32, viewI16, viewI8, type ConstTensor, type ExtStepBase,
  type QLowerCtx, type TflNode, type TflNodeAttrs,
} from '../tflite.js';
import { logistic16, sat16, tanh16, w16 } from './fixedpoint16.js';

export interface LstmOptions { activation: string; cellClip: number; projClip: number; timeMajor: boolean }

interface LstmDims { batches: number; steps: number; inputs: number; units: number; timeMajor: boolean; cifg: boolean }

export interface LstmF32Step extends ExtStepBase, LstmDims {
  op: 'lstm_f32';
  /** [4][units][inputs] and [4][units][units] in gate order i, f, c, o (i all zero with cifg), bias [4][units] */
  inputWeights: Float32Array;
  recurrentWeights: Float32Array;
  bias: Float32Array;
  cellClip: number;
  activation: 'TANH' | 'RELU' | 'NONE' | 'RELU6' | 'SIGN_BIT' | 'RELU_N1_TO_1';
}

/** The 8x8_16 integer LSTM; aux = [output state (int8, batches x units), cell state (int16, batches x units)]. */
export interface LstmS8Step extends ExtStepBase, LstmDims {
  op: 'lstm_s8';
  /** int8 [4][units][inputs] and [4][units][units], gate order i, f, c, o (i rows zero with cifg) */
  inputWeights: Int8Array;
  recurrentWeights: Int8Array;
  /** effective biases [4][units]: bias + (-inZp) * row sum (input side), (-stateZp) * row sum (recurrent side) */
  inputBias: Int32Array;
  recurrentBias: Int32Array;
  /** requantization to the Q3.12 gates: [input i, f, c, o, recurrent i, f, c, o] */
  gateMultipliers: Int32Array;
  gateShifts: Int32Array;
  hiddenMultiplier: number; hiddenShift: number; hiddenZeroPoint: number;
  /** the cell state scale is 2^cellScalePower (-15..-9) */
  cellScalePower: number;
  /** quantized cell clip (0: none) */
  cellClip: number;
}

type LstmParams = Omit<LstmF32Step, 'op' | 'name' | 'in' | 'out' | 'aux'>;
type LstmS8Params = Omit<LstmS8Step, 'op' | 'name' | 'in' | 'out' | 'aux'>;

/** Geometry, checked against the weights and the output; unsupported variants are refused here. */
function dims(node: TflNode<LstmOptions>): LstmDims {
  const a = node.attrs, where = a.where;
  const x = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  if (x.length !== 3) fail(`${where}: expects a 3-D input, got [${x}]`);
  for (const k of [9, 10, 11, 16, 17, 20, 21, 22, 23]) if (a.operands[k]) fail(`${where}: peephole, projection and layer-norm LSTMs are not supported`);
  if (!!a.operands[1] !== !!a.operands[5]) fail(`${where}: input_to_input and recurrent_to_input weights must be both present or both absent`);
  const timeMajor = a.options.timeMajor;
  const [d0, d1, inputs] = x;
  const batches = timeMajor ? d1 : d0, steps = timeMajor ? d0 : d1;
  const wf = a.operands[2];
  if (!wf || wf.kind !== 'const') fail(`${where}: input_to_forget_weights must be a constant`);
  const units = wf.tensor.shape[0];
  if (wf.tensor.shape.length !== 2 || wf.tensor.shape[1] !== inputs || !wf.tensor.data) fail(`${where}: input_to_forget_weights [${wf.tensor.shape}] is not [units, ${inputs}]`);
  const out = a.outputInfo[0].shape.reduce((p, d) => p * d, 1);
  if (out !== batches * steps * units) fail(`${where}: output [${a.outputInfo[0].shape}] is not ${batches} x ${steps} x ${units}`);
  return { batches, steps, inputs, units, timeMajor, cifg: !a.operands[1] };
}

function constF(node: TflNode, i: number): Float32Array | null {
  const o = node.attrs.operands[i];
  if (!o) return null;
  if (o.kind !== 'const' || !o.tensor.data) fail(`${node.attrs.where}: input ${i} must be a constant`);
  return constFloat(o.tensor);
}

function build(node: TflNode<LstmOptions>): LstmParams {
  const a = node.attrs, where = a.where;
  const d = dims(node), { units, inputs } = d;
  const W = new Float32Array(4 * units * inputs), R = new Float32Array(4 * units * units), B = new Float32Array(4 * units);
  for (let g = 0; g < 4; g++) {
    if (g === 0 && d.cifg) continue;
    const w = constF(node, 1 + g), r = constF(node, 5 + g), b = constF(node, 12 + g);
    if (!w || !r || w.length !== units * inputs || r.length !== units * units) fail(`${where}: gate ${g} weights do not fit ${units} units and ${inputs} inputs`);
    W.set(w, g * units * inputs); R.set(r, g * units * units);
    if (b) { if (b.length !== units) fail(`${where}: gate ${g} bias is not [${units}]`); B.set(b, g * units); }
  }
  return { ...d, inputWeights: W, recurrentWeights: R, bias: B, cellClip: a.options.cellClip, activation: a.options.activation as LstmF32Step['activation'] };
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

export function lstmFloat(x: Float32Array, y: Float32Array, h: Float32Array, c: Float32Array, s: LstmParams): void {
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

/** The 8x8_16 integer LSTM (see the top of this file); h (int8) and c (int16) are the state, updated in place. */
export function lstmInt8(x: Int8Array, y: Int8Array, h: Int8Array, c: Int16Array, s: LstmS8Params): void {
  const { units: U, inputs: I, batches: B, steps: N } = s;
  const gate = [0, 0, 0, 0];
  const cellShift = 30 + s.cellScalePower, tanhBits = 15 + s.cellScalePower;
  for (let b = 0; b < B; b++) {
    const hb = b * U;
    for (let t = 0; t < N; t++) {
      const row = s.timeMajor ? t * B + b : b * N + t;
      const xo = row * I, yo = row * U;
      for (let u = 0; u < U; u++) {
        for (let g = s.cifg ? 1 : 0; g < 4; g++) {
          const wr = (g * U + u) * I, rr = (g * U + u) * U;
          let acc = s.inputBias[g * U + u];
          for (let i = 0; i < I; i++) acc = (acc + s.inputWeights[wr + i] * x[xo + i]) | 0;
          const v = sat16(mbqm(acc, s.gateMultipliers[g], s.gateShifts[g]));
          let rec = s.recurrentBias[g * U + u];
          for (let k = 0; k < U; k++) rec = (rec + s.recurrentWeights[rr + k] * h[hb + k]) | 0;
          gate[g] = sat16((mbqm(rec, s.gateMultipliers[4 + g], s.gateShifts[4 + g]) + v) | 0);
        }
        const fg = logistic16(gate[1], 3);
        const ig = s.cifg ? w16(32767 - fg) : logistic16(gate[0], 3);
        const gg = tanh16(gate[2], 3);
        const og = logistic16(gate[3], 3);
        let cell = sat16(w16(rdbp(fg * c[hb + u], 15)) + w16(rdbp(ig * gg, cellShift)));
        if (s.cellClip > 0) cell = cell > s.cellClip ? s.cellClip : cell < -s.cellClip ? -s.cellClip : cell;
        c[hb + u] = cell;
        const v = (mbqm(og * tanh16(cell, tanhBits), s.hiddenMultiplier, s.hiddenShift) + s.hiddenZeroPoint) | 0;
        y[yo + u] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
      h.set(y.subarray(yo, yo + U), hb);
    }
  }
}

export function executeLstmS8(s: LstmS8Step, mem: ProgramMemory): void {
  lstmInt8(viewI8(mem, s.in), viewI8(mem, s.out), viewI8(mem, s.aux![0]), viewI16(mem, s.aux![1]), s);
}

/** A per-tensor int8 weight with zero point 0 (TFLite's integer LSTM reads only its scale). */
function int8Weight(node: TflNode, i: number, rows: number, cols: number, what: string): { data: Int8Array; scale: number } {
  const a = node.attrs, where = a.where, o = a.operands[i];
  if (!o || o.kind !== 'const' || !o.tensor.data) fail(`${where}: ${what} (input ${i}) must be a constant tensor`);
  const t: ConstTensor = o.tensor;
  if (t.dtype !== 'int8') fail(`${where}: ${what} is ${t.dtype}; the int8 LSTM needs int8 weights`);
  if (t.data!.length !== rows * cols) fail(`${where}: ${what} [${t.shape}] is not [${rows}, ${cols}]`);
  if (!t.quant || t.quant.scale.length !== 1) fail(`${where}: ${what} needs one (per-tensor) quantization scale`);
  if ((t.quant.zeroPoint[0] ?? 0) !== 0) fail(`${where}: ${what} has zero point ${t.quant.zeroPoint[0]}; the int8 LSTM needs symmetric weights`);
  return { data: t.data as Int8Array, scale: t.quant.scale[0] };
}

function stateOperand(node: TflNode, i: number, dtype: string, what: string, elements: number): { scale: number; zeroPoint: number } {
  const a = node.attrs, o = a.operands[i];
  if (!o || o.kind !== 'state') fail(`${a.where}: ${what} (input ${i}) must be a variable tensor`);
  if (o.tensor.dtype !== dtype) fail(`${a.where}: ${what} is ${o.tensor.dtype}; the int8 LSTM needs an ${dtype} ${what}`);
  if (o.tensor.shape.reduce((p, d) => p * d, 1) !== elements) fail(`${a.where}: ${what} [${o.tensor.shape}] does not hold ${elements} values`);
  const q = o.tensor.quant ?? fail(`${a.where}: ${what} has no quantization parameters`);
  return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] ?? 0 };
}

/** lstm.cc PopulateQuantizedLstmParams8x8_16 and PopulatePrecomputedZPTimesWeightsWithBias, without layer norm, projection, peephole. */
function buildInt8(node: TflNode<LstmOptions>): LstmS8Params {
  const a = node.attrs, where = a.where;
  const d = dims(node), { units: U, inputs: I } = d;
  const inter = a.intermediates ?? [];
  if (inter.length !== 5) fail(`${where}: an int8 UNIDIRECTIONAL_SEQUENCE_LSTM with ${inter.length} intermediate tensors is not supported (the 8x8_16 integer LSTM has 5)`);
  if (a.options.activation !== 'TANH') fail(`${where}: an int8 UNIDIRECTIONAL_SEQUENCE_LSTM with ${a.options.activation} activation is not supported (TANH is)`);
  const inQ = a.inputInfo[0]?.quant ?? fail(`${where}: the input has no quantization parameters`);
  const hiddenQ = inter[4].quant ?? fail(`${where}: the hidden-state intermediate has no quantization parameters`);
  const hState = stateOperand(node, 18, 'int8', 'output state', d.batches * U);
  const cState = stateOperand(node, 19, 'int16', 'cell state', d.batches * U);
  // TFLite CheckedLog2 and its cell_scale <= -9; ApplyTanh takes 0..6 integer bits
  const log2 = Math.log2(cState.scale), cellScalePower = Math.round(log2);
  if (Math.abs(log2 - cellScalePower) >= 1e-3 || cellScalePower > -9 || cellScalePower < -15) fail(`${where}: cell state scale ${cState.scale} is not a power of two in 2^-15..2^-9`);
  const inScale = f(inQ.scale[0]), inZp = inQ.zeroPoint[0] ?? 0;
  // every weight and bias validated before anything is allocated from the (file-given) sizes
  const gates = [0, 1, 2, 3].map((g) => {
    if (g === 0 && d.cifg) return null;
    const name = ['input', 'forget', 'cell', 'output'][g];
    const w = int8Weight(node, 1 + g, U, I, `input_to_${name}_weights`), r = int8Weight(node, 5 + g, U, U, `recurrent_to_${name}_weights`);
    const bo = a.operands[12 + g];
    if (!bo) fail(`${where}: the ${name} gate bias is missing`);
    if (bo.kind !== 'const' || bo.tensor.dtype !== 'int32' || bo.tensor.data?.length !== U) fail(`${where}: the ${name} gate bias must be a constant int32 [${U}]`);
    return { w, r, bias: bo.tensor.data as Int32Array };
  });
  const inputWeights = new Int8Array(4 * U * I), recurrentWeights = new Int8Array(4 * U * U);
  const inputBias = new Int32Array(4 * U), recurrentBias = new Int32Array(4 * U);
  const gateMultipliers = new Int32Array(8), gateShifts = new Int32Array(8);
  const gateScale = 2 ** -12; // Q3.12 gates without layer norm
  gates.forEach((gate, g) => {
    if (!gate) return;
    const { w, r, bias } = gate;
    inputWeights.set(w.data, g * U * I); recurrentWeights.set(r.data, g * U * U);
    for (let u = 0; u < U; u++) {
      let sw = 0, sr = 0;
      for (let i = 0; i < I; i++) sw += w.data[u * I + i];
      for (let k = 0; k < U; k++) sr += r.data[u * U + k];
      inputBias[g * U + u] = (bias[u] + Math.imul(sw, -inZp)) | 0;
      recurrentBias[g * U + u] = Math.imul(sr, -hState.zeroPoint);
    }
    // float32 arithmetic, as the C++: weight_scale * input_scale / intermediate_scale
    const mi = quantizeMultiplier(f(f(f(w.scale) * inScale) / gateScale)), mr = quantizeMultiplier(f(f(f(r.scale) * f(hState.scale)) / gateScale));
    gateMultipliers[g] = mi.multiplier; gateShifts[g] = mi.shift; gateMultipliers[4 + g] = mr.multiplier; gateShifts[4 + g] = mr.shift;
  });
  // std::pow(2, -15) / intermediate_scale[4] * std::pow(2, -15) in double, stored as a float
  const hm = quantizeMultiplier(f((2 ** -15 / f(hiddenQ.scale[0])) * 2 ** -15));
  // static_cast<int16_t>(min(max(cell_clip / cell_scale, -32768.0f), 32767.0f)) in float32
  const cellClip = a.options.cellClip > 0 ? Math.trunc(Math.min(Math.max(f(f(a.options.cellClip) / f(cState.scale)), -32768), 32767)) : 0;
  return {
    ...d, inputWeights, recurrentWeights, inputBias, recurrentBias, gateMultipliers, gateShifts,
    hiddenMultiplier: hm.multiplier, hiddenShift: hm.shift, hiddenZeroPoint: hiddenQ.zeroPoint[0] ?? 0, cellScalePower, cellClip,
  };
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<LstmOptions>, a = n.attrs;
  const inT = a.inputInfo[0]?.dtype, outT = a.outputInfo[0].dtype;
  const reset = (r: ReturnType<QLowerCtx['state']>, values: Float32Array | Int32Array): ConstFillStep => ({ op: 'const_fill', name: `${n.name}_state_reset`, in: r, out: r, values, reset: true });
  if (inT === 'float32' && outT === 'float32') {
    const p = build(n);
    const h = ctx.state('float32', p.batches * p.units), c = ctx.state('float32', p.batches * p.units);
    const step: LstmF32Step = { op: 'lstm_f32', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0]), aux: [h, c], ...p };
    return [reset(h, new Float32Array(h.length)), reset(c, new Float32Array(c.length)), step];
  }
  if (inT !== 'int8' || outT !== 'int8') fail(`${a.where}: UNIDIRECTIONAL_SEQUENCE_LSTM with ${inT} input and ${outT} output is not supported (float32, and int8 with int16 cell state, are)`);
  const p = buildInt8(n);
  const stateZp = (a.operands[18] as { tensor: ConstTensor }).tensor.quant?.zeroPoint[0] ?? 0;
  const h = ctx.state('int8', p.batches * p.units), c = ctx.state('int16', p.batches * p.units);
  const step: LstmS8Step = { op: 'lstm_s8', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0]), aux: [h, c], ...p };
  return [reset(h, new Int32Array(h.length).fill(stateZp)), reset(c, new Int32Array(c.length)), step];
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
  macs: (_inputs, a) => {
    const d = dims({ op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<LstmOptions>);
    return d.batches * d.steps * (d.cifg ? 3 : 4) * d.units * (d.inputs + d.units);
  },
  lower,
});
registerExtStep<LstmF32Step>('lstm_f32', (s, mem) => lstmFloat(viewF32(mem, s.in), viewF32(mem, s.out), viewF32(mem, s.aux![0]), viewF32(mem, s.aux![1]), s));
registerExtStep<LstmS8Step>('lstm_s8', executeLstmS8);
