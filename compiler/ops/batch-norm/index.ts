/**
 * BatchNorm in inference form over the last dimension, folded at import time into a per-feature
 * affine map: y = x * scale + shift, scale = weight / sqrt(running_var + eps), shift = bias - mean * scale.
 */
import { fail } from '../../errors.js';
import type { AffineF32Step } from '../../plan/program.js';
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
  parameters: (a) => 2 * a.scale.length,
});

registerStep<AffineF32Step>('affine_f32', (s, mem) => mem.f32(s.out).set(affineReference(mem.f32(s.in), s)));
