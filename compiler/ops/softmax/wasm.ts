/** WASM emission for softmax: the kernel keeps one row of f64 exponentials in the backend's scratch region. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { SoftmaxF32Step, SoftmaxS8Step } from '../../plan/program.js';

export function softmaxScratchBytes(step: SoftmaxF32Step): number {
  return step.features * 8;
}

export function emitSoftmaxWasm(step: SoftmaxF32Step, ctx: WasmEmitContext): Expr {
  return ctx.call('softmax_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features),
    ctx.i32(ctx.scratch(softmaxScratchBytes(step))),
  ]);
}

/** softmax_s8 scratch (runtime/kernels/int8_ops.ts): 1024 unused bytes, the exponentials of 4 rows, their 1 / sum vectors. */
export function softmaxS8ScratchBytes(step: SoftmaxS8Step): number {
  return 1024 + 32 * step.features;
}

/** softmax_s8: the exp table is rebuilt from `base` on every call (runtime/kernels/int8_ops.ts). */
export function emitSoftmaxS8Wasm(step: SoftmaxS8Step, ctx: WasmEmitContext): Expr {
  if (!(step.base > 0 && step.base <= 1)) fail(`program step '${step.name}': softmax_s8 base ${step.base} is outside (0, 1]`);
  if (step.in.length < step.rows * step.features || step.out.length < step.rows * step.features) fail(`program step '${step.name}': softmax_s8 buffers do not hold ${step.rows} x ${step.features}`);
  return ctx.call('softmax_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features), ctx.f32(step.base),
    ctx.i32(ctx.scratch(softmaxS8ScratchBytes(step))),
  ]);
}
