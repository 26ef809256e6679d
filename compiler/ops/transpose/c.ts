/** Transpose: C emission (pure data movement, any element type; nested loops over the output). */
import { fail } from '../../errors.js';
import type { TransposeStep } from '../../plan/program.js';
import { elementCount } from '../../plan/program.js';
import { type CStepEmission } from '../../backends/c/cformat.js';
import { cElemType } from '../../backends/c/helpers.js';

/** `static void <fn>(const T *x, T *y)`. Size-1 dimensions are dropped and runs of input-contiguous output dims merged. */
export function emitTransposeC(s: TransposeStep, fn: string): CStepEmission {
  const rank = s.shape.length;
  if (s.perm.length !== rank || [...s.perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(`${s.name}: bad permutation [${s.perm}]`);
  if (s.in.dtype !== s.out.dtype) fail(`${s.name}: transpose keeps the element type`);
  const total = elementCount(s.shape);
  if (s.in.length !== total || s.out.length !== total) fail(`${s.name}: buffers do not hold [${s.shape}]`);
  const T = cElemType(s.in.dtype);
  const inStride: number[] = new Array<number>(rank);
  let st = 1;
  for (let d = rank - 1; d >= 0; d--) { inStride[d] = st; st *= s.shape[d]; }
  // output dims in order: (extent, input stride); drop size-1, merge a dim into the next when contiguous
  const dims: Array<[number, number]> = [];
  for (const p of s.perm) if (s.shape[p] !== 1) dims.push([s.shape[p], inStride[p]]);
  const merged: Array<[number, number]> = [];
  for (const [n, stride] of dims) {
    const last = merged[merged.length - 1];
    if (last && last[1] === n * stride) { last[0] *= n; last[1] = stride; } else merged.push([n, stride]);
  }
  let code = `/* ${s.name}: transpose [${s.shape}] by [${s.perm}], ${s.in.dtype} */\n`;
  if (merged.length <= 1 && (merged[0]?.[1] ?? 1) === 1) {
    code += `static void ${fn}(const ${T} *x, ${T} *y) {\n  memcpy(y, x, ${total * (T === 'int8_t' ? 1 : 4)});\n}\n`;
    return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
  }
  if (merged.length === 2) {
    // one shared 2-D gather loop per element type; the step is a one-line wrapper
    const h = `tf_tr2_${T}`;
    code += `static void ${fn}(const ${T} *x, ${T} *y) {\n  ${h}(x, y, ${merged[0][0]}, ${merged[0][1]}, ${merged[1][0]}, ${merged[1][1]});\n}\n`;
    const helper = `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ${h}(const ${T} *x, ${T} *y, int32_t n0, int32_t s0, int32_t n1, int32_t s1) {
  int32_t i0, i1;
  for (i0 = 0; i0 < n0; i0++) {
    const ${T} *p = x + i0 * s0;
    for (i1 = 0; i1 < n1; i1++) {
      *y++ = *p;
      p += s1;
    }
  }
}
`;
    return { helpers: { [h]: helper }, includes: ['stdint.h'], code };
  }
  const idx = merged.map((_, k) => `i${k}`);
  let body = '';
  let indent = '  ';
  merged.forEach(([n], k) => { body += `${indent}for (i${k} = 0; i${k} < ${n}; i${k}++) {\n`; indent += '  '; });
  const src = merged.map(([, stride], k) => (stride === 1 ? idx[k] : `${idx[k]} * ${stride}`)).join(' + ');
  body += `${indent}*y++ = x[${src}];\n`;
  for (let k = merged.length - 1; k >= 0; k--) { indent = indent.slice(2); body += `${indent}}\n`; }
  code += `static void ${fn}(const ${T} *x, ${T} *y) {\n  int32_t ${idx.join(', ')};\n${body}}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}
