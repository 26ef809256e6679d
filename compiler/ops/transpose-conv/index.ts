/**
 * TFLite TRANSPOSE_CONV (inputs: output_shape, filter [outC, kH, kW, inC], input NHWC, optional bias).
 * TFLM's reference TransposeConv: every input pixel scatters into an accumulator image
 *   scratch[b, y0 + ky, x0 + kx, oc] += x * w   (y0 = iy*strideH - padH, taps outside the output skipped)
 * then per output element: v = requant(scratch + bias[oc]) and clamp:
 *  - transpose_conv_s8:  scratch int32 of (x - inZp) * w; v = mbqm(acc, m[oc], s[oc]) + outZp
 *  - transpose_conv_s16: scratch int64 of x * w (aux[0] holds 2 int32 words per output element);
 *    int64 bias (bias64 pairs): 64-bit mbqm; int32 bias: int32 accumulation and the 32-bit mbqm; no zero points.
 * Padding as TFLM computes it: ComputePaddingHeightWidth with the *output* size as the input size.
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import { multiplyByQuantizedMultiplier as mbqm } from '../../quant/fixedpoint.js';
import {
  activationName, activationRange, activationRangeFloat, bias64At, biasArrays, constFloat, constOperand, convOutSize, convPadding, mbqm64,
  optionalConst, perChannelMultipliers, registerExtStep, registerTflGraphOp, registerTfliteOp, tensorQuant, viewF32, viewI16, viewI8,
  type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs,
} from '../tflite.js';

export interface TransposeConvOptions { padding: 'SAME' | 'VALID'; strideW: number; strideH: number; activation: string }

export interface TransposeConvGeometry {
  batches: number; inH: number; inW: number; inC: number; outH: number; outW: number; outC: number;
  kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number;
}

export interface TransposeConvIntStep extends ExtStepBase, TransposeConvGeometry {
  op: 'transpose_conv_s8' | 'transpose_conv_s16';
  /** [outC][kH][kW][inC] */
  weights: Int8Array;
  bias: Int32Array | null;
  bias64: Int32Array | null;
  multiplier: Int32Array;
  shift: Int32Array;
  inZeroPoint: number;
  outZeroPoint: number;
  actMin: number;
  actMax: number;
}

export interface TransposeConvF32Step extends ExtStepBase, TransposeConvGeometry {
  op: 'transpose_conv_f32';
  weights: Float32Array;
  bias: Float32Array | null;
  actMin: number;
  actMax: number;
}

function options(t: Table | null, where: string): Record<string, unknown> {
  if (!t) fail(`${where}: missing options`);
  const p = t.i8(0, 'padding');
  const o: TransposeConvOptions = {
    padding: (['SAME', 'VALID'] as const)[p] ?? fail(`${where}: unknown padding ${p}`),
    strideW: t.i32(1, 'stride_w'), strideH: t.i32(2, 'stride_h'), activation: activationName(t.i8(3, 'fused_activation_function'), where),
  };
  if (!(o.strideW >= 1 && o.strideW <= 1024 && o.strideH >= 1 && o.strideH <= 1024)) fail(`${where}: strides ${o.strideH}x${o.strideW}`);
  return o as unknown as Record<string, unknown>;
}

function geometry(node: TflNode<TransposeConvOptions>): TransposeConvGeometry {
  const a = node.attrs, o = a.options, where = a.where;
  const inShape = a.inputInfo[2]?.shape ?? fail(`${where}: the input (operand 2) must be a graph value`);
  const f = constOperand(node, 1, 'the filter');
  const out = a.outputInfo[0].shape;
  if (inShape.length !== 4 || f.shape.length !== 4 || out.length !== 4) fail(`${where}: expects 4-D input, filter and output`);
  const [batches, inH, inW, inC] = inShape;
  const [outC, kH, kW, fC] = f.shape;
  if (fC !== inC || out[0] !== batches || out[3] !== outC) fail(`${where}: filter [${f.shape}] does not fit input [${inShape}] and output [${out}]`);
  const [, outH, outW] = out;
  // TFLM: padding from the output size as if it were the input of a forward convolution
  const ph = convOutSize(o.padding, o.strideH, 1, outH, kH), pw = convOutSize(o.padding, o.strideW, 1, outW, kW);
  return { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH: o.strideH, strideW: o.strideW, padH: convPadding(o.padding, o.strideH, 1, outH, kH, ph), padW: convPadding(o.padding, o.strideW, 1, outW, kW, pw) };
}

function scatter(g: TransposeConvGeometry, fn: (outIndex: number, inIndex: number, wIndex: number) => void): void {
  for (let b = 0; b < g.batches; b++) for (let iy = 0; iy < g.inH; iy++) for (let ix = 0; ix < g.inW; ix++) for (let ic = 0; ic < g.inC; ic++) {
    const inIndex = ((b * g.inH + iy) * g.inW + ix) * g.inC + ic;
    const y0 = iy * g.strideH - g.padH, x0 = ix * g.strideW - g.padW;
    for (let ky = 0; ky < g.kH; ky++) {
      const oy = y0 + ky;
      if (oy < 0 || oy >= g.outH) continue;
      for (let kx = 0; kx < g.kW; kx++) {
        const ox = x0 + kx;
        if (ox < 0 || ox >= g.outW) continue;
        for (let oc = 0; oc < g.outC; oc++) fn(((b * g.outH + oy) * g.outW + ox) * g.outC + oc, inIndex, ((oc * g.kH + ky) * g.kW + kx) * g.inC + ic);
      }
    }
  }
}

