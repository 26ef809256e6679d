/** SVDF: WASM emission bit-exact with executeSvdfS8 / svdfFloat (index.ts); the state is aux[0]. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { SvdfF32Step, SvdfS8Step } from './index.js';

export function emitSvdfWasm(s: SvdfS8Step | SvdfF32Step, ctx: WasmEmitContext): Expr {
  const state = s.aux?.[0] ?? fail(`program step '${s.name}': ${s.op} needs its state in aux[0]`);
  if (state.length !== s.batches * s.filters * s.memory || s.in.length !== s.batches * s.inputs || s.out.length !== s.batches * s.units) fail(`program step '${s.name}': svdf buffers do not match`);
  const float = s.op === 'svdf_f32';
  const p = ctx.data(bytesOf(Int32Array.from(float
    ? [s.batches, s.inputs, s.filters, s.units, s.rank, s.memory]
    : [s.batches, s.inputs, s.filters, s.units, s.rank, s.memory, (s as SvdfS8Step).inZeroPoint, (s as SvdfS8Step).stateZeroPoint, (s as SvdfS8Step).outZeroPoint,
      (s as SvdfS8Step).multiplier1, (s as SvdfS8Step).shift1, (s as SvdfS8Step).multiplier2, (s as SvdfS8Step).shift2])), `${s.name}.params`);
  const args = [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(ctx.addr(state as BufferRef))];
  if (float) {
    const f = s as SvdfF32Step;
    return ctx.call('tfl_svdf_f32', [...args, ctx.i32(ctx.data(bytesOf(f.weightsFeature), `${s.name}.wf`)), ctx.i32(ctx.data(bytesOf(f.weightsTime), `${s.name}.wt`)),
      ctx.i32(f.bias ? ctx.data(bytesOf(f.bias), `${s.name}.bias`) : 0), ctx.i32(p), ctx.f32(f.actMin), ctx.f32(f.actMax)]);
  }
  const q = s as SvdfS8Step;
  if (state.dtype !== 'int8' && state.dtype !== 'int16') fail(`program step '${s.name}': svdf_s8 state must be int8 or int16`);
  return ctx.call('tfl_svdf_s8', [...args, ctx.i32(ctx.data(bytesOf(q.weightsFeature), `${s.name}.wf`)), ctx.i32(ctx.data(bytesOf(Int16Array.from(q.weightsTime)), `${s.name}.wt`)),
    ctx.i32(q.bias ? ctx.data(bytesOf(q.bias), `${s.name}.bias`) : 0), ctx.i32(p), ctx.i32(elementBytes(state as BufferRef))]);
}
