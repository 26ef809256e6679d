/** WASM emission for copy (a reshape that is the graph output) and gather (element type from in.dtype). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { CopyStep, GatherStep } from '../../plan/program.js';

export function emitCopyWasm(step: CopyStep, ctx: WasmEmitContext): Expr {
  return ctx.call('copy_bytes', [ctx.i32(ctx.addr(step.out)), ctx.i32(ctx.addr(step.in)), ctx.i32(step.in.length * elementBytes(step.in))]);
}

export function emitGatherWasm(step: GatherStep, ctx: WasmEmitContext): Expr {
  const { shape, axis, indices } = step;
  if (axis < 0 || axis >= shape.length) fail(`program step '${step.name}': gather axis ${axis} is outside shape [${shape}]`);
  const n = shape[axis];
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) fail(`program step '${step.name}': indices [${indices}] are out of range for a dimension of ${n}`);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1) * elementBytes(step.in);
  if (indices.length === 0 || outer === 0 || inner === 0) return ctx.nop();
  // a run of consecutive indices with a single outer block is one block copy
  if (outer === 1 && indices.every((v, j) => v === indices[0] + j)) {
    return ctx.call('copy_bytes', [ctx.i32(ctx.addr(step.out)), ctx.i32(ctx.addr(step.in) + indices[0] * inner), ctx.i32(indices.length * inner)]);
  }
  const idx = ctx.data(bytesOf(Int32Array.from(indices)), `${step.name}.indices`);
  return ctx.call('gather_bytes', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(outer), ctx.i32(n), ctx.i32(inner), ctx.i32(idx), ctx.i32(indices.length),
  ]);
}
