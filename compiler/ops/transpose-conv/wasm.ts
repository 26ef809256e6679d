/** TRANSPOSE_CONV: WASM emission (runtime/kernels/tflite.ts), bit-exact with executeTransposeConvInt / transposeConvFloat. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { TransposeConvF32Step, TransposeConvGeometry, TransposeConvIntStep } from './index.js';

function params(g: TransposeConvGeometry, inZp: number, outZp: number, lo: number, hi: number): Int32Array {
  return Int32Array.from([g.batches, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.kH, g.kW, g.strideH, g.strideW, g.padH, g.padW, inZp, outZp, lo, hi]);
}

export function emitTransposeConvWasm(s: TransposeConvIntStep | TransposeConvF32Step, ctx: WasmEmitContext): Expr {
  const outLen = s.batches * s.outH * s.outW * s.outC;
  if (s.in.length !== s.batches * s.inH * s.inW * s.inC || s.out.length !== outLen || s.weights.length !== s.outC * s.kH * s.kW * s.inC) {
    fail(`program step '${s.name}': ${s.op} buffers/weights do not match its geometry`);
  }
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef));
  if (s.op === 'transpose_conv_f32') {
    const f = s as TransposeConvF32Step;
    const p = ctx.data(bytesOf(params(f, 0, 0, 0, 0)), `${s.name}.geometry`);
    const b = f.bias ? ctx.data(bytesOf(f.bias), `${s.name}.bias`) : 0;
    return ctx.call('tfl_transpose_conv_f32', [x, y, ctx.i32(ctx.data(bytesOf(f.weights), `${s.name}.weights`)), ctx.i32(b), ctx.i32(p), ctx.f32(f.actMin), ctx.f32(f.actMax)]);
  }
  const q = s as TransposeConvIntStep;
  const s16 = q.op === 'transpose_conv_s16';
  const mode = s16 && !q.bias ? 1 : 0;
  const acc = q.aux?.[0];
  if (!acc || acc.dtype !== 'int32' || acc.length < outLen * (mode === 1 ? 2 : 1)) fail(`program step '${q.name}': ${q.op} needs its accumulator image in aux[0]`);
  const consts = new Int32Array(4 * q.outC);
  for (let c = 0; c < q.outC; c++) {
    if (mode === 1) { if (q.bias64) { consts[4 * c] = q.bias64[2 * c]; consts[4 * c + 1] = q.bias64[2 * c + 1]; } } else consts[4 * c] = q.bias ? q.bias[c] : 0;
    consts[4 * c + 2] = q.multiplier[c]; consts[4 * c + 3] = q.shift[c];
  }
  const hasBias = mode === 1 ? !!q.bias64 : !!q.bias;
  return ctx.call('tfl_transpose_conv_int', [
    x, y, ctx.i32(ctx.data(bytesOf(q.weights), `${q.name}.weights`)), ctx.i32(ctx.data(bytesOf(consts), `${q.name}.requant`)),
    ctx.i32(ctx.data(bytesOf(params(q, q.inZeroPoint, q.outZeroPoint, q.actMin, q.actMax)), `${q.name}.geometry`)),
    ctx.i32(ctx.addr(acc as BufferRef)), ctx.i32(s16 ? 2 : 1), ctx.i32(mode), ctx.i32(hasBias ? 1 : 0),
  ]);
}
