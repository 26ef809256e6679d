/** WASM emission for the per-feature affine map (folded BatchNorm). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { AffineF32Step, AffineS8Step } from '../../plan/program.js';

export function emitAffineWasm(step: AffineF32Step, ctx: WasmEmitContext): Expr {
  const scale = ctx.data(bytesOf(step.scale), `${step.name}.scale`);
  const shift = ctx.data(bytesOf(step.shift), `${step.name}.shift`);
  return ctx.call('affine_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows * step.features), ctx.i32(step.features),
    ctx.i32(scale), ctx.i32(shift),
  ]);
}

/** affine_s8 (folded BatchNorm, int8): per-feature weights widened to int32 constants, scalar kernel. */
export function emitAffineS8Wasm(step: AffineS8Step, ctx: WasmEmitContext): Expr {
  const d = step.features;
  if ([step.weights, step.bias, step.multiplier, step.shift].some((a) => a.length < d)) fail(`program step '${step.name}': affine_s8 parameters do not cover ${d} features`);
  if (step.in.length < step.rows * d || step.out.length < step.rows * d) fail(`program step '${step.name}': affine_s8 buffers do not hold ${step.rows} x ${d}`);
  if (step.shift.some((s) => s < -31 || s > 31)) fail(`program step '${step.name}': a shift is outside [-31, 31]; the program file is corrupt`);
  const i32 = (a: ArrayLike<number>, label: string) => ctx.i32(ctx.data(bytesOf(Int32Array.from({ length: d }, (_, c) => a[c])), `${step.name}.${label}`));
  return ctx.call('affine_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(d), ctx.i32(step.inZeroPoint),
    i32(step.weights, 'weights'), i32(step.bias, 'bias'), i32(step.multiplier, 'multiplier'), i32(step.shift, 'shift'), ctx.i32(step.outZeroPoint),
  ]);
}
