/**
 * TFLite CONV_2D and DEPTHWISE_CONV_2D (NHWC; filters [outC, kH, kW, inC/groups] and [1, kH, kW, outC]).
 * Integer kernels are TFLM's reference ConvPerChannel / DepthwiseConvPerChannel:
 *  - conv_s8 / depthwise_s8: acc(int32) = sum w * (x - inZp) over taps inside the image (+ bias[c]);
 *    v = mbqm(acc, multiplier[c], shift[c]) + outZp; clamp to [actMin, actMax]
 *  - conv_s16 / depthwise_s16 (int16x8): acc = sum w * x (+ bias[c]) in int64 when the bias is int64
 *    (bias64 = [lo, hi] pairs; 64-bit mbqm: reduced 16-bit multiplier, see ops/tflite.ts mbqm64), in
 *    int32 with the 32-bit mbqm when the bias is int32 or absent-with-int32; no zero points; clamp.
 * Padding is TFLM's: before = floor(total / 2) with total = max(0, (out-1)*stride + (k-1)*dil + 1 - in).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import { multiplyByQuantizedMultiplier as mbqm } from '../../quant/fixedpoint.js';
import {
  activationName, activationRange, activationRangeFloat, bias64At, biasArrays, constFloat, constOperand, convOutSize, convPadding, extend4,
  mbqm64, optionalConst, perChannelMultipliers, registerExtStep, registerTflGraphOp, registerTfliteOp, tensorQuant, viewF32, viewI16, viewI8,
  type ExtStepBase, type TflNode, type TflNodeAttrs,
} from '../tflite.js';

export interface ConvOptions { padding: 'SAME' | 'VALID'; strideW: number; strideH: number; dilationW: number; dilationH: number; depthMultiplier: number; activation: string }

export interface ConvGeometry {
  batches: number; inH: number; inW: number; inC: number; outH: number; outW: number; outC: number;
  kH: number; kW: number; strideH: number; strideW: number; dilationH: number; dilationW: number; padH: number; padW: number;
  /** conv: input channels per group (= inC without groups); depthwise: the depth multiplier */
  filterC: number;
}

export interface ConvIntStep extends ExtStepBase, ConvGeometry {
  op: 'conv_s8' | 'conv_s16' | 'depthwise_s8' | 'depthwise_s16';
  weights: Int8Array;
  bias: Int32Array | null;
  /** int64 bias as [lo, hi] int32 pairs (int16x8 models) */
  bias64: Int32Array | null;
  multiplier: Int32Array;
  shift: Int32Array;
  inZeroPoint: number;
  outZeroPoint: number;
  actMin: number;
  actMax: number;
}

export interface ConvF32Step extends ExtStepBase, ConvGeometry {
  op: 'conv_f32' | 'depthwise_f32';
  weights: Float32Array;
  bias: Float32Array | null;
  actMin: number;
  actMax: number;
}

const PADDING = ['SAME', 'VALID'] as const;
function readOptions(depthwise: boolean) {
  return (t: import('../../frontends/tflite-schema.js').Table | null, where: string): Record<string, unknown> => {
    if (!t) fail(`${where}: missing options`);
    const p = t.i8(0, 'padding');
    const o: ConvOptions = {
      padding: PADDING[p] ?? fail(`${where}: unknown padding ${p}`),
      strideW: t.i32(1, 'stride_w'), strideH: t.i32(2, 'stride_h'),
      depthMultiplier: depthwise ? t.i32(3, 'depth_multiplier') : 1,
      activation: activationName(t.i8(depthwise ? 4 : 3, 'fused_activation_function'), where),
      dilationW: t.i32(depthwise ? 5 : 4, 'dilation_w_factor', 1), dilationH: t.i32(depthwise ? 6 : 5, 'dilation_h_factor', 1),
    };
    for (const [k, v] of [['stride_w', o.strideW], ['stride_h', o.strideH], ['dilation_w', o.dilationW], ['dilation_h', o.dilationH]] as const) {
      if (!(v >= 1 && v <= 1024)) fail(`${where}: ${k} is ${v}`);
    }
    return o as unknown as Record<string, unknown>;
  };
}

