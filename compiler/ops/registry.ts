/**
 * The op registry: for every graph op, the one place that knows its shape rule and float reference.
 * (Quantized lowering and per-backend emission live beside it in the op's folder.)
 */
import { fail } from '../errors.js';

export interface OpDef<A = unknown> {
  /** output shapes from input shapes; `where` prefixes error messages */
  shape(inputs: number[][], attrs: A, where: string): number[][];
  /** float32 reference evaluation (double inside, float32 out) */
  reference(inputs: Float32Array[], shapes: number[][], attrs: A): Float32Array[];
  /** learned parameters the op carries */
  parameters?(attrs: A): number;
  /** multiply-accumulates per evaluation */
  macs?(inputs: number[][], attrs: A): number;
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
