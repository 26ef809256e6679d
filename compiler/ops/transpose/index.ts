/** Transpose by a permutation of the dimensions (pure data movement). */
import { fail } from '../../errors.js';
import { registerOp } from '../registry.js';

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
});
