/**
 * WASM emission for add_f32 / mul_f32 and add_s8 / mul_s8 (second operand aux[0], broadcast by i % period). add_s8 /
 * mul_s8 steps without positive shifts or negative multipliers and with int8 zero points run add_s8_f / mul_s8_f
 * (runtime/kernels/int8_ops.ts: the output rounding estimated in f32, checked, exact fallback), the others add_s8 / mul_s8.
 */
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

/** Largest |q - zp| over int8 q. */
const spread = (zp: number) => Math.max(Math.abs(-128 - zp), Math.abs(127 - zp));
const int8Zp = (...zps: number[]) => zps.every((z) => z >= -128 && z <= 127);

/**
 * add_s8_f's constants, or null outside its domain: ka, kb (f32 of 2^20 M / 2^(31+R) per input times the output's
 * M / 2^(31+e)), h = 2^-(e+1) (0 for e = 0) and tau = 1/2 - 4 err, where err bounds |T - y| (derivation in
 * runtime/kernels/int8_ops.ts): 2^-24 (5 (A + B) + 1) for the f32 roundings (A, B: the largest |q - zp| times ka, kb;
 * the ka, kb roundings, two products, their sum and the h addition) plus 2 M / 2^(31+e) for a' + b' vs its estimate.
 */
export function addS8Checked(step: AddS8Step): { ka: number; kb: number; h: number; tau: number } | null {
  if (step.aShift > 0 || step.bShift > 0 || step.outShift > 0 || step.aMultiplier < 0 || step.bMultiplier < 0 || step.outMultiplier < 0) return null;
  if (!int8Zp(step.aZeroPoint, step.bZeroPoint, step.outZeroPoint)) return null;
  const e = -step.outShift, mu = step.outMultiplier / 2 ** (31 + e);
  const ka = (2 ** 20 * step.aMultiplier / 2 ** (31 - step.aShift)) * mu, kb = (2 ** 20 * step.bMultiplier / 2 ** (31 - step.bShift)) * mu;
  const A = spread(step.aZeroPoint) * ka, B = spread(step.bZeroPoint) * kb;
  const err = 2 ** -24 * (5 * (A + B) + 1) + 2 * mu;
  if (!(err <= 2 ** -10) || A + B >= 2 ** 20) return null;
  return { ka: Math.fround(ka), kb: Math.fround(kb), h: e > 0 ? 2 ** -(e + 1) : 0, tau: Math.fround(0.5 - 4 * err) };
}

export function emitAddS8Wasm(step: AddS8Step, ctx: WasmEmitContext): Expr {
  const b = checkS8(step, [[step.aMultiplier, step.aShift], [step.bMultiplier, step.bShift], [step.outMultiplier, step.outShift]], [step.aZeroPoint, step.bZeroPoint, step.outZeroPoint]);
  const c = addS8Checked(step);
  const args = [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period),
    ctx.i32(step.aZeroPoint), ctx.i32(step.aMultiplier), ctx.i32(step.aShift), ctx.i32(step.bZeroPoint), ctx.i32(step.bMultiplier), ctx.i32(step.bShift),
    ctx.i32(step.outMultiplier), ctx.i32(step.outShift), ctx.i32(step.outZeroPoint),
  ];
  return c ? ctx.call('add_s8_f', [...args, ctx.f32(c.ka), ctx.f32(c.kb), ctx.f32(c.h), ctx.f32(c.tau)]) : ctx.call('add_s8', args);
}

/** mul_s8_f's domain: no left shift, M >= 0, int8 zero points (then |T| < 2^21 and the fixed 2^-12 check holds). */
export function mulS8Checked(step: MulS8Step): boolean {
  return step.shift <= 0 && step.multiplier >= 0 && int8Zp(step.aZeroPoint, step.bZeroPoint, step.outZeroPoint);
}

export function emitMulS8Wasm(step: MulS8Step, ctx: WasmEmitContext): Expr {
  const b = checkS8(step, [[step.multiplier, step.shift]], [step.aZeroPoint, step.bZeroPoint, step.outZeroPoint]);
  const args = [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(b)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.period),
    ctx.i32(step.aZeroPoint), ctx.i32(step.bZeroPoint), ctx.i32(step.multiplier), ctx.i32(step.shift), ctx.i32(step.outZeroPoint),
  ];
  if (!mulS8Checked(step)) return ctx.call('mul_s8', args);
  const e = -step.shift;
  return ctx.call('mul_s8_f', [...args, ctx.f32(step.multiplier / 2 ** (31 + e)), ctx.f32(e > 0 ? 2 ** -(e + 1) : 0)]);
}