function geometry(node: TflNode<ConvOptions>, depthwise: boolean): ConvGeometry {
  const a = node.attrs, o = a.options, where = a.where;
  const inShape = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const f = constOperand(node, 1, 'the filter');
  const out = a.outputInfo[0].shape;
  if (inShape.length !== 4 || f.shape.length !== 4 || out.length !== 4) fail(`${where}: expects 4-D input, filter and output (NHWC), got [${inShape}], [${f.shape}], [${out}]`);
  const [batches, inH, inW, inC] = inShape;
  const [, kH, kW] = f.shape;
  const outC = depthwise ? f.shape[3] : f.shape[0];
  const filterC = depthwise ? o.depthMultiplier : f.shape[3];
  if (depthwise ? outC !== inC * o.depthMultiplier || f.shape[0] !== 1 : filterC < 1 || inC % filterC !== 0 || outC % (inC / filterC) !== 0) {
    fail(`${where}: filter [${f.shape}] does not fit input [${inShape}]`);
  }
  const outH = convOutSize(o.padding, o.strideH, o.dilationH, inH, kH), outW = convOutSize(o.padding, o.strideW, o.dilationW, inW, kW);
  if (out[0] !== batches || out[1] !== outH || out[2] !== outW || out[3] !== outC) fail(`${where}: output is [${out}] in the file but the convolution gives [${batches},${outH},${outW},${outC}]`);
  return {
    batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH: o.strideH, strideW: o.strideW, dilationH: o.dilationH, dilationW: o.dilationW,
    padH: convPadding(o.padding, o.strideH, o.dilationH, inH, kH, outH), padW: convPadding(o.padding, o.strideW, o.dilationW, inW, kW, outW), filterC,
  };
}

/** Calls tap(accIndex, inputIndex, weightIndex) for every filter tap inside the image, per output element. */
function forEachOutput(g: ConvGeometry, depthwise: boolean, perOutput: (outIndex: number, c: number, taps: (fn: (xi: number, wi: number) => void) => void) => void): void {
  for (let b = 0; b < g.batches; b++) for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++) for (let c = 0; c < g.outC; c++) {
    const y0 = oy * g.strideH - g.padH, x0 = ox * g.strideW - g.padW;
    const outIndex = ((b * g.outH + oy) * g.outW + ox) * g.outC + c;
    perOutput(outIndex, c, (fn) => {
      for (let ky = 0; ky < g.kH; ky++) {
        const iy = y0 + ky * g.dilationH;
        if (iy < 0 || iy >= g.inH) continue;
        for (let kx = 0; kx < g.kW; kx++) {
          const ix = x0 + kx * g.dilationW;
          if (ix < 0 || ix >= g.inW) continue;
          const base = ((b * g.inH + iy) * g.inW + ix) * g.inC;
          if (depthwise) {
            fn(base + Math.floor(c / g.filterC), (ky * g.kW + kx) * g.outC + c);
          } else {
            const group = Math.floor(c / (g.outC / (g.inC / g.filterC)));
            const wbase = ((c * g.kH + ky) * g.kW + kx) * g.filterC;
            for (let ic = 0; ic < g.filterC; ic++) fn(base + group * g.filterC + ic, wbase + ic);
          }
        }
      }
    });
  }
}

export function convFloat(x: Float32Array, y: Float32Array, g: ConvGeometry, depthwise: boolean, w: Float32Array, bias: Float32Array | null, lo: number, hi: number): void {
  const f = Math.fround;
  forEachOutput(g, depthwise, (oi, c, taps) => {
    let acc = 0;
    taps((xi, wi) => { acc = f(acc + f(x[xi] * w[wi])); });
    if (bias) acc = f(acc + bias[c]);
    y[oi] = acc < lo ? lo : acc > hi ? hi : acc;
  });
}

export function executeConvInt(s: ConvIntStep, mem: ProgramMemory): void {
  const depthwise = s.op.startsWith('depthwise');
  const s16 = s.op.endsWith('s16');
  const x = s16 ? viewI16(mem, s.in) : viewI8(mem, s.in);
  const y = s16 ? viewI16(mem, s.out) : viewI8(mem, s.out);
  const w = s.weights, zp = s.inZeroPoint;
  forEachOutput(s, depthwise, (oi, c, taps) => {
    let v: number;
    if (s16 && !s.bias) {
      // int64 accumulator (exact in a double: |acc| < 2^53 for any model that fits in memory)
      let acc = 0;
      taps((xi, wi) => { acc += w[wi] * x[xi]; });
      let a = BigInt(acc);
      if (s.bias64) a += bias64At(s.bias64, c);
      v = mbqm64(a, s.multiplier[c], s.shift[c]);
    } else {
      let acc = 0;
      taps((xi, wi) => { acc = (acc + w[wi] * (x[xi] - zp)) | 0; });
      if (s.bias) acc = (acc + s.bias[c]) | 0;
      v = mbqm(acc, s.multiplier[c], s.shift[c]) + s.outZeroPoint;
    }
    y[oi] = v < s.actMin ? s.actMin : v > s.actMax ? s.actMax : v;
  });
}

