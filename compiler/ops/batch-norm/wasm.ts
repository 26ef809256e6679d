/** WASM emission for the per-feature affine map (folded BatchNorm). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import type { AffineF32Step } from '../../plan/program.js';

export function emitAffineWasm(step: AffineF32Step, ctx: WasmEmitContext): Expr {
  const scale = ctx.data(bytesOf(step.scale), `${step.name}.scale`);
  const shift = ctx.data(bytesOf(step.shift), `${step.name}.shift`);
  return ctx.call('affine_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows * step.features), ctx.i32(step.features),
    ctx.i32(scale), ctx.i32(shift),
  ]);
}
