/** PAD / PADV2: WASM emission (any element type), as padData (index.ts). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { PadStep } from './index.js';

export function emitPadWasm(s: PadStep, ctx: WasmEmitContext): Expr {
  const r = s.inShape.length;
  if (r > 5 || s.outShape.length !== r || s.before.length !== r) fail(`program step '${s.name}': pad of rank ${r} (at most 5)`);
  const n = (v: number[]) => v.reduce((p, d) => p * d, 1);
  if (s.in.length !== n(s.inShape) || s.out.length !== n(s.outShape) || s.in.dtype !== s.out.dtype) fail(`program step '${s.name}': pad buffers do not match its shapes`);
  const pad = (v: number[], fill: number) => [...new Array(5 - r).fill(fill), ...v];
  const p = ctx.data(bytesOf(Int32Array.from([...pad(s.inShape, 1), ...pad(s.outShape, 1), ...pad(s.before, 0)])), `${s.name}.shape`);
  const es = elementBytes(s.out as BufferRef);
  // the pad value as the element's bits (typed-array conversion, as the oracle's fill())
  const value = s.out.dtype === 'float32' ? new Int32Array(Float32Array.of(s.padValue).buffer)[0] : es === 1 ? Int8Array.of(s.padValue)[0] : es === 2 ? Int16Array.of(s.padValue)[0] : Int32Array.of(s.padValue)[0];
  return ctx.call('tfl_pad', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(p), ctx.i32(es), ctx.i32(value)]);
}
