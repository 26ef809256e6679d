/**
 * WASM emission for the series scalers (float32 in the order compiler/ops/scaler/index.ts documents, bit-identical
 * with the oracle): scale_series_f32 writes aux = [loc, scale]; unscale_series_f32 reads them.
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { ScaleSeriesF32Step, UnscaleSeriesF32Step } from '../../plan/program.js';

/** Must match the SCALE_* constants in runtime/kernels/float_ops.ts. */
export const WASM_SCALING_CODE: Record<ScaleSeriesF32Step['kind'], number> = { none: 0, mean: 1, std: 2 };

function locScale(step: ScaleSeriesF32Step | UnscaleSeriesF32Step) {
  const [loc, scale] = step.aux ?? [];
  if (!loc || !scale) return fail(`program step '${step.name}': ${step.op} needs aux = [loc, scale]`);
  return { loc, scale };
}

export function emitScaleSeriesWasm(step: ScaleSeriesF32Step, ctx: WasmEmitContext): Expr {
  const { loc, scale } = locScale(step);
  return ctx.call('scale_series_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(ctx.addr(loc)), ctx.i32(ctx.addr(scale)),
    ctx.i32(step.length), ctx.i32(step.channels), ctx.i32(WASM_SCALING_CODE[step.kind]),
  ]);
}

/** out = f32(f32(in * scale[c]) + loc[c]) (float32, the scaler module's documented order). */
export function emitUnscaleSeriesWasm(step: UnscaleSeriesF32Step, ctx: WasmEmitContext): Expr {
  const { loc, scale } = locScale(step);
  return ctx.call('unscale_series_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(ctx.addr(loc)), ctx.i32(ctx.addr(scale)),
    ctx.i32(step.rows * step.channels), ctx.i32(step.channels),
  ]);
}
