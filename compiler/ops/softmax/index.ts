/** Softmax over the last dimension (max-subtracted). */
import type { SoftmaxF32Step } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

export function softmaxReference(x: Float32Array, d: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += d) {
    let m = -Infinity;
    for (let i = 0; i < d; i++) m = Math.max(m, x[o + i]);
    let s = 0;
    const e = new Float64Array(d);
    for (let i = 0; i < d; i++) { e[i] = Math.exp(x[o + i] - m); s += e[i]; }
    for (let i = 0; i < d; i++) y[o + i] = e[i] / s;
  }
  return y;
}

registerOp<Record<string, never>>('softmax', {
  shape: ([x]) => [x],
  reference: ([x], [s]) => [softmaxReference(x, s[s.length - 1])],
  lowerFloat: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const shape = ctx.shape(n.inputs[0]);
    const features = shape[shape.length - 1];
    return { op: 'softmax_f32', name: n.name, in: input, out: ctx.write(n.outputs[0], 'float32'), rows: input.length / features, features };
  },
});

registerStep<SoftmaxF32Step>('softmax_f32', (s, mem) => mem.f32(s.out).set(softmaxReference(mem.f32(s.in), s.features)));
