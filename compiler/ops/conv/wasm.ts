/**
 * CONV_2D / DEPTHWISE_CONV_2D: WASM emission, bit-exact with executeConvInt / convFloat (index.ts).
 *  - conv_s8 without groups runs on the int8 dense kernels (compiler/ops/dense/wasm.ts): 1x1 stride-1 unpadded
 *    convolutions are a dense layer over the pixels as they are; others are im2col rows (taps outside the image
 *    hold the input zero point) in the scratch region. The zero point is folded into the bias
 *    (bias - inZp * sum w): equal to the oracle's int32 sum mod 2^32.
 *  - depthwise_s8 with depth multiplier 1: tfl_depthwise_s8 (4 channels per SIMD pass, folded bias on interior pixels).
 *  - everything else (grouped int8, int16x8 with int32 or int64 accumulators, float32): the generic loops of
 *    runtime/kernels/tflite.ts.
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef, DenseS8Step } from '../../plan/program.js';
import { emitDenseS8Wasm } from '../dense/wasm.js';
import type { ConvF32Step, ConvGeometry, ConvIntStep } from './index.js';

export function convParams(g: ConvGeometry, depthwise: boolean, inZp: number, outZp: number, actMin: number, actMax: number): Int32Array {
  return Int32Array.from([
    g.batches, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.kH, g.kW, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padH, g.padW,
    g.filterC, depthwise ? 1 : 0, inZp, outZp, actMin, actMax,
  ]);
}

function check(s: ConvIntStep | ConvF32Step, depthwise: boolean): void {
  const inLen = s.batches * s.inH * s.inW * s.inC, outLen = s.batches * s.outH * s.outW * s.outC;
  const wLen = depthwise ? s.kH * s.kW * s.outC : s.outC * s.kH * s.kW * s.filterC;
  if (s.in.length !== inLen || s.out.length !== outLen || s.weights.length !== wLen) fail(`program step '${s.name}': ${s.op} buffers/weights do not match its geometry`);
}

const isPointwise = (s: ConvGeometry) => s.kH === 1 && s.kW === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 && s.padW === 0 && s.outH === s.inH && s.outW === s.inW;

/** Bytes of scratch a convolution needs (im2col rows of the dense path). */
export function convScratchBytes(s: ConvIntStep | ConvF32Step): number {
  const dense = (s.op === 'conv_s8' && s.filterC === s.inC) || (s.op === 'depthwise_s8' && s.inC === 1);
  if (!dense || isPointwise(s)) return 0;
  return s.batches * s.outH * s.outW * s.kH * s.kW * s.inC;
}

function emitConvS8Dense(s: ConvIntStep, ctx: WasmEmitContext): Expr {
  const K = s.kH * s.kW * s.inC, rows = s.batches * s.outH * s.outW;
  const bias = new Int32Array(s.outC);
  for (let c = 0; c < s.outC; c++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += s.weights[c * K + k];
    bias[c] = ((s.bias ? s.bias[c] : 0) - s.inZeroPoint * sum) | 0;
  }
  const pointwise = isPointwise(s);
  const colRef: BufferRef = { space: 'arena', offset: -1, dtype: 'int8', length: rows * K };
  const dense: DenseS8Step = {
    op: 'dense_s8', name: s.name, in: pointwise ? (s.in as BufferRef) : colRef, out: s.out as BufferRef, rows, inFeatures: K, outFeatures: s.outC,
    weights: s.weights, bias, multiplier: s.multiplier, shift: s.shift, outZeroPoint: s.outZeroPoint, actMin: s.actMin, actMax: s.actMax, lut: null,
  };
  if (pointwise) return emitDenseS8Wasm(dense, ctx);
  const col = ctx.scratch(rows * K);
  const sub: WasmEmitContext = { ...ctx, addr: (r) => (r === colRef ? col : ctx.addr(r)) };
  const p = ctx.data(bytesOf(convParams(s, false, s.inZeroPoint, s.outZeroPoint, s.actMin, s.actMax)), `${s.name}.geometry`);
  if (!ctx.block) fail(`program step '${s.name}': this WASM linker cannot emit multi-call steps`);
  return ctx.block([ctx.call('tfl_im2col_s8', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(col), ctx.i32(p)]), emitDenseS8Wasm(dense, sub)]);
}

