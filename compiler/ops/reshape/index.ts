/** Reshape (row-major data unchanged) and slicing along the last dimension. */
import { fail } from '../../errors.js';
import type { CopyStep, GatherStep } from '../../plan/program.js';
import { registerOp, registerStep, size } from '../registry.js';

export interface ReshapeAttrs { shape: number[] }

registerOp<ReshapeAttrs>('reshape', {
  shape: ([x], a, where) => {
    if (size(x) !== size(a.shape)) fail(`${where}: cannot reshape [${x}] (${size(x)} values) to [${a.shape}]`);
    return [a.shape];
  },
  reference: ([x]) => [x.slice()],
  lowerFloat: () => 'alias',
  lowerInt8: () => 'alias',
});

registerStep<CopyStep>('copy', (s, mem) => {
  const bytes = s.in.length * (s.in.dtype === 'int8' ? 1 : 4);
  new Uint8Array(mem.spaces[s.out.space], s.out.offset, bytes).set(new Uint8Array(mem.spaces[s.in.space], s.in.offset, bytes));
});

/** Picks `indices` along dimension `axis` (e.g. prediction_channel_indices, or a leading range). */
export interface GatherAttrs { axis: number; indices: number[] }

registerOp<GatherAttrs>('gather', {
  shape: ([x], a, where) => {
    const n = x[a.axis];
    if (a.indices.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) fail(`${where}: indices [${a.indices}] are out of range for a dimension of ${n}`);
    const out = x.slice();
    out[a.axis] = a.indices.length;
    return [out];
  },
  reference: ([x], [s], a) => [gatherReference(x, s, a)],
  lowerFloat: (n, ctx) => ({ op: 'gather', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0], 'float32'), shape: ctx.shape(n.inputs[0]), axis: n.attrs.axis, indices: n.attrs.indices }),
  lowerInt8: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    ctx.fixParams(n.outputs[0], ctx.params(n.inputs[0]));
    return { op: 'gather', name: n.name, in: input, out: ctx.write(n.outputs[0]), shape: ctx.shape(n.inputs[0]), axis: n.attrs.axis, indices: n.attrs.indices };
  },
});

export function gatherReference<T extends Float32Array | Int8Array>(x: T, s: number[], a: GatherAttrs): T {
  const inner = s.slice(a.axis + 1).reduce((p, d) => p * d, 1);
  const outer = s.slice(0, a.axis).reduce((p, d) => p * d, 1);
  const n = s[a.axis], k = a.indices.length;
  const y = new (x.constructor as new (len: number) => T)(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) y.set(x.subarray((o * n + a.indices[j]) * inner, (o * n + a.indices[j] + 1) * inner), (o * k + j) * inner);
  }
  return y;
}

registerStep<GatherStep>('gather', (s, mem) => {
  const view = s.in.dtype === 'int8' ? mem.i8.bind(mem) : mem.f32.bind(mem);
  view(s.out).set(gatherReference(view(s.in), s.shape, s));
});
