/** LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance). */
import { fail } from '../../errors.js';
import type { LayerNormF32Step } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

export interface LayerNormAttrs {
  eps: number;
  weight: Float32Array;
  /** null for bias-free norms (OLMo style) */
  bias: Float32Array | null;
}

export function layerNormReference(x: Float32Array, a: LayerNormAttrs): Float32Array {
  const d = a.weight.length, rows = x.length / d, y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[o + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + a.eps);
    for (let i = 0; i < d; i++) y[o + i] = (x[o + i] - mean) * inv * a.weight[i] + (a.bias ? a.bias[i] : 0);
  }
  return y;
}

registerOp<LayerNormAttrs>('layer_norm', {
  shape: ([x], a, where) => {
    if (x[x.length - 1] !== a.weight.length) fail(`${where}: LayerNorm over ${a.weight.length} features but the input's last dimension is ${x[x.length - 1]}`);
    return [x];
  },
  reference: ([x], _s, a) => [layerNormReference(x, a)],
  lowerFloat: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const features = n.attrs.weight.length;
    return { op: 'layer_norm_f32', name: n.name, in: input, out: ctx.write(n.outputs[0], 'float32'), rows: input.length / features, features, ...n.attrs };
  },
  parameters: (a) => a.weight.length + (a.bias?.length ?? 0),
});

registerStep<LayerNormF32Step>('layer_norm_f32', (s, mem) => mem.f32(s.out).set(layerNormReference(mem.f32(s.in), s)));
