/** Softmax over the last dimension (max-subtracted). */
import type { SoftmaxF32Step, SoftmaxS8Step } from '../../plan/program.js';
import type { ProgramMemory } from '../../exec/memory.js';
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
  lowerInt8: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    const shape = ctx.shape(n.inputs[0]);
    const features = shape[shape.length - 1];
    const s = ctx.params(n.inputs[0]).scale;
    ctx.fixParams(n.outputs[0], SOFTMAX_OUTPUT);
    return { op: 'softmax_s8', name: n.name, in: input, out: ctx.write(n.outputs[0]), rows: input.length / features, features, base: Math.fround(Math.exp(-s)) };
  },
});

registerStep<SoftmaxF32Step>('softmax_f32', (s, mem) => mem.f32(s.out).set(softmaxReference(mem.f32(s.in), s.features)));

/** Softmax outputs in [0, 1] use TFLite's fixed int8 parameters. */
export const SOFTMAX_OUTPUT = { scale: 1 / 256, zeroPoint: -128 };

/** The run-time exp table of softmax_s8: t[k] = base^k by repeated float32 multiplication. */
export function softmaxTable(base: number): Float32Array {
  const t = new Float32Array(256);
  t[0] = 1;
  for (let k = 1; k < 256; k++) t[k] = t[k - 1] < Math.fround(1e-30) ? 0 : Math.fround(t[k - 1] * base);
  return t;
}

export function executeSoftmaxS8(s: SoftmaxS8Step, mem: ProgramMemory): void {
  const f = Math.fround;
  const table = softmaxTable(s.base);
  const x = mem.i8(s.in), y = mem.i8(s.out), n = s.features;
  for (let r = 0; r < s.rows; r++) {
    const o = r * n;
    let m = -128;
    for (let i = 0; i < n; i++) if (x[o + i] > m) m = x[o + i];
    let sum = 0;
    for (let i = 0; i < n; i++) sum = f(sum + table[m - x[o + i]]);
    const inv = f(1 / sum);
    for (let i = 0; i < n; i++) {
      const t = f(f(table[m - x[o + i]] * inv) * 256);
      const v = Math.trunc(f(t + 0.5)) - 128;
      y[o + i] = v > 127 ? 127 : v < -128 ? -128 : v;
    }
  }
}

registerStep<SoftmaxS8Step>('softmax_s8', executeSoftmaxS8);
