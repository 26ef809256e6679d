/** AVERAGE_POOL_2D / MAX_POOL_2D: WASM emission bit-exact with pool() (index.ts); int8 average pools vectorised (tfl_avg_pool_s8). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf, elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { PoolStep } from './index.js';

export function emitPoolWasm(s: PoolStep, ctx: WasmEmitContext): Expr {
  if (s.in.length !== s.batches * s.inH * s.inW * s.channels || s.out.length !== s.batches * s.outH * s.outW * s.channels) fail(`program step '${s.name}': pool buffers do not match its geometry`);
  const float = s.op.endsWith('f32');
  const p = ctx.data(bytesOf(Int32Array.from([s.batches, s.inH, s.inW, s.channels, s.outH, s.outW, s.kH, s.kW, s.strideH, s.strideW, s.padH, s.padW,
    float ? 0 : s.actMin, float ? 0 : s.actMax])), `${s.name}.geometry`);
  // int8 average pools with an int8 activation range: 8 channels per pass (its f32 division is exact for windows below 2^16 values)
  if (s.op === 'avg_pool_s8' && s.kH * s.kW < 65536 && s.actMin >= -128 && s.actMax <= 127) return ctx.call('tfl_avg_pool_s8', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(p)]);
  return ctx.call('tfl_pool', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(p), ctx.i32(s.op.startsWith('max') ? 1 : 0),
    ctx.i32(elementBytes(s.out as BufferRef)), ctx.f32(float ? s.actMin : 0), ctx.f32(float ? s.actMax : 0)]);
}
