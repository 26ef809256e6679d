/**
 * The op registry: for every graph op, the one place that knows its shape rule and float reference.
 * (Quantized lowering and per-backend emission live beside it in the op's folder.)
 */
import { fail } from '../errors.js';
import type { ProgramMemory } from '../exec/memory.js';
import type { BufferRef, DType, QuantParams, Step } from '../plan/program.js';

/** What an op's float lowering gets: buffers for the node's values at the current step. */
export interface LowerCtx {
  /** the buffer of a value this step reads */
  read(value: string): BufferRef;
  /** a new buffer for a value this step writes (the caller's output space for a graph output) */
  write(value: string, dtype: DType): BufferRef;
  shape(value: string): number[];
}

export interface OpDef<A = unknown> {
  /** output shapes from input shapes; `where` prefixes error messages */
  shape(inputs: number[][], attrs: A, where: string): number[][];
  /** float32 reference evaluation (double inside, float32 out) */
  reference(inputs: Float32Array[], shapes: number[][], attrs: A): Float32Array[];
  /** learned parameters the op carries */
  parameters?(attrs: A): number;
  /** multiply-accumulates per evaluation */
  macs?(inputs: number[][], attrs: A): number;
  /** float32 lowering to one program step; 'alias' = the output shares the input's bytes (reshape) */
  lowerFloat?(node: LowerNode<A>, ctx: LowerCtx): Step | 'alias';
  /** int8 lowering (int8 in, int8 out); ops without it run in float32 inside int8 programs */
  lowerInt8?(node: LowerNode<A>, ctx: LowerInt8Ctx): Step | 'alias';
}

export interface LowerNode<A> { name: string; inputs: string[]; outputs: string[]; attrs: A }

/** What an op's int8 lowering gets. */
export interface LowerInt8Ctx {
  /** the int8 buffer of a value (the framework quantizes float values on demand) */
  read(value: string): BufferRef;
  /** a new int8 arena buffer for a value this step writes */
  write(value: string): BufferRef;
  /** calibrated (or fixed) int8 parameters of a value */
  params(value: string): QuantParams;
  /** fixes a value's parameters (e.g. softmax output: 1/256, -128) before it is written */
  fixParams(value: string, q: QuantParams): void;
  /** calibrated range of a dense node's pre-activation, if recorded */
  preActivation(node: string): QuantParams | null;
  shape(value: string): number[];
  /** weight precision of dense layers: 8, or 4 (packed) */
  weightBits: 8 | 4;
}

const ops = new Map<string, OpDef<never>>();

export function registerOp<A>(name: string, def: OpDef<A>): void {
  ops.set(name, def as OpDef<never>);
}

export function opDef(name: string, where: string): OpDef<unknown> {
  const d = ops.get(name);
  if (!d) fail(`${where}: unknown op '${name}'`);
  return d as OpDef<unknown>;
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The TS execution of a program step (the integer/float oracle every backend matches). */
export type StepExecutor = (step: never, mem: ProgramMemory) => void;
const steps = new Map<string, StepExecutor>();

export function registerStep<S extends Step>(op: S['op'], execute: (step: S, mem: ProgramMemory) => void): void {
  steps.set(op, execute as StepExecutor);
}

export function stepExecutor(op: string): (step: Step, mem: ProgramMemory) => void {
  const e = steps.get(op);
  if (!e) fail(`program step op '${op}' has no executor`);
  return e as (step: Step, mem: ProgramMemory) => void;
}
