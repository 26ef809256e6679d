/** WASM emission for softmax: the kernel keeps one row of f64 exponentials in the backend's scratch region. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import type { SoftmaxF32Step } from '../../plan/program.js';

export function softmaxScratchBytes(step: SoftmaxF32Step): number {
  return step.features * 8;
}

export function emitSoftmaxWasm(step: SoftmaxF32Step, ctx: WasmEmitContext): Expr {
  return ctx.call('softmax_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features),
    ctx.i32(ctx.scratch(softmaxScratchBytes(step))),
  ]);
}
