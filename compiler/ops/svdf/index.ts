/**
 * TFLite SVDF (input [batch, in], weights_feature [filters, in], weights_time [filters, memory],
 * optional bias [units], variable activation state [batch, filters * memory]; filters = units * rank).
 * Each inference shifts the state left by one, writes the feature projection into each filter's newest
 * slot, then dots each filter's memory with weights_time, sums `rank` filters per unit and adds the bias.
 *  - svdf_s8 (TFLM EvalIntegerSvdfReference, state int8 or int16 = aux[0]):
 *      p = clamp(mbqm(sum w_f * (x - inZp), scale1), state range) + stateZp   (newest state slot)
 *      t[f] = sum w_t * (state - stateZp) (int32); acc[u] = bias[u] + sum_r t[u*rank + r]
 *      out = clamp(mbqm(acc, scale2) + outZp, -128, 127)
 *    scale1 = inScale * wfScale / stateScale, scale2 = stateScale * wtScale / outScale (double).
 *  - svdf_f32: the same in float32 with the fused activation.
 * The state (aux[0]) is a persistent buffer: it carries over from one inference to the next, as TFLite's
 * variable tensors do; a reset-only const_fill step gives it its initial value (int8: its zero point, as
 * TFLM's ResetVariableTensors; else 0) when the model instance starts and on reset (plan/program.ts).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../../quant/fixedpoint.js';
import type { ConstFillStep } from '../tfl-binary/index.js';
import {
  INT_RANGE, activationName, activationRangeFloat, constFloat, constOperand, optionalConst, registerExtStep, registerTflGraphOp, registerTfliteOp,
  tensorQuant, viewF32, viewI8, viewInt, type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs,
} from '../tflite.js';

export interface SvdfOptions { rank: number; activation: string }

interface SvdfDims { batches: number; inputs: number; filters: number; units: number; rank: number; memory: number }

export interface SvdfS8Step extends ExtStepBase, SvdfDims {
  op: 'svdf_s8';
  weightsFeature: Int8Array;
  /** int8 (or int16 when the state is int16) */
  weightsTime: Int8Array | Int32Array;
  bias: Int32Array | null;
  inZeroPoint: number; stateZeroPoint: number; outZeroPoint: number;
  multiplier1: number; shift1: number; multiplier2: number; shift2: number;
}

export interface SvdfF32Step extends ExtStepBase, SvdfDims {
  op: 'svdf_f32';
  weightsFeature: Float32Array;
  weightsTime: Float32Array;
  bias: Float32Array | null;
  actMin: number; actMax: number;
}

function dims(node: TflNode<SvdfOptions>): SvdfDims {
  const a = node.attrs, where = a.where;
  const x = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const wf = constOperand(node, 1, 'weights_feature'), wt = constOperand(node, 2, 'weights_time');
  const st = a.operands[4];
  if (!st || st.kind !== 'state') fail(`${where}: input 4 must be the variable activation state`);
  if (x.length !== 2 || wf.shape.length !== 2 || wt.shape.length !== 2) fail(`${where}: expects 2-D input and weights`);
  const [batches, inputs] = x, [filters] = wf.shape, memory = wt.shape[1], rank = a.options.rank;
  if (wf.shape[1] !== inputs || wt.shape[0] !== filters || rank < 1 || filters % rank !== 0) fail(`${where}: weights [${wf.shape}] / [${wt.shape}] and rank ${rank} do not fit input [${x}]`);
  if (st.tensor.shape.reduce((p, d) => p * d, 1) !== batches * filters * memory) fail(`${where}: the state [${st.tensor.shape}] does not hold ${batches} x ${filters} x ${memory} values`);
  const units = filters / rank;
  if (a.outputInfo[0].shape.reduce((p, d) => p * d, 1) !== batches * units) fail(`${where}: output [${a.outputInfo[0].shape}] is not [${batches}, ${units}]`);
  return { batches, inputs, filters, units, rank, memory };
}

function shiftState(state: { copyWithin(t: number, s: number, e: number): unknown; length: number }): void {
  state.copyWithin(0, 1, state.length);
}

