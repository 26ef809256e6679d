/** WASM emission for quantize/dequantize: one call into runtime/kernels/quantize.ts. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import type { DequantizeStep, QuantizeStep } from '../../plan/program.js';

export function emitQuantizeWasm(step: QuantizeStep, ctx: WasmEmitContext): Expr {
  return ctx.call('quantize', [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.out.length), ctx.f32(step.scale), ctx.i32(step.zeroPoint)]);
}

export function emitDequantizeWasm(step: DequantizeStep, ctx: WasmEmitContext): Expr {
  return ctx.call('dequantize', [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.out.length), ctx.f32(step.scale), ctx.i32(step.zeroPoint)]);
}
