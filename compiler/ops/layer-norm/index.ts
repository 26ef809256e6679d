/** LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance). */
import { fail } from '../../errors.js';
import type { LayerNormF32Step, LayerNormS8Step } from '../../plan/program.js';
import { roundToInt8 } from '../../quant/fixedpoint.js';
import type { ProgramMemory } from '../../exec/memory.js';
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
  lowerInt8: (n, ctx) => {
    const f = Math.fround;
    const input = ctx.read(n.inputs[0]);
    const features = n.attrs.weight.length;
    const pin = ctx.params(n.inputs[0]), pout = ctx.params(n.outputs[0]);
    const gain = Float32Array.from(n.attrs.weight, (w) => f(w / pout.scale));
    const offset = Float32Array.from({ length: features }, (_, i) => f(f((n.attrs.bias ? n.attrs.bias[i] : 0) / pout.scale) + pout.zeroPoint));
    return {
      op: 'layer_norm_s8', name: n.name, in: input, out: ctx.write(n.outputs[0]), rows: input.length / features, features,
      inZeroPoint: pin.zeroPoint, inScale: f(pin.scale), inScaleSq: f(pin.scale * pin.scale), eps: f(n.attrs.eps), gain, offset,
    };
  },
  parameters: (a) => a.weight.length + (a.bias?.length ?? 0),
});

registerStep<LayerNormF32Step>('layer_norm_f32', (s, mem) => mem.f32(s.out).set(layerNormReference(mem.f32(s.in), s)));

/** The integer-input LayerNorm of plan/program.ts, float32 in the documented order. */
export function executeLayerNormS8(s: LayerNormS8Step, mem: ProgramMemory): void {
  const f = Math.fround;
  const x = mem.i8(s.in), y = mem.i8(s.out), n = s.features;
  for (let r = 0; r < s.rows; r++) {
    const o = r * n;
    let S = 0, Q = 0;
    for (let i = 0; i < n; i++) { const v = x[o + i] - s.inZeroPoint; S += v; Q += v * v; }
    const num = n * Q - S * S; // exact: below 2^53 for any row this compiler emits
    const variance = f(f(num) / f(n * n));
    const mean = f(f(S) / f(n));
    const inv = f(1 / f(Math.sqrt(f(f(variance * s.inScaleSq) + s.eps))));
    const k = f(inv * s.inScale);
    for (let i = 0; i < n; i++) y[o + i] = roundToInt8(f(f(f(f(x[o + i] - s.inZeroPoint) - mean) * k) * s.gain[i]) + s.offset[i]);
  }
}

registerStep<LayerNormS8Step>('layer_norm_s8', executeLayerNormS8);