export function executeSvdfS8(s: SvdfS8Step, mem: ProgramMemory): void {
  const x = viewI8(mem, s.in), y = viewI8(mem, s.out), state = viewInt(mem, s.aux![0]);
  const [smin, smax] = INT_RANGE[s.aux![0].dtype];
  shiftState(state);
  for (let b = 0; b < s.batches; b++) for (let f = 0; f < s.filters; f++) {
    let dot = 0;
    for (let i = 0; i < s.inputs; i++) dot = (dot + s.weightsFeature[f * s.inputs + i] * (x[b * s.inputs + i] - s.inZeroPoint)) | 0;
    let v = mbqm(dot, s.multiplier1, s.shift1);
    v = v < smin ? smin : v > smax ? smax : v;
    state[(b * s.filters + f) * s.memory + s.memory - 1] = s.stateZeroPoint + v;
  }
  for (let b = 0; b < s.batches; b++) {
    const t = new Int32Array(s.filters);
    for (let f = 0; f < s.filters; f++) {
      let acc = 0;
      for (let j = 0; j < s.memory; j++) acc = (acc + s.weightsTime[f * s.memory + j] * (state[(b * s.filters + f) * s.memory + j] - s.stateZeroPoint)) | 0;
      t[f] = acc;
    }
    for (let u = 0; u < s.units; u++) {
      let acc = s.bias ? s.bias[u] : 0;
      for (let r = 0; r < s.rank; r++) acc = (acc + t[u * s.rank + r]) | 0;
      const v = mbqm(acc, s.multiplier2, s.shift2) + s.outZeroPoint;
      y[b * s.units + u] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
}

export function svdfFloat(x: Float32Array, y: Float32Array, state: Float32Array, s: SvdfDims & { weightsFeature: Float32Array; weightsTime: Float32Array; bias: Float32Array | null; actMin: number; actMax: number }): void {
  const f = Math.fround;
  shiftState(state);
  for (let b = 0; b < s.batches; b++) for (let k = 0; k < s.filters; k++) {
    let dot = 0;
    for (let i = 0; i < s.inputs; i++) dot = f(dot + f(s.weightsFeature[k * s.inputs + i] * x[b * s.inputs + i]));
    state[(b * s.filters + k) * s.memory + s.memory - 1] = dot;
  }
  for (let b = 0; b < s.batches; b++) {
    const t = new Float32Array(s.filters);
    for (let k = 0; k < s.filters; k++) {
      let acc = 0;
      for (let j = 0; j < s.memory; j++) acc = f(acc + f(s.weightsTime[k * s.memory + j] * state[(b * s.filters + k) * s.memory + j]));
      t[k] = acc;
    }
    for (let u = 0; u < s.units; u++) {
      let acc = s.bias ? s.bias[u] : 0;
      for (let r = 0; r < s.rank; r++) acc = f(acc + t[u * s.rank + r]);
      y[b * s.units + u] = acc < s.actMin ? s.actMin : acc > s.actMax ? s.actMax : acc;
    }
  }
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<SvdfOptions>, a = n.attrs, where = a.where;
  const d = dims(n);
  const wf = constOperand(n, 1, 'weights_feature'), wt = constOperand(n, 2, 'weights_time'), bt = optionalConst(n, 3, 'the bias');
  const st = (a.operands[4] as { kind: 'state'; tensor: { dtype: string; quant: { scale: number[]; zeroPoint: number[] } | null } }).tensor;
  const inInfo = a.inputInfo[0]!, outInfo = a.outputInfo[0];
  const input = ctx.read(n.inputs[0]), out = ctx.write(n.outputs[0]);
  const stateLen = d.batches * d.filters * d.memory;
  if (outInfo.dtype === 'float32') {
    const state = ctx.state('float32', stateLen);
    const [actMin, actMax] = activationRangeFloat(a.options.activation, where);
    const init: ConstFillStep = { op: 'const_fill', name: `${n.name}_state_reset`, in: state, out: state, values: new Float32Array(stateLen), reset: true };
    const step: SvdfF32Step = { op: 'svdf_f32', name: n.name, in: input, out, aux: [state], ...d, weightsFeature: constFloat(wf), weightsTime: constFloat(wt), bias: bt ? constFloat(bt) : null, actMin, actMax };
    return [init, step];
  }
  if (inInfo.dtype !== 'int8' || outInfo.dtype !== 'int8' || wf.dtype !== 'int8' || (st.dtype !== 'int8' && st.dtype !== 'int16') || wt.dtype !== st.dtype) {
    fail(`${where}: SVDF with ${inInfo.dtype} input, ${wf.dtype}/${wt.dtype} weights and ${st.dtype} state is not supported`);
  }
  if (bt && bt.dtype !== 'int32') fail(`${where}: a ${bt.dtype} bias is not supported`);
  const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
  const qs = st.quant ?? fail(`${where}: the state has no quantization parameters`);
  const qwf = wf.quant ?? fail(`${where}: weights_feature has no quantization`), qwt = wt.quant ?? fail(`${where}: weights_time has no quantization`);
  const m1 = quantizeMultiplier((qi.scale * qwf.scale[0]) / qs.scale[0]);
  const m2 = quantizeMultiplier((qs.scale[0] * qwt.scale[0]) / qo.scale);
  const stateZeroPoint = st.dtype === 'int8' ? qs.zeroPoint[0] : 0;
  const state = ctx.state(st.dtype as 'int8' | 'int16', stateLen);
  const init: ConstFillStep = { op: 'const_fill', name: `${n.name}_state_reset`, in: state, out: state, values: new Int32Array(stateLen).fill(stateZeroPoint), reset: true };
  const step: SvdfS8Step = {
    op: 'svdf_s8', name: n.name, in: input, out, aux: [state], ...d, weightsFeature: wf.data as Int8Array,
    weightsTime: wt.dtype === 'int8' ? (wt.data as Int8Array) : Int32Array.from(wt.data as Int16Array), bias: bt ? (bt.data as Int32Array) : null,
    inZeroPoint: qi.zeroPoint, stateZeroPoint, outZeroPoint: qo.zeroPoint, multiplier1: m1.multiplier, shift1: m1.shift, multiplier2: m2.multiplier, shift2: m2.shift,
  };
  return [init, step];
}

function options(t: Table | null, where: string): Record<string, unknown> {
  if (!t) fail(`${where}: missing options`);
  const rank = t.i32(0, 'rank');
  if (!(rank >= 1 && rank <= 1 << 16)) fail(`${where}: rank ${rank}`);
  return { rank, activation: activationName(t.i8(1, 'fused_activation_function'), where) };
}

registerTfliteOp({ code: 27, tflName: 'SVDF', graphOp: 'tfl.svdf', options });
registerTflGraphOp<SvdfOptions>('tfl.svdf', {
  reference: ([x], _s, a: TflNodeAttrs<SvdfOptions>) => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<SvdfOptions>;
    const d = dims(node);
    const bt = optionalConst(node, 3, 'the bias');
    const [actMin, actMax] = activationRangeFloat(a.options.activation, a.where);
    const y = new Float32Array(d.batches * d.units);
    svdfFloat(x, y, new Float32Array(d.batches * d.filters * d.memory), { ...d, weightsFeature: constFloat(constOperand(node, 1, 'weights_feature')), weightsTime: constFloat(constOperand(node, 2, 'weights_time')), bias: bt ? constFloat(bt) : null, actMin, actMax });
    return [y];
  },
  // feature projection (inputs per filter) and the time filter (memory per filter)
  macs: (_inputs, a) => {
    const d = dims({ op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<SvdfOptions>);
    return d.batches * d.filters * (d.inputs + d.memory);
  },
  lower,
});
registerExtStep<SvdfS8Step>('svdf_s8', executeSvdfS8);
registerExtStep<SvdfF32Step>('svdf_f32', (s, mem) => svdfFloat(viewF32(mem, s.in), viewF32(mem, s.out), viewF32(mem, s.aux![0]), s));
