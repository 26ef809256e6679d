/** What a per-op WASM emitter (compiler/ops/<op>/wasm.ts) gets from the backend framework. */
import type { BufferRef } from '../../plan/program.js';

/** A binaryen ExpressionRef. */
export type Expr = number;

export interface WasmEmitContext {
  /** absolute linear-memory address of a program buffer */
  addr(ref: BufferRef): number;
  /** places constant bytes in a data segment (16-byte aligned) and returns their address */
  data(bytes: Uint8Array, label: string): number;
  i32(v: number): Expr;
  f32(v: number): Expr;
  /** calls a kernel from build/kernels.wasm by its export name (runtime/kernels/index.ts) */
  call(kernel: string, args: Expr[]): Expr;
}

export function bytesOf(a: Int8Array | Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
