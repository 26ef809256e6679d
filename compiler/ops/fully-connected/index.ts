/**
 * TFLite FULLY_CONNECTED (weights [out, in], optional bias [out]; leading input dims are rows).
 *  - int8: the existing dense_s8 step (TFLM FullyConnected int8: acc = sum w * (x - inZp) + bias, with
 *    -inZp * sum(w) folded into the bias; mbqm with the file's full 32-bit multipliers; + outZp; clamp
 *    to the fused activation's range). Multiplier: per-tensor f32(inScale * wScale) / outScale (TFLM's
 *    GetQuantizedConvolutionMultipler), per-channel (double) as convolutions.
 *  - float32: dense_f32 (NONE / RELU).
 */
import { fail } from '../../errors.js';
import type { Table } from '../../frontends/tflite-schema.js';
import type { DenseF32Step, DenseS8Step } from '../../plan/program.js';
import { quantizeMultiplier } from '../../quant/fixedpoint.js';
import { activationName, activationRange, constFloat, constOperand, optionalConst, perChannelMultipliers, registerTflGraphOp, registerTfliteOp, tensorQuant, type QLowerCtx, type TflNode, type TflNodeAttrs } from '../tflite.js';

export interface FullyConnectedOptions { activation: string; weightsFormat: number; keepNumDims: boolean }

function dims(node: TflNode<FullyConnectedOptions>): { inFeatures: number; outFeatures: number; rows: number } {
  const a = node.attrs, where = a.where;
  const w = constOperand(node, 1, 'the weights');
  if (w.shape.length !== 2) fail(`${where}: weights must be 2-D, got [${w.shape}]`);
  if (a.options.weightsFormat !== 0) fail(`${where}: shuffled weights are not supported`);
  const [outFeatures, inFeatures] = w.shape;
  const x = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const total = x.reduce((p, d) => p * d, 1);
  if (inFeatures === 0 || total % inFeatures !== 0) fail(`${where}: input [${x}] is not a multiple of ${inFeatures} features`);
  const rows = total / inFeatures;
  const out = a.outputInfo[0].shape.reduce((p, d) => p * d, 1);
  if (out !== rows * outFeatures) fail(`${where}: output [${a.outputInfo[0].shape}] does not hold ${rows} x ${outFeatures} values`);
  return { inFeatures, outFeatures, rows };
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<FullyConnectedOptions>, a = n.attrs, where = a.where;
  const { inFeatures, outFeatures, rows } = dims(n);
  const w = constOperand(n, 1, 'the weights');
  const b = optionalConst(n, 2, 'the bias');
  const inInfo = a.inputInfo[0]!, outInfo = a.outputInfo[0];
  const input = ctx.read(n.inputs[0]), out = ctx.write(n.outputs[0]);
  if (outInfo.dtype === 'float32') {
    if (a.options.activation !== 'NONE' && a.options.activation !== 'RELU') fail(`${where}: float fused activation ${a.options.activation} is not supported`);
    const step: DenseF32Step = {
      op: 'dense_f32', name: n.name, in: input as DenseF32Step['in'], out: out as DenseF32Step['out'], rows, inFeatures, outFeatures,
      weights: constFloat(w), bias: b ? constFloat(b) : new Float32Array(outFeatures), activation: a.options.activation === 'RELU' ? 'relu' : 'linear',
    };
    return [step];
  }
  if (inInfo.dtype !== 'int8' || outInfo.dtype !== 'int8' || w.dtype !== 'int8') fail(`${where}: ${inInfo.dtype} input with ${w.dtype} weights -> ${outInfo.dtype} is not supported (int8 and float32 are)`);
  if (b && b.dtype !== 'int32') fail(`${where}: a ${b.dtype} bias is not supported`);
  const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
  const wq = w.quant ?? fail(`${where}: the weights have no quantization parameters`);
  if (wq.zeroPoint.some((z) => z !== 0)) fail(`${where}: weights with a non-zero zero point are not supported`);
  let multiplier: Int32Array, shift: Int32Array;
  if (wq.scale.length === 1) {
    const m = quantizeMultiplier(Math.fround(qi.scale * wq.scale[0]) / qo.scale);
    multiplier = new Int32Array(outFeatures).fill(m.multiplier); shift = new Int32Array(outFeatures).fill(m.shift);
  } else ({ multiplier, shift } = perChannelMultipliers(qi.scale, w, qo.scale, outFeatures, where));
  const weights = w.data as Int8Array;
  const bias = new Int32Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let sum = 0;
    for (let i = 0; i < inFeatures; i++) sum += weights[o * inFeatures + i];
    bias[o] = ((b ? (b.data as Int32Array)[o] : 0) - qi.zeroPoint * sum) | 0;
  }
  const [actMin, actMax] = activationRange(a.options.activation, outInfo, where);
  const step: DenseS8Step = {
    op: 'dense_s8', name: n.name, in: input as DenseS8Step['in'], out: out as DenseS8Step['out'], rows, inFeatures, outFeatures, weights, bias,
    multiplier, shift, outZeroPoint: qo.zeroPoint, actMin, actMax, lut: null,
  };
  return [step];
}

function options(t: Table | null, where: string): Record<string, unknown> {
  return { activation: activationName(t ? t.i8(0, 'fused_activation_function') : 0, where), weightsFormat: t ? t.i8(1, 'weights_format') : 0, keepNumDims: t ? t.bool(2, 'keep_num_dims') : false };
}

registerTfliteOp({ code: 9, tflName: 'FULLY_CONNECTED', graphOp: 'tfl.fully_connected', options });
registerTflGraphOp<FullyConnectedOptions>('tfl.fully_connected', {
  reference: ([x], _s, a: TflNodeAttrs<FullyConnectedOptions>) => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<FullyConnectedOptions>;
    const { inFeatures, outFeatures, rows } = dims(node);
    const w = constFloat(constOperand(node, 1, 'the weights'));
    const bt = optionalConst(node, 2, 'the bias');
    const b = bt ? constFloat(bt) : null;
    const lo = a.options.activation === 'RELU' || a.options.activation === 'RELU6' ? 0 : a.options.activation === 'RELU_N1_TO_1' ? -1 : -Infinity;
    const hi = a.options.activation === 'RELU6' ? 6 : a.options.activation === 'RELU_N1_TO_1' ? 1 : Infinity;
    const y = new Float32Array(rows * outFeatures);
    for (let r = 0; r < rows; r++) for (let o = 0; o < outFeatures; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inFeatures; i++) acc += w[o * inFeatures + i] * x[r * inFeatures + i];
      y[r * outFeatures + o] = Math.min(hi, Math.max(lo, acc));
    }
    return [y];
  },
  macs: (_i, a) => {
    const w = a.operands[1];
    const out = a.outputInfo[0].shape.reduce((p, d) => p * d, 1);
    return w && w.kind === 'const' ? out * w.tensor.shape[1] : 0;
  },
  lower,
});