export function transposeConvFloat(x: Float32Array, y: Float32Array, g: TransposeConvGeometry, w: Float32Array, bias: Float32Array | null, lo: number, hi: number): void {
  const f = Math.fround;
  y.fill(0);
  scatter(g, (o, i, k) => { y[o] = f(y[o] + f(x[i] * w[k])); });
  for (let o = 0; o < y.length; o++) {
    let v = bias ? f(y[o] + bias[o % g.outC]) : y[o];
    v = v < lo ? lo : v > hi ? hi : v;
    y[o] = v;
  }
}

export function executeTransposeConvInt(s: TransposeConvIntStep, mem: ProgramMemory): void {
  const s16 = s.op === 'transpose_conv_s16';
  const x = s16 ? viewI16(mem, s.in) : viewI8(mem, s.in);
  const y = s16 ? viewI16(mem, s.out) : viewI8(mem, s.out);
  // the accumulator image (the C/WASM kernels keep it in aux[0]); exact in a double
  const acc = new Float64Array(y.length);
  const w = s.weights, zp = s.inZeroPoint;
  scatter(s, (o, i, k) => { acc[o] += (x[i] - zp) * w[k]; });
  for (let o = 0; o < y.length; o++) {
    const c = o % s.outC;
    let v: number;
    if (s16 && !s.bias) {
      let a = BigInt(acc[o]);
      if (s.bias64) a += bias64At(s.bias64, c);
      v = mbqm64(a, s.multiplier[c], s.shift[c]);
    } else {
      let a = acc[o] | 0;
      if (s.bias) a = (a + s.bias[c]) | 0;
      v = mbqm(a, s.multiplier[c], s.shift[c]) + s.outZeroPoint;
    }
    y[o] = v < s.actMin ? s.actMin : v > s.actMax ? s.actMax : v;
  }
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<TransposeConvOptions>;
  const a = n.attrs, where = a.where;
  const g = geometry(n);
  const filter = constOperand(n, 1, 'the filter');
  const biasT = optionalConst(n, 3, 'the bias');
  const inOperand = a.operands[2];
  if (!inOperand || inOperand.kind !== 'value') fail(`${where}: the input must be a graph value`);
  const input = ctx.read(inOperand.name);
  const out = ctx.write(n.outputs[0]);
  const inInfo = a.inputInfo[2]!, outInfo = a.outputInfo[0];
  if (inInfo.dtype === 'float32') {
    const [lo, hi] = activationRangeFloat(a.options.activation, where);
    const step: TransposeConvF32Step = { op: 'transpose_conv_f32', name: n.name, in: input, out, ...g, weights: constFloat(filter), bias: biasT ? constFloat(biasT) : null, actMin: lo, actMax: hi };
    return [step];
  }
  if (filter.dtype !== 'int8' || inInfo.dtype !== outInfo.dtype || (inInfo.dtype !== 'int8' && inInfo.dtype !== 'int16')) fail(`${where}: ${inInfo.dtype} input with ${filter.dtype} filter is not supported`);
  const s16 = inInfo.dtype === 'int16';
  const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
  const { multiplier, shift } = perChannelMultipliers(qi.scale, filter, qo.scale, g.outC, where);
  const { bias, bias64 } = biasArrays(biasT, g.outC, where);
  const [actMin, actMax] = activationRange(a.options.activation, outInfo, where);
  const scratch = ctx.scratch('int32', out.length * (s16 && !bias ? 2 : 1));
  const step: TransposeConvIntStep = {
    op: s16 ? 'transpose_conv_s16' : 'transpose_conv_s8', name: n.name, in: input, out, aux: [scratch], ...g,
    weights: filter.data as Int8Array, bias, bias64, multiplier, shift, inZeroPoint: s16 ? 0 : qi.zeroPoint, outZeroPoint: s16 ? 0 : qo.zeroPoint, actMin, actMax,
  };
  return [step];
}

registerTfliteOp({ code: 67, tflName: 'TRANSPOSE_CONV', graphOp: 'tfl.transpose_conv', options });
registerTflGraphOp<TransposeConvOptions>('tfl.transpose_conv', {
  reference: (inputs, _s, a: TflNodeAttrs<TransposeConvOptions>) => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<TransposeConvOptions>;
    const g = geometry(node);
    const x = inputs[inputs.length - 1];
    const y = new Float32Array(g.batches * g.outH * g.outW * g.outC);
    const b = optionalConst(node, 3, 'the bias');
    const [lo, hi] = activationRangeFloat(a.options.activation, a.where);
    transposeConvFloat(x, y, g, constFloat(constOperand(node, 1, 'the filter')), b ? constFloat(b) : null, lo, hi);
    return [y];
  },
  lower,
});
registerExtStep<TransposeConvIntStep>('transpose_conv_s8', executeTransposeConvInt);
registerExtStep<TransposeConvIntStep>('transpose_conv_s16', executeTransposeConvInt);
registerExtStep<TransposeConvF32Step>('transpose_conv_f32', (s, mem) => transposeConvFloat(viewF32(mem, s.in), viewF32(mem, s.out), s, s.weights, s.bias, s.actMin, s.actMax));