export function emitConvWasm(s: ConvIntStep | ConvF32Step, ctx: WasmEmitContext): Expr {
  const depthwise = s.op.startsWith('depthwise');
  check(s, depthwise);
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef));
  if (s.op === 'conv_f32' || s.op === 'depthwise_f32') {
    const f = s as ConvF32Step;
    const p = ctx.data(bytesOf(convParams(f, depthwise, 0, 0, 0, 0)), `${s.name}.geometry`);
    const w = ctx.data(bytesOf(f.weights), `${s.name}.weights`);
    const b = f.bias ? ctx.data(bytesOf(f.bias), `${s.name}.bias`) : 0;
    return ctx.call('tfl_conv_f32', [x, y, ctx.i32(w), ctx.i32(b), ctx.i32(p), ctx.f32(f.actMin), ctx.f32(f.actMax)]);
  }
  const q = s as ConvIntStep;
  const s16 = q.op.endsWith('s16');
  if (q.in.dtype !== (s16 ? 'int16' : 'int8') || q.out.dtype !== q.in.dtype) fail(`program step '${q.name}': ${q.op} expects ${s16 ? 'int16' : 'int8'} buffers`);
  if (q.op === 'conv_s8' && q.filterC === q.inC) return emitConvS8Dense(q, ctx);
  if (q.op === 'depthwise_s8' && q.inC === 1) {
    // one input channel: every output channel sees the same taps, i.e. a convolution with filterC = inC = 1
    // (weights [kH*kW][outC] transposed to [outC][kH*kW]); same int32 sums, so the same bits
    const taps = q.kH * q.kW, w = new Int8Array(q.outC * taps);
    for (let c = 0; c < q.outC; c++) for (let t = 0; t < taps; t++) w[c * taps + t] = q.weights[t * q.outC + c];
    return emitConvS8Dense({ ...q, op: 'conv_s8', filterC: 1, weights: w }, ctx);
  }
  const mode = s16 && !q.bias ? 1 : 0;
  const consts = new Int32Array(4 * q.outC);
  for (let c = 0; c < q.outC; c++) {
    if (mode === 1) {
      if (q.bias64) { consts[4 * c] = q.bias64[2 * c]; consts[4 * c + 1] = q.bias64[2 * c + 1]; }
    } else {
      const b = q.bias ? q.bias[c] : 0;
      consts[4 * c] = b;
      if (depthwise) {
        let sum = 0;
        for (let t = 0; t < q.kH * q.kW; t++) sum += q.weights[t * q.outC + c];
        consts[4 * c + 1] = (b - q.inZeroPoint * sum) | 0;
      }
    }
    consts[4 * c + 2] = q.multiplier[c]; consts[4 * c + 3] = q.shift[c];
  }
  const p = ctx.data(bytesOf(convParams(q, depthwise, q.inZeroPoint, q.outZeroPoint, q.actMin, q.actMax)), `${q.name}.geometry`);
  const w = ctx.data(bytesOf(q.weights), `${q.name}.weights`);
  const qa = ctx.data(bytesOf(consts), `${q.name}.requant`);
  if (q.op === 'depthwise_s8' && q.filterC === 1 && q.inC === q.outC) {
    return ctx.call('tfl_depthwise_s8', [x, y, ctx.i32(w), ctx.i32(qa), ctx.i32(p)]);
  }
  const hasBias = mode === 1 ? !!q.bias64 : !!q.bias;
  return ctx.call('tfl_conv_int', [x, y, ctx.i32(w), ctx.i32(qa), ctx.i32(p), ctx.i32(s16 ? 2 : 1), ctx.i32(mode), ctx.i32(hasBias ? 1 : 0)]);
}