function lowerConv(depthwise: boolean) {
  return (node: TflNode, ctx: import('../tflite.js').QLowerCtx) => {
    const n = node as TflNode<ConvOptions>;
    const a = n.attrs, where = a.where;
    const g = geometry(n, depthwise);
    const filter = constOperand(n, 1, 'the filter');
    const biasT = optionalConst(n, 2, 'the bias');
    const inInfo = a.inputInfo[0]!, outInfo = a.outputInfo[0];
    const input = ctx.read(n.inputs[0]);
    const out = ctx.write(n.outputs[0]);
    const kind = depthwise ? 'depthwise' : 'conv';
    if (inInfo.dtype === 'float32') {
      const [lo, hi] = activationRangeFloat(a.options.activation, where);
      const step: ConvF32Step = { op: `${kind}_f32`, name: n.name, in: input, out, ...g, weights: constFloat(filter), bias: biasT ? constFloat(biasT) : null, actMin: lo, actMax: hi };
      return [step];
    }
    if (filter.dtype !== 'int8') fail(`${where}: ${filter.dtype} filters are not supported (int8 only)`);
    if (inInfo.dtype !== outInfo.dtype || (inInfo.dtype !== 'int8' && inInfo.dtype !== 'int16')) fail(`${where}: ${inInfo.dtype} -> ${outInfo.dtype} is not supported`);
    const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
    const { multiplier, shift } = perChannelMultipliers(qi.scale, filter, qo.scale, g.outC, where);
    const { bias, bias64 } = biasArrays(biasT, g.outC, where);
    const [actMin, actMax] = activationRange(a.options.activation, outInfo, where);
    const s16 = inInfo.dtype === 'int16';
    const step: ConvIntStep = {
      op: `${kind}_${s16 ? 's16' : 's8'}`, name: n.name, in: input, out, ...g, weights: filter.data as Int8Array, bias, bias64, multiplier, shift,
      inZeroPoint: s16 ? 0 : qi.zeroPoint, outZeroPoint: s16 ? 0 : qo.zeroPoint, actMin, actMax,
    };
    return [step];
  };
}

function reference(depthwise: boolean) {
  return ([x]: Float32Array[], _s: number[][], a: TflNodeAttrs<ConvOptions>): Float32Array[] => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<ConvOptions>;
    const g = geometry(node, depthwise);
    const y = new Float32Array(g.batches * g.outH * g.outW * g.outC);
    const b = optionalConst(node, 2, 'the bias');
    const [lo, hi] = activationRangeFloat(a.options.activation, a.where);
    convFloat(x, y, g, depthwise, constFloat(constOperand(node, 1, 'the filter')), b ? constFloat(b) : null, lo, hi);
    return [y];
  };
}

const macs = (depthwise: boolean) => (_i: number[][], a: TflNodeAttrs<ConvOptions>) => {
  const out = extend4(a.outputInfo[0].shape);
  const f = (a.operands[1] && a.operands[1].kind === 'const') ? a.operands[1].tensor.shape : [1, 1, 1, 1];
  return out.reduce((p, d) => p * d, 1) * f[1] * f[2] * (depthwise ? 1 : f[3]);
};

registerTfliteOp({ code: 3, tflName: 'CONV_2D', graphOp: 'tfl.conv_2d', options: readOptions(false) });
registerTfliteOp({ code: 4, tflName: 'DEPTHWISE_CONV_2D', graphOp: 'tfl.depthwise_conv_2d', options: readOptions(true) });
registerTflGraphOp<ConvOptions>('tfl.conv_2d', { reference: reference(false), lower: lowerConv(false), macs: macs(false) });
registerTflGraphOp<ConvOptions>('tfl.depthwise_conv_2d', { reference: reference(true), lower: lowerConv(true), macs: macs(true) });

for (const op of ['conv_s8', 'conv_s16', 'depthwise_s8', 'depthwise_s16'] as const) registerExtStep<ConvIntStep>(op, executeConvInt);
registerExtStep<ConvF32Step>('conv_f32', (s, mem) => convFloat(viewF32(mem, s.in), viewF32(mem, s.out), s, false, s.weights, s.bias, s.actMin, s.actMax));
registerExtStep<ConvF32Step>('depthwise_f32', (s, mem) => convFloat(viewF32(mem, s.in), viewF32(mem, s.out), s, true, s.weights, s.bias, s.actMin, s.actMax));
