/**
 * WASM emission for transpose: the permutation becomes output extents and input strides, size-1 dimensions
 * are dropped and output dimensions that are contiguous in the input are merged, then one call to the
 * rank-4 kernel (element size from in.dtype), or for int8 matrix transposes (batched) to transpose_s8
 * (runtime/kernels/int8_ops.ts: 8 x 8 blocks in registers).
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { TransposeStep } from '../../plan/program.js';

/** Output extents and input element strides of a permutation, simplified. Exported for tests. */
export function transposeLoops(shape: readonly number[], perm: readonly number[]): { extents: number[]; strides: number[] } {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) { inStrides[d] = s; s *= shape[d]; }
  const extents: number[] = [], strides: number[] = [];
  for (const p of perm) {
    if (shape[p] === 1) continue;
    const last = extents.length - 1;
    // merge with the previous output dimension when the pair walks the input contiguously
    if (last >= 0 && strides[last] === inStrides[p] * shape[p]) {
      extents[last] *= shape[p];
      strides[last] = inStrides[p];
    } else {
      extents.push(shape[p]);
      strides.push(inStrides[p]);
    }
  }
  return { extents, strides };
}

export function emitTransposeWasm(step: TransposeStep, ctx: WasmEmitContext): Expr {
  const { shape, perm } = step;
  if (perm.length !== shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    fail(`program step '${step.name}': permutation [${perm}] does not fit shape [${shape}]`);
  }
  const size = elementBytes(step.in);
  const { extents, strides } = transposeLoops(shape, perm);
  // [B][R][C] -> [B][C][R]: output extents [(B,) C, R], input strides [(R C,) 1, C]
  const k = extents.length;
  if (size === 1 && (k === 2 || k === 3) && strides[k - 2] === 1 && strides[k - 1] === extents[k - 2] && (k === 2 || strides[0] === extents[1] * extents[2])) {
    return ctx.call('transpose_s8', [
      ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(k === 3 ? extents[0] : 1), ctx.i32(extents[k - 1]), ctx.i32(extents[k - 2]),
    ]);
  }
  if (extents.length > 4) fail(`program step '${step.name}': transpose of [${shape}] by [${perm}] needs ${extents.length} loops; the WASM kernel handles 4`);
  while (extents.length < 4) { extents.unshift(1); strides.unshift(0); }
  return ctx.call('transpose', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(size),
    ...extents.map((e) => ctx.i32(e)), ...strides.map((e) => ctx.i32(e)),
  ]);
}
