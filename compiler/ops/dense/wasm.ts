/** WASM emission for dense layers: constant data laid out for runtime/kernels/dense_*.ts and one kernel call. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import type { Activation, DenseF32Step, DenseS8Step } from '../../plan/program.js';

/** Must match the ACT_* constants in runtime/kernels/dense_f32.ts. */
export const WASM_ACTIVATION_CODE: Record<Activation, number> = { linear: 0, relu: 1, tanh: 2, sigmoid: 3, gelu: 4 };

/** int8 rows are padded to 16 bytes with zero weights so the kernel has no scalar tail. */
export function denseS8RowStride(inFeatures: number): number {
  return Math.max(16, (inFeatures + 15) & ~15);
}

export function emitDenseS8Wasm(step: DenseS8Step, ctx: WasmEmitContext): Expr {
  const n = step.inFeatures, m = step.outFeatures, stride = denseS8RowStride(n);
  const w = new Int8Array(stride * m);
  for (let o = 0; o < m; o++) w.set(step.weights.subarray(o * n, (o + 1) * n), o * stride);
  const wAddr = ctx.data(bytesOf(w), `${step.name}.weights`);
  const bias = ctx.data(bytesOf(step.bias), `${step.name}.bias`);
  const mult = ctx.data(bytesOf(step.multiplier), `${step.name}.multiplier`);
  const shift = ctx.data(bytesOf(step.shift), `${step.name}.shift`);
  const lut = step.lut ? ctx.data(bytesOf(step.lut), `${step.name}.lut`) : 0;
  return ctx.call('dense_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(wAddr), ctx.i32(stride), ctx.i32(m), ctx.i32(bias), ctx.i32(mult), ctx.i32(shift),
    ctx.i32(step.outZeroPoint), ctx.i32(step.actMin), ctx.i32(step.actMax), ctx.i32(lut), ctx.i32(ctx.addr(step.out)),
  ]);
}

export function emitDenseF32Wasm(step: DenseF32Step, ctx: WasmEmitContext): Expr {
  const wAddr = ctx.data(bytesOf(step.weights), `${step.name}.weights`);
  const bias = ctx.data(bytesOf(step.bias), `${step.name}.bias`);
  return ctx.call('dense_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(wAddr), ctx.i32(step.inFeatures), ctx.i32(step.outFeatures), ctx.i32(bias),
    ctx.i32(WASM_ACTIVATION_CODE[step.activation]), ctx.i32(ctx.addr(step.out)),
  ]);
}
