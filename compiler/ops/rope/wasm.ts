/** WASM emission for rope_f32 / rope_s8 (runtime/kernels/seq_ops.ts): cos/sin tables as constants, one call per token block. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { TokenBlock } from '../embedding/wasm.js';
import type { RopeStep } from './index.js';

export function emitRopeWasm(step: RopeStep, ctx: WasmEmitContext, block: TokenBlock = { first: 0, count: step.tokens }): Expr {
  const { tokens: T, heads, headDim: dh } = step, half = dh / 2, D = heads * dh;
  if (dh % 2 !== 0) fail(`program step '${step.name}': RoPE needs an even head dimension, got ${dh}`);
  if (step.cos.length !== T * half || step.sin.length !== T * half) fail(`program step '${step.name}': cos/sin tables are not [${T}, ${half}]`);
  const eb = step.op === 'rope_s8' ? 1 : 4;
  if (step.in.length < T * D || step.out.length < T * D) fail(`program step '${step.name}': buffers do not hold ${T} x ${D}`);
  if ((step.op === 'rope_s8') !== (step.in.dtype === 'int8')) fail(`program step '${step.name}': ${step.op} on a ${step.in.dtype} buffer`);
  const { first, count } = block;
  // the whole table once (the decoder step's rows index into it)
  const cos = ctx.data(bytesOf(step.cos), `${step.name}.cos`) + 4 * first * half;
  const sin = ctx.data(bytesOf(step.sin), `${step.name}.sin`) + 4 * first * half;
  const x = ctx.addr(step.in) + eb * first * D, y = ctx.addr(step.out) + eb * first * D;
  const args = [ctx.i32(x), ctx.i32(y), ctx.i32(count), ctx.i32(heads), ctx.i32(dh), ctx.i32(cos), ctx.i32(sin)];
  if (step.op === 'rope_f32') return ctx.call('rope_f32', args);
  return ctx.call('rope_s8', [...args, ctx.i32(step.inZeroPoint), ctx.f32(step.ratio), ctx.i32(step.outZeroPoint)]);
}
