/** WASM emission for LayerNorm: weights as constants, one call into runtime/kernels/float_ops.ts. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import type { LayerNormF32Step } from '../../plan/program.js';

export function emitLayerNormWasm(step: LayerNormF32Step, ctx: WasmEmitContext): Expr {
  const w = ctx.data(bytesOf(step.weight), `${step.name}.weight`);
  const b = step.bias ? ctx.data(bytesOf(step.bias), `${step.name}.bias`) : 0;
  return ctx.call('layer_norm_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features), ctx.f64(step.eps),
    ctx.i32(w), ctx.i32(b),
  ]);
}
