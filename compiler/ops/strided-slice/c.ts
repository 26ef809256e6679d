/** STRIDED_SLICE: C emission (any element type), the element order of sliceData (index.ts). */
import { fail } from '../../errors.js';
import { elementCount } from '../../plan/program.js';
import type { CStepEmission } from '../../backends/c/cformat.js';
import { cType } from '../../backends/c/tflite-helpers.js';
import type { StridedSliceStep } from './index.js';

export function emitStridedSliceC(s: StridedSliceStep, fn: string): CStepEmission {
  const { inShape, start, stride, counts } = s;
  if (s.in.dtype !== s.out.dtype || elementCount(inShape) !== s.in.length || elementCount(counts) !== s.out.length) fail(`${s.name}: strided_slice buffers do not match`);
  const T = cType(s.out.dtype);
  const rank = inShape.length;
  const inStrides = inShape.map((_, d) => elementCount(inShape.slice(d + 1)));
  let base = 0;
  for (let d = 0; d < rank; d++) base += start[d] * inStrides[d];
  let body = '';
  let idx = `${base}`;
  for (let d = 0; d < rank; d++) {
    body += `${'  '.repeat(d + 1)}for (k${d} = 0; k${d} < ${counts[d]}; k${d}++)\n`;
    idx += ` + k${d} * ${stride[d] * inStrides[d]}`;
  }
  body += `${'  '.repeat(rank + 1)}*y++ = x[${idx}];\n`;
  const decl = rank ? `  int32_t ${Array.from({ length: rank }, (_, d) => `k${d}`).join(', ')};\n` : '';
  const code = `/* ${s.name}: strided slice of [${inShape}], start [${start}], stride [${stride}], counts [${counts}] */
static void ${fn}(const ${T} *x, ${T} *y) {
${decl}${rank ? body : `  *y = x[0];\n`}}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}
