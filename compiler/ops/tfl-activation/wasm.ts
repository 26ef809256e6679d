/** LOGISTIC / TANH: WASM emission bit-exact with executeActivationS8 and the float forms (double exp/tanh, fdlibm as V8). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { ActivationF32Step, ActivationS8Step } from './index.js';

export function emitActivationTflWasm(s: ActivationS8Step | ActivationF32Step, ctx: WasmEmitContext): Expr {
  if (s.in.length !== s.out.length) fail(`program step '${s.name}': ${s.op} keeps the length`);
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef)), n = ctx.i32(s.out.length);
  const logistic = ctx.i32(s.op.startsWith('logistic') ? 1 : 0);
  if (s.op === 'logistic_f32' || s.op === 'tanh_f32') return ctx.call('tfl_activation_f32', [x, y, n, logistic]);
  const q = s as ActivationS8Step;
  return ctx.call('tfl_activation_s8', [x, y, n, logistic, ctx.i32(q.inZeroPoint), ctx.i32(q.multiplier), ctx.i32(q.shift), ctx.i32(q.radius)]);
}
