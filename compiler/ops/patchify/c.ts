/** patchify_f32: C emission ([length, channels] -> [channels, patches, patchLength], windows from the end). */
import { fail } from '../../errors.js';
import type { PatchifyF32Step } from '../../plan/program.js';
import { type CStepEmission } from '../../backends/c/cformat.js';

/** `static void <fn>(const float *x, float *y)`, exactly patchifyReference (index.ts). */
export function emitPatchifyF32C(s: PatchifyF32Step, fn: string): CStepEmission {
  const { length: L, channels: C, patchLength: P, stride, patches: np } = s;
  const start = L - (P + stride * (np - 1));
  if (start < 0 || s.in.length !== L * C || s.out.length !== C * np * P) fail(`${s.name}: patchify buffers do not match`);
  const code = `/* ${s.name}: patchify [${L}, ${C}] -> [${C}, ${np}, ${P}], stride ${stride} */
static void ${fn}(const float *x, float *y) {
  int32_t c, p, t;
  for (c = 0; c < ${C}; c++) {
    for (p = 0; p < ${np}; p++) {
      const float *src = x + (${start} + p * ${stride}) * ${C} + c;
      for (t = 0; t < ${P}; t++) *y++ = src[t * ${C}];
    }
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}
