/**
 * Patching of a time series [L, C] into [C, num_patches, patch_length]: num_patches =
 * (max(L, p) - p) / stride + 1 windows taken from the end of the series (the first L - used steps
 * are dropped), as TinyTimeMixer / PatchTST do.
 */
import { fail } from '../../errors.js';
import type { PatchifyF32Step } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

export interface PatchifyAttrs { patchLength: number; stride: number }

export function patchCount(length: number, a: PatchifyAttrs): number {
  return Math.floor((Math.max(length, a.patchLength) - a.patchLength) / a.stride) + 1;
}

export function patchifyReference(x: Float32Array, L: number, C: number, a: PatchifyAttrs): Float32Array {
  const np = patchCount(L, a);
  const start = L - (a.patchLength + a.stride * (np - 1));
  const y = new Float32Array(C * np * a.patchLength);
  for (let c = 0; c < C; c++) for (let p = 0; p < np; p++) for (let t = 0; t < a.patchLength; t++) {
    y[(c * np + p) * a.patchLength + t] = x[(start + p * a.stride + t) * C + c];
  }
  return y;
}

registerOp<PatchifyAttrs>('patchify', {
  shape: ([x], a, where) => {
    if (x.length !== 2) fail(`${where}: patching needs a [time, channels] input, got [${x}]`);
    if (x[0] < a.patchLength) fail(`${where}: context of ${x[0]} steps is shorter than patch_length ${a.patchLength}`);
    return [[x[1], patchCount(x[0], a), a.patchLength]];
  },
  reference: ([x], [[L, C]], a) => [patchifyReference(x, L, C, a)],
  lowerFloat: (n, ctx) => {
    const [length, channels] = ctx.shape(n.inputs[0]);
    return {
      op: 'patchify_f32', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0], 'float32'),
      length, channels, patchLength: n.attrs.patchLength, stride: n.attrs.stride, patches: patchCount(length, n.attrs),
    };
  },
});

registerStep<PatchifyF32Step>('patchify_f32', (s, mem) => mem.f32(s.out).set(patchifyReference(mem.f32(s.in), s.length, s.channels, s)));
