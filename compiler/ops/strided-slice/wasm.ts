/** STRIDED_SLICE: WASM emission (any element type), as sliceData (index.ts). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { StridedSliceStep } from './index.js';

export function emitStridedSliceWasm(s: StridedSliceStep, ctx: WasmEmitContext): Expr {
  const r = s.inShape.length;
  if (r > 5 || s.start.length !== r || s.stride.length !== r || s.counts.length !== r) fail(`program step '${s.name}': strided slice of rank ${r} (at most 5)`);
  if (s.out.length !== s.counts.reduce((p, d) => p * d, 1) || s.in.dtype !== s.out.dtype) fail(`program step '${s.name}': slice buffers do not match its counts`);
  const pad = (v: number[], fill: number) => [...new Array(5 - r).fill(fill), ...v];
  const p = ctx.data(bytesOf(Int32Array.from([...pad(s.inShape, 1), ...pad(s.start, 0), ...pad(s.stride, 1), ...pad(s.counts, 1)])), `${s.name}.slice`);
  return ctx.call('tfl_strided_slice', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(p), ctx.i32(elementBytes(s.out as BufferRef))]);
}
