/** Transpose by a permutation of the dimensions (pure data movement). */
import { fail } from '../../errors.js';
import type { TransposeStep } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

export interface TransposeAttrs { perm: number[] }

export function transposeReference(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) { inStrides[d] = s; s *= shape[d]; }
  const y = new Float32Array(x.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < y.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * inStrides[perm[d]];
    y[o] = x[src];
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < outShape[d]) break; idx[d] = 0; }
  }
  return y;
}

registerOp<TransposeAttrs>('transpose', {
  shape: ([x], a, where) => {
    if (a.perm.length !== x.length || [...a.perm].sort().some((p, i) => p !== i)) fail(`${where}: permutation [${a.perm}] does not fit rank ${x.length}`);
    return [a.perm.map((p) => x[p])];
  },
  reference: ([x], [s], a) => [transposeReference(x, s, a.perm)],
  lowerFloat: (n, ctx) => ({ op: 'transpose', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0], 'float32'), shape: ctx.shape(n.inputs[0]), perm: n.attrs.perm }),
  lowerInt8: (n, ctx) => {
    const input = ctx.read(n.inputs[0]);
    ctx.fixParams(n.outputs[0], ctx.params(n.inputs[0])); // data movement keeps the quantization
    return { op: 'transpose', name: n.name, in: input, out: ctx.write(n.outputs[0]), shape: ctx.shape(n.inputs[0]), perm: n.attrs.perm };
  },
});

/** Works for any element type: moves element indices, so it runs on a typed view of the right width. */
registerStep<TransposeStep>('transpose', (s, mem) => {
  const view = s.in.dtype === 'int8' ? mem.i8.bind(mem) : s.in.dtype === 'int32' ? mem.i32.bind(mem) : mem.f32.bind(mem);
  const x = view(s.in), y = view(s.out);
  const idx = transposeReference(Float32Array.from({ length: x.length }, (_, i) => i), s.shape, s.perm);
  for (let i = 0; i < y.length; i++) y[i] = x[idx[i]];
});
