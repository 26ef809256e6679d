/** WASM emission for dense layers: constant data laid out for runtime/kernels/dense_*.ts and one kernel call. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { Activation, DenseF32Step, DenseS8Step } from '../../plan/program.js';

/** The kernels walk rows * features elements; refuse buffers that do not hold them. */
function checkRows(step: DenseF32Step | DenseS8Step): number {
  const rows = step.rows ?? 1;
  if (!Number.isInteger(rows) || rows < 1 || step.in.length < rows * step.inFeatures || step.out.length < rows * step.outFeatures) {
    fail(`program step '${step.name}': ${rows} rows of ${step.inFeatures} -> ${step.outFeatures} do not fit its buffers (${step.in.length} -> ${step.out.length} values)`);
  }
  return rows;
}

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
  const rows = checkRows(step);
  if (rows === 1) {
    return ctx.call('dense_s8', [
      ctx.i32(ctx.addr(step.in)), ctx.i32(wAddr), ctx.i32(stride), ctx.i32(m), ctx.i32(bias), ctx.i32(mult), ctx.i32(shift),
      ctx.i32(step.outZeroPoint), ctx.i32(step.actMin), ctx.i32(step.actMax), ctx.i32(lut), ctx.i32(ctx.addr(step.out)),
    ]);
  }
  return ctx.call('dense_s8_rows', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(n), ctx.i32(wAddr), ctx.i32(stride), ctx.i32(m), ctx.i32(bias), ctx.i32(mult), ctx.i32(shift),
    ctx.i32(step.outZeroPoint), ctx.i32(step.actMin), ctx.i32(step.actMax), ctx.i32(lut), ctx.i32(ctx.addr(step.out)), ctx.i32(rows),
  ]);
}

/** Narrow layers use the transposed-weights kernel (no horizontal sums per output); needs m % 4 == 0. */
export function useTransposedDense(step: DenseF32Step): boolean {
  return step.inFeatures <= 32 && step.outFeatures % 4 === 0;
}

export function emitDenseF32Wasm(step: DenseF32Step, ctx: WasmEmitContext): Expr {
  if (useTransposedDense(step)) {
    const rows = checkRows(step), n = step.inFeatures, m = step.outFeatures;
    const wt = new Float32Array(n * m);
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) wt[i * m + o] = step.weights[o * n + i];
    return ctx.call('dense_f32_t', [
      ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.data(bytesOf(wt), `${step.name}.weights_t`)), ctx.i32(n), ctx.i32(m),
      ctx.i32(ctx.data(bytesOf(step.bias), `${step.name}.bias`)), ctx.i32(WASM_ACTIVATION_CODE[step.activation]), ctx.i32(ctx.addr(step.out)), ctx.i32(rows),
    ]);
  }
  const wAddr = ctx.data(bytesOf(step.weights), `${step.name}.weights`);
  const bias = ctx.data(bytesOf(step.bias), `${step.name}.bias`);
  const args = [
    ctx.i32(ctx.addr(step.in)), ctx.i32(wAddr), ctx.i32(step.inFeatures), ctx.i32(step.outFeatures), ctx.i32(bias),
    ctx.i32(WASM_ACTIVATION_CODE[step.activation]), ctx.i32(ctx.addr(step.out)),
  ];
  const rows = checkRows(step);
  return rows === 1 ? ctx.call('dense_f32', args) : ctx.call('dense_f32_rows', [...args, ctx.i32(rows)]);
}
