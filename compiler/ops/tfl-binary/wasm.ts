/** TFLite ADD / SUB / MUL with broadcasting, and const_fill: WASM emission bit-exact with executeBinaryInt / binaryFloat. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { BinaryF32Step2, BinaryIntStep, ConstFillStep } from './index.js';

const KIND = { add: 0, sub: 1, mul: 2 } as const;

/** outShape, aStrides, bStrides padded on the left to rank 6. */
function broadcastBlock(s: BinaryIntStep | BinaryF32Step2): number[] {
  const r = s.outShape.length;
  if (r > 6) fail(`program step '${s.name}': broadcasting over ${r} dimensions (at most 6)`);
  const pad = (v: number[], fill: number) => [...new Array(6 - r).fill(fill), ...v];
  return [...pad(s.outShape, 1), ...pad(s.aStrides, 0), ...pad(s.bStrides, 0)];
}

export function emitBinaryTflWasm(s: BinaryIntStep | BinaryF32Step2, ctx: WasmEmitContext): Expr {
  const b = s.aux?.[0] ?? fail(`program step '${s.name}': ${s.op} needs its second operand in aux[0]`);
  const total = s.outShape.reduce((p, d) => p * d, 1);
  if (s.out.length !== total) fail(`program step '${s.name}': output holds ${s.out.length} values, the broadcast gives ${total}`);
  const args = [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(b as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef))];
  if (s.op === 'binary_f32') {
    const p = ctx.data(bytesOf(Int32Array.from(broadcastBlock(s))), `${s.name}.broadcast`);
    return ctx.call('tfl_binary_f32', [...args, ctx.i32(p), ctx.i32(KIND[s.kind]), ctx.f32(s.actMin), ctx.f32(s.actMax)]);
  }
  const q = s as BinaryIntStep;
  const block = [...broadcastBlock(q), q.aZeroPoint, q.bZeroPoint, q.outZeroPoint, q.leftShift, q.aMultiplier, q.aShift, q.bMultiplier, q.bShift,
    q.outMultiplier, q.outShift, q.actMin, q.actMax];
  const p = ctx.data(bytesOf(Int32Array.from(block)), `${s.name}.params`);
  return ctx.call('tfl_binary_int', [...args, ctx.i32(p), ctx.i32(KIND[q.kind]), ctx.i32(elementBytes(q.out as BufferRef))]);
}

/** const_fill: the values in the buffer's element type (typed-array conversion, as the oracle's set()), copied in. */
export function emitConstFillWasm(s: ConstFillStep, ctx: WasmEmitContext): Expr {
  const out = s.out as BufferRef;
  if (s.values.length !== out.length) fail(`program step '${s.name}': ${s.values.length} values for a buffer of ${out.length}`);
  const d = out.dtype;
  const bytes = d === 'float32' ? Float32Array.from(s.values) : d === 'int8' ? Int8Array.from(s.values) : d === 'int16' ? Int16Array.from(s.values) : Int32Array.from(s.values);
  const src = ctx.data(bytesOf(bytes), `${s.name}.values`);
  return ctx.call('copy_bytes', [ctx.i32(ctx.addr(out)), ctx.i32(src), ctx.i32(bytes.byteLength)]);
}
