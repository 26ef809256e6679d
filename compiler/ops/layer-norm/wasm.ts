/** WASM emission for LayerNorm: weights as constants, one call into runtime/kernels/float_ops.ts (int8: int8_ops.ts). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { LayerNormF32Step, LayerNormS8Step } from '../../plan/program.js';

export function emitLayerNormWasm(step: LayerNormF32Step, ctx: WasmEmitContext): Expr {
  const w = ctx.data(bytesOf(step.weight), `${step.name}.weight`);
  const b = step.bias ? ctx.data(bytesOf(step.bias), `${step.name}.bias`) : 0;
  return ctx.call('layer_norm_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features), ctx.f64(step.eps),
    ctx.i32(w), ctx.i32(b),
  ]);
}

/** layer_norm_s8: gain/offset as constants, float32 in the order of executeLayerNormS8 (runtime/kernels/int8_ops.ts). */
export function emitLayerNormS8Wasm(step: LayerNormS8Step, ctx: WasmEmitContext): Expr {
  const n = step.features;
  if (step.gain.length !== n || step.offset.length !== n) fail(`program step '${step.name}': layer_norm_s8 gain/offset do not match ${n} features`);
  if (step.in.length < step.rows * n || step.out.length < step.rows * n) fail(`program step '${step.name}': layer_norm_s8 buffers do not hold ${step.rows} x ${n}`);
  // Q <= n * 255^2 must fit int32 (n*Q - S*S is then exact in int64)
  if (n * 255 * 255 > 2147483647) fail(`program step '${step.name}': ${n} features overflow the int32 sums`);
  if (!Number.isInteger(step.inZeroPoint) || Math.abs(step.inZeroPoint) > 32000) fail(`program step '${step.name}': input zero point ${step.inZeroPoint} is out of range`);
  return ctx.call('layer_norm_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(n), ctx.i32(step.inZeroPoint),
    ctx.f32(step.inScale), ctx.f32(step.inScaleSq), ctx.f32(step.eps),
    ctx.i32(ctx.data(bytesOf(step.gain), `${step.name}.gain`)), ctx.i32(ctx.data(bytesOf(step.offset), `${step.name}.offset`)),
  ]);
}
