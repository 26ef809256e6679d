/** quantize_int / dequantize_int / requantize: WASM emission bit-exact with executeQuantizeInt / executeRequantize. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { QuantizeIntStep, RequantizeStep } from './index.js';

export function emitQuantizeIntWasm(s: QuantizeIntStep, ctx: WasmEmitContext): Expr {
  if (s.in.length !== s.out.length) fail(`program step '${s.name}': ${s.op} needs equal lengths`);
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef)), n = ctx.i32(s.out.length);
  if (s.op === 'quantize_int') {
    if (s.in.dtype !== 'float32' || s.out.dtype === 'float32') fail(`program step '${s.name}': quantize_int is float32 -> integer`);
    return ctx.call('tfl_quantize_int', [x, y, n, ctx.f32(s.scale), ctx.i32(s.zeroPoint), ctx.i32(elementBytes(s.out as BufferRef))]);
  }
  if (s.out.dtype !== 'float32' || s.in.dtype === 'float32') fail(`program step '${s.name}': dequantize_int is integer -> float32`);
  return ctx.call('tfl_dequantize_int', [x, y, n, ctx.f32(s.scale), ctx.i32(s.zeroPoint), ctx.i32(elementBytes(s.in as BufferRef))]);
}

export function emitRequantizeWasm(s: RequantizeStep, ctx: WasmEmitContext): Expr {
  if (s.in.length !== s.out.length || s.in.dtype === 'float32' || s.out.dtype === 'float32') fail(`program step '${s.name}': requantize is integer -> integer of one length`);
  return ctx.call('tfl_requantize', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(s.out.length),
    ctx.i32(elementBytes(s.in as BufferRef)), ctx.i32(elementBytes(s.out as BufferRef)), ctx.i32(s.inZeroPoint), ctx.i32(s.outZeroPoint), ctx.i32(s.multiplier), ctx.i32(s.shift)]);
}
