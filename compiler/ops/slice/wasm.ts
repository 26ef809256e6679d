/** WASM emission for slice_rows / concat_rows: byte copies (copy_bytes in runtime/kernels/float_ops.ts). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { ConcatStep, SliceStep } from './index.js';

export function emitSliceWasm(step: SliceStep, ctx: WasmEmitContext): Expr {
  const eb = elementBytes(step.in);
  if (elementBytes(step.out) !== eb) fail(`program step '${step.name}': slice_rows from ${step.in.dtype} to ${step.out.dtype}`);
  if (!Number.isInteger(step.offset) || step.offset < 0 || step.offset + step.out.length > step.in.length) fail(`program step '${step.name}': ${step.out.length} values at offset ${step.offset} lie outside the ${step.in.length}-value input`);
  return ctx.call('copy_bytes', [ctx.i32(ctx.addr(step.out)), ctx.i32(ctx.addr(step.in) + step.offset * eb), ctx.i32(step.out.length * eb)]);
}

export function emitConcatWasm(step: ConcatStep, ctx: WasmEmitContext): Expr {
  const parts = [step.in, ...(step.aux ?? [])];
  const eb = elementBytes(step.out);
  const total = parts.reduce((s, r) => s + r.length, 0);
  if (parts.some((r) => elementBytes(r) !== eb)) fail(`program step '${step.name}': concat_rows parts differ in element type`);
  if (total > step.out.length) fail(`program step '${step.name}': ${total} values do not fit the ${step.out.length}-value output`);
  let at = ctx.addr(step.out);
  const calls = parts.map((r) => {
    const c = ctx.call('copy_bytes', [ctx.i32(at), ctx.i32(ctx.addr(r)), ctx.i32(r.length * eb)]);
    at += r.length * eb;
    return c;
  });
  if (!ctx.block) return fail(`internal error: this WASM emit context cannot emit statement blocks (step '${step.name}')`);
  return ctx.block(calls);
}
