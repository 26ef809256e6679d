/**
 * Patching of a time series [L, C] into [C, num_patches, patch_length]: num_patches =
 * (max(L, p) - p) / stride + 1 windows taken from the end of the series (the first L - used steps
 * are dropped), as TinyTimeMixer / PatchTST do.
 */
import { fail } from '../../errors.js';
import { registerOp } from '../registry.js';

export interface PatchifyAttrs { patchLength: number; stride: number }

export function patchCount(length: number, a: PatchifyAttrs): number {
  return Math.floor((Math.max(length, a.patchLength) - a.patchLength) / a.stride) + 1;
}

registerOp<PatchifyAttrs>('patchify', {
  shape: ([x], a, where) => {
    if (x.length !== 2) fail(`${where}: patching needs a [time, channels] input, got [${x}]`);
    if (x[0] < a.patchLength) fail(`${where}: context of ${x[0]} steps is shorter than patch_length ${a.patchLength}`);
    return [[x[1], patchCount(x[0], a), a.patchLength]];
  },
  reference: ([x], [[L, C]], a) => {
    const np = patchCount(L, a);
    const start = L - (a.patchLength + a.stride * (np - 1));
    const y = new Float32Array(C * np * a.patchLength);
    for (let c = 0; c < C; c++) for (let p = 0; p < np; p++) for (let t = 0; t < a.patchLength; t++) {
      y[(c * np + p) * a.patchLength + t] = x[(start + p * a.stride + t) * C + c];
    }
    return [y];
  },
});
