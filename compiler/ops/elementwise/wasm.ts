/** WASM emission for add_f32 / mul_f32 (second operand aux[0], broadcast by i % period). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BinaryF32Step } from '../../plan/program.js';

export function emitBinaryWasm(step: BinaryF32Step, ctx: WasmEmitContext): Expr {
  const b = step.aux?.[0];
  if (!b) return fail(`program step '${step.name}': ${step.op} needs its second operand in aux[0]`);
  if (step.period < 1 || step.length % step.period !== 0) fail(`program step '${step.name}': length ${step.length} is not a multiple of period ${step.period}`);
  return ctx.call(step.op, [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period)]);
}
