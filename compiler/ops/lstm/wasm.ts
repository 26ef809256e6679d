/** UNIDIRECTIONAL_SEQUENCE_LSTM (float32): WASM emission in lstmFloat's order; exp and tanh in double (fdlibm, as V8). */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { LstmF32Step } from './index.js';

const ACT: Record<string, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 };

/** The four gate pre-activations of one time step. */
export const lstmScratchBytes = (s: LstmF32Step): number => 16 * s.units;

export function emitLstmWasm(s: LstmF32Step, ctx: WasmEmitContext): Expr {
  const { batches: B, steps: N, inputs: I, units: U } = s;
  const [h, c] = s.aux ?? [];
  if (!h || !c || h.length !== B * U || c.length !== B * U || s.in.length !== B * N * I || s.out.length !== B * N * U) fail(`program step '${s.name}': lstm buffers do not match`);
  const p = ctx.data(bytesOf(Int32Array.from([B, N, I, U, s.timeMajor ? 1 : 0, s.cifg ? 1 : 0, ACT[s.activation] ?? 0])), `${s.name}.params`);
  return ctx.call('tfl_lstm_f32', [
    ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(ctx.addr(h as BufferRef)), ctx.i32(ctx.addr(c as BufferRef)),
    ctx.i32(ctx.data(bytesOf(s.inputWeights), `${s.name}.w`)), ctx.i32(ctx.data(bytesOf(s.recurrentWeights), `${s.name}.r`)), ctx.i32(ctx.data(bytesOf(s.bias), `${s.name}.b`)),
    ctx.i32(p), ctx.f32(s.cellClip), ctx.i32(ctx.scratch(lstmScratchBytes(s))),
  ]);
}
