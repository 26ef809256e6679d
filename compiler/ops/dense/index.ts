/**
 * Dense (fully connected) layer with a fused activation: y = act(W x + b), W row-major [out][in].
 * This module owns the op's shape rule, float reference, int8 lowering and the TS integer kernel
 * (the oracle); c.ts and wasm.ts own its code emission for each backend.
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Activation, DenseF32Step, DenseS4Step, DenseS8Step } from '../../plan/program.js';
import { lowerDenseS8, unpackInt4 } from './quantize.js';
import { multiplyByQuantizedMultiplier } from '../../quant/fixedpoint.js';
import { applyActivation } from '../activation.js';
import { registerOp, registerStep } from '../registry.js';

export interface DenseAttrs {
  inFeatures: number;
  outFeatures: number;
  weights: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

export function denseOutputShape(inputShape: readonly number[], attrs: DenseAttrs, where: string): number[] {
  const last = inputShape[inputShape.length - 1];
  if (last !== attrs.inFeatures) {
    fail(`${where}: dense layer expects ${attrs.inFeatures} input features but receives ${last}; check the layer sizes in config.json`);
  }
  return [...inputShape.slice(0, -1), attrs.outFeatures];
}

/** Float reference over every row of x (leading dims flattened): double accumulation, float32 out. */
export function denseReference(x: Float32Array, a: DenseAttrs): Float32Array {
  const rows = x.length / a.inFeatures;
  const y = new Float32Array(rows * a.outFeatures);
  for (let r = 0; r < rows; r++) {
    const xo = r * a.inFeatures, yo = r * a.outFeatures;
    for (let o = 0; o < a.outFeatures; o++) {
      let acc = a.bias[o];
      const row = o * a.inFeatures;
      for (let i = 0; i < a.inFeatures; i++) acc += a.weights[row + i] * x[xo + i];
      y[yo + o] = applyActivation(a.activation, acc);
    }
  }
  return y;
}

registerOp<DenseAttrs>('dense', {
  shape: ([x], a, where) => [denseOutputShape(x, a, where)],
  lowerFloat: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const rows = input.length / n.attrs.inFeatures;
    return { op: 'dense_f32', name: n.name, in: input, out: ctx.write(n.outputs[0], 'float32'), rows, ...n.attrs };
  },
  lowerInt8: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const node = { op: 'dense' as const, ...n };
    const p = { input: ctx.params(n.inputs[0]), preActivation: ctx.preActivation(n.name), output: ctx.params(n.outputs[0]) };
    return lowerDenseS8(node, input, ctx.write(n.outputs[0]), p, input.length / n.attrs.inFeatures, ctx.weightBits);
  },
  reference: ([x], _s, a) => [denseReference(x, a)],
  parameters: (a) => a.weights.length + a.bias.length,
  macs: ([x], a) => (x.reduce((p, d) => p * d, 1) / a.inFeatures) * a.inFeatures * a.outFeatures,
});

export function executeDenseF32(step: DenseF32Step, mem: ProgramMemory): void {
  mem.f32(step.out).set(denseReference(mem.f32(step.in), step));
}

/** The int8 kernel every backend must match bit for bit. */
export function executeDenseS8(step: DenseS8Step, mem: ProgramMemory): void {
  const x = mem.i8(step.in);
  const y = mem.i8(step.out);
  const { inFeatures: n, weights: w, bias, multiplier, shift, outZeroPoint, actMin, actMax, lut } = step;
  const m = step.outFeatures;
  for (let r = 0; r < (step.rows ?? 1); r++) {
    for (let o = 0; o < m; o++) {
      let acc = bias[o];
      const row = o * n;
      for (let i = 0; i < n; i++) acc += w[row + i] * x[r * n + i];
      let v = multiplyByQuantizedMultiplier(acc | 0, multiplier[o], shift[o]) + outZeroPoint;
      v = v < actMin ? actMin : v > actMax ? actMax : v;
      if (lut) v = lut[v + 128];
      y[r * m + o] = v;
    }
  }
}

/** int4 weights: unpacked once, then exactly the int8 kernel. */
export function executeDenseS4(step: DenseS4Step, mem: ProgramMemory): void {
  executeDenseS8({ ...step, op: 'dense_s8', weights: unpackInt4(step.weights, step.outFeatures, step.inFeatures) }, mem);
}

registerStep<DenseF32Step>('dense_f32', executeDenseF32);
registerStep<DenseS8Step>('dense_s8', executeDenseS8);
registerStep<DenseS4Step>('dense_s4', executeDenseS4);
