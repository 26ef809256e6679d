/**
 * BatchNorm in inference form over the last dimension, folded at import time into a per-feature
 * affine map: y = x * scale + shift, scale = weight / sqrt(running_var + eps), shift = bias - mean * scale.
 */
import { fail } from '../../errors.js';
import type { AffineF32Step, AffineS8Step } from '../../plan/program.js';
import type { ProgramMemory } from '../../exec/memory.js';
import { clampInt8, multiplyByQuantizedMultiplier, quantizeMultiplierCompact } from '../../quant/fixedpoint.js';
import { registerOp, registerStep } from '../registry.js';

export interface AffineAttrs {
  scale: Float32Array;
  shift: Float32Array;
}

export function foldBatchNorm(weight: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): AffineAttrs {
  const scale = new Float32Array(weight.length), shift = new Float32Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    const s = weight[i] / Math.sqrt(variance[i] + eps);
    scale[i] = s;
    shift[i] = bias[i] - mean[i] * s;
  }
  return { scale, shift };
}

export function affineReference(x: Float32Array, a: AffineAttrs): Float32Array {
  const d = a.scale.length, y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * a.scale[i % d] + a.shift[i % d];
  return y;
}

registerOp<AffineAttrs>('affine', {
  shape: ([x], a, where) => {
    if (x[x.length - 1] !== a.scale.length) fail(`${where}: per-feature affine over ${a.scale.length} features but the input's last dimension is ${x[x.length - 1]}`);
    return [x];
  },
  reference: ([x], _s, a) => [affineReference(x, a)],
  lowerFloat: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const features = n.attrs.scale.length;
    return { op: 'affine_f32', name: n.name, in: input, out: ctx.write(n.outputs[0], 'float32'), rows: input.length / features, features, scale: n.attrs.scale, shift: n.attrs.shift };
  },
  lowerInt8: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const features = n.attrs.scale.length;
    const pin = ctx.params(n.inputs[0]), pout = ctx.params(n.outputs[0]);
    const weights = new Int8Array(features), bias = new Int32Array(features), multiplier = new Int32Array(features), shift = new Int32Array(features);
    for (let c = 0; c < features; c++) {
      const w = n.attrs.scale[c];
      const ws = w !== 0 ? Math.fround(Math.abs(w) / 127) : 1;
      weights[c] = Math.round(w / ws);
      bias[c] = Math.round(n.attrs.shift[c] / (pin.scale * ws));
      const q = quantizeMultiplierCompact((pin.scale * ws) / pout.scale);
      multiplier[c] = q.multiplier;
      shift[c] = q.shift;
    }
    return { op: 'affine_s8', name: n.name, in: input, out: ctx.write(n.outputs[0]), rows: input.length / features, features, inZeroPoint: pin.zeroPoint, weights, bias, multiplier, shift, outZeroPoint: pout.zeroPoint };
  },
  parameters: (a) => 2 * a.scale.length,
});

registerStep<AffineF32Step>('affine_f32', (s, mem) => mem.f32(s.out).set(affineReference(mem.f32(s.in), s)));

export function executeAffineS8(s: AffineS8Step, mem: ProgramMemory): void {
  const x = mem.i8(s.in), y = mem.i8(s.out), d = s.features;
  for (let i = 0; i < s.rows * d; i++) {
    const c = i % d;
    y[i] = clampInt8(multiplyByQuantizedMultiplier((x[i] - s.inZeroPoint) * s.weights[c] + s.bias[c], s.multiplier[c], s.shift[c]) + s.outZeroPoint);
  }
}

registerStep<AffineS8Step>('affine_s8', executeAffineS8);
