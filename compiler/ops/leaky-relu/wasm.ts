/** LEAKY_RELU: WASM emission bit-exact with executeLeakyReluInt / the float form (index.ts). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { LeakyReluF32Step, LeakyReluIntStep } from './index.js';

export function emitLeakyReluWasm(s: LeakyReluIntStep | LeakyReluF32Step, ctx: WasmEmitContext): Expr {
  if (s.in.length !== s.out.length) fail(`program step '${s.name}': ${s.op} keeps the length`);
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef)), n = ctx.i32(s.out.length);
  if (s.op === 'leaky_relu_f32') return ctx.call('tfl_leaky_relu_f32', [x, y, n, ctx.f32((s as LeakyReluF32Step).alpha)]);
  const q = s as LeakyReluIntStep;
  if (q.in.dtype !== q.out.dtype) fail(`program step '${q.name}': ${q.op} keeps the element type`);
  return ctx.call('tfl_leaky_relu_int', [x, y, n, ctx.i32(elementBytes(q.out as BufferRef)), ctx.i32(q.inZeroPoint), ctx.i32(q.outZeroPoint),
    ctx.i32(q.identityMultiplier), ctx.i32(q.identityShift), ctx.i32(q.alphaMultiplier), ctx.i32(q.alphaShift)]);
}
