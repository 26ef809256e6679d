/** WASM emission for add_f32 / mul_f32 and add_s8 / mul_s8 (second operand aux[0], broadcast by i % period). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { AddS8Step, BinaryF32Step, MulS8Step } from '../../plan/program.js';

export function emitBinaryWasm(step: BinaryF32Step, ctx: WasmEmitContext): Expr {
  const b = step.aux?.[0];
  if (!b) return fail(`program step '${step.name}': ${step.op} needs its second operand in aux[0]`);
  if (step.period < 1 || step.length % step.period !== 0) fail(`program step '${step.name}': length ${step.length} is not a multiple of period ${step.period}`);
  return ctx.call(step.op, [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period)]);
}

const INT32_MIN = -2147483648;

function checkS8(step: AddS8Step | MulS8Step, multipliers: Array<[number, number]>, zeroPoints: number[]) {
  const b = step.aux?.[0];
  if (!b) return fail(`program step '${step.name}': ${step.op} needs its second operand in aux[0]`);
  if (step.period < 1 || step.length % step.period !== 0) fail(`program step '${step.name}': length ${step.length} is not a multiple of period ${step.period}`);
  if (step.in.length < step.length || step.out.length < step.length || b.length < step.period) fail(`program step '${step.name}': buffers do not hold ${step.length} (period ${step.period}) values`);
  for (const [m, s] of multipliers) {
    if (m === INT32_MIN || !Number.isInteger(s) || s < -31 || s > 31) fail(`program step '${step.name}': multiplier ${m} / shift ${s} is outside what the quantizer produces; the program file is corrupt`);
  }
  for (const z of zeroPoints) if (!Number.isInteger(z) || Math.abs(z) > 1024) fail(`program step '${step.name}': zero point ${z} is out of range`);
  return b;
}

export function emitAddS8Wasm(step: AddS8Step, ctx: WasmEmitContext): Expr {
  const b = checkS8(step, [[step.aMultiplier, step.aShift], [step.bMultiplier, step.bShift], [step.outMultiplier, step.outShift]], [step.aZeroPoint, step.bZeroPoint, step.outZeroPoint]);
  return ctx.call('add_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period),
    ctx.i32(step.aZeroPoint), ctx.i32(step.aMultiplier), ctx.i32(step.aShift), ctx.i32(step.bZeroPoint), ctx.i32(step.bMultiplier), ctx.i32(step.bShift),
    ctx.i32(step.outMultiplier), ctx.i32(step.outShift), ctx.i32(step.outZeroPoint),
  ]);
}

export function emitMulS8Wasm(step: MulS8Step, ctx: WasmEmitContext): Expr {
  const b = checkS8(step, [[step.multiplier, step.shift]], [step.aZeroPoint, step.bZeroPoint, step.outZeroPoint]);
  return ctx.call('mul_s8', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period),
    ctx.i32(step.aZeroPoint), ctx.i32(step.bZeroPoint), ctx.i32(step.multiplier), ctx.i32(step.shift), ctx.i32(step.outZeroPoint),
  ]);
}
