/** What a per-op WASM emitter (compiler/ops/<op>/wasm.ts) gets from the backend framework. */
import type { BufferRef } from '../../plan/program.js';

/** A binaryen ExpressionRef. */
export type Expr = number;

export interface WasmEmitContext {
  /** absolute linear-memory address of a program buffer */
  addr(ref: BufferRef): number;
  /** places constant bytes in a data segment (16-byte aligned) and returns their address */
  data(bytes: Uint8Array, label: string): number;
  /**
   * address of the scratch region (16-byte aligned, shared by all steps, contents undefined between calls);
   * the step's needs must have been declared through wasmScratchBytes in compiler/backends/wasm/index.ts
   */
  scratch(bytes: number): number;
  i32(v: number): Expr;
  f32(v: number): Expr;
  f64(v: number): Expr;
  /** an empty statement (steps with nothing to do) */
  nop(): Expr;
  /** calls a kernel from build/kernels.wasm by its export name (runtime/kernels/index.ts) */
  call(kernel: string, args: Expr[]): Expr;
  /** several statements run in order (a step made of more than one kernel call; the model linker provides it) */
  block?(exprs: Expr[]): Expr;
  /**
   * whether `call` can reach this kernel: contexts that replay a fixed kernel set (the MPC controller's recorder,
   * compiler/mpc/wasm.ts) say so, and emitters then pick another kernel; absent = every kernel of build/kernels.wasm
   */
  supports?(kernel: string): boolean;
}

export function bytesOf(a: Int8Array | Int16Array | Int32Array | Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Byte size of one element of a buffer. */
export function elementBytes(ref: BufferRef): number {
  return ref.dtype === 'int8' ? 1 : ref.dtype === 'int16' ? 2 : 4;
}
