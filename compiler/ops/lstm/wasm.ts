/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM: WASM emission. lstm_f32 in lstmFloat's order, exp and tanh in double (fdlibm, as V8);
 * lstm_s8 through tfl_lstm_s8 (runtime/kernels/lstm_q.ts), lstmInt8's integer operations one for one.
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { LstmF32Step, LstmS8Step } from './index.js';

const ACT: Record<string, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 };

/** The four gate pre-activations of one time step (float32; the int8 kernel needs none). */
export const lstmScratchBytes = (s: LstmF32Step | LstmS8Step): number => (s.op === 'lstm_f32' ? 16 * s.units : 0);

export function emitLstmWasm(s: LstmF32Step | LstmS8Step, ctx: WasmEmitContext): Expr {
  const { batches: B, steps: N, inputs: I, units: U } = s;
  const [h, c] = s.aux ?? [];
  if (!h || !c || h.length !== B * U || c.length !== B * U || s.in.length !== B * N * I || s.out.length !== B * N * U) fail(`program step '${s.name}': lstm buffers do not match`);
  const io = [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(ctx.addr(h as BufferRef)), ctx.i32(ctx.addr(c as BufferRef))];
  if (s.op === 'lstm_s8') {
    if (h.dtype !== 'int8' || c.dtype !== 'int16') fail(`program step '${s.name}': lstm_s8 needs an int8 output state and an int16 cell state`);
    const p = ctx.data(bytesOf(Int32Array.from([B, N, I, U, s.timeMajor ? 1 : 0, s.cifg ? 1 : 0, ...s.gateMultipliers, ...s.gateShifts,
      s.hiddenMultiplier, s.hiddenShift, s.hiddenZeroPoint, 30 + s.cellScalePower, 15 + s.cellScalePower, s.cellClip])), `${s.name}.params`);
    return ctx.call('tfl_lstm_s8', [...io,
      ctx.i32(ctx.data(bytesOf(s.inputWeights), `${s.name}.w`)), ctx.i32(ctx.data(bytesOf(s.recurrentWeights), `${s.name}.r`)),
      ctx.i32(ctx.data(bytesOf(s.inputBias), `${s.name}.bx`)), ctx.i32(ctx.data(bytesOf(s.recurrentBias), `${s.name}.bh`)), ctx.i32(p)]);
  }
  const p = ctx.data(bytesOf(Int32Array.from([B, N, I, U, s.timeMajor ? 1 : 0, s.cifg ? 1 : 0, ACT[s.activation] ?? 0])), `${s.name}.params`);
  return ctx.call('tfl_lstm_f32', [...io,
    ctx.i32(ctx.data(bytesOf(s.inputWeights), `${s.name}.w`)), ctx.i32(ctx.data(bytesOf(s.recurrentWeights), `${s.name}.r`)), ctx.i32(ctx.data(bytesOf(s.bias), `${s.name}.b`)),
    ctx.i32(p), ctx.f32(s.cellClip), ctx.i32(ctx.scratch(lstmScratchBytes(s))),
  ]);
}
