/** softmax_tfl_s8 (int8 -> int8 / int16, gemmlowp fixed point): WASM emission bit-exact with executeSoftmaxTflS8. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { SoftmaxTflS8Step } from './index.js';

/** One row of int32 exponentials. */
export const softmaxTflScratchBytes = (s: SoftmaxTflS8Step): number => 4 * s.depth;

export function emitSoftmaxTflWasm(s: SoftmaxTflS8Step, ctx: WasmEmitContext): Expr {
  if (s.in.dtype !== 'int8' || (s.out.dtype !== 'int8' && s.out.dtype !== 'int16')) fail(`program step '${s.name}': softmax_tfl_s8 is int8 -> int8/int16`);
  if (s.in.length < s.rows * s.depth || s.out.length < s.rows * s.depth) fail(`program step '${s.name}': softmax buffers do not hold ${s.rows} x ${s.depth}`);
  return ctx.call('tfl_softmax_s8', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(s.rows), ctx.i32(s.depth),
    ctx.i32(s.multiplier), ctx.i32(s.leftShift), ctx.i32(s.diffMin), ctx.i32(elementBytes(s.out as BufferRef)), ctx.i32(ctx.scratch(softmaxTflScratchBytes(s)))]);
}
