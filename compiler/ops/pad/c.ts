/** PAD / PADV2: C emission (any element type), the same element placement as padData (index.ts). */
import { fail } from '../../errors.js';
import { elementCount } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { cI, cType } from '../../backends/c/tflite-helpers.js';
import type { PadStep } from './index.js';

export function emitPadC(s: PadStep, fn: string): CStepEmission {
  const { inShape, outShape, before } = s;
  if (s.in.dtype !== s.out.dtype || elementCount(inShape) !== s.in.length || elementCount(outShape) !== s.out.length) fail(`${s.name}: pad buffers do not match [${inShape}] -> [${outShape}]`);
  const T = cType(s.out.dtype);
  const rank = inShape.length;
  const pv = s.out.dtype === 'float32' ? cFloat(s.padValue) : cI(s.padValue);
  // copy runs of the innermost dimension: nested loops over the outer input dims
  const outStrides = outShape.map((_, d) => elementCount(outShape.slice(d + 1)));
  const inner = rank ? inShape[rank - 1] : 1;
  let base = 0;
  for (let d = 0; d < rank; d++) base += before[d] * outStrides[d];
  let loops = '', close = '', idx = `${base}`;
  for (let d = 0; d < rank - 1; d++) {
    loops += `${'  '.repeat(d + 1)}for (i${d} = 0; i${d} < ${inShape[d]}; i${d}++)${d === rank - 2 ? '' : ' {'}\n`;
    if (d !== rank - 2) close = `${'  '.repeat(d + 1)}}\n` + close;
    idx += ` + i${d} * ${outStrides[d]}`;
  }
  const decl = rank > 1 ? `  int32_t ${Array.from({ length: rank - 1 }, (_, d) => `i${d}`).join(', ')};\n` : '';
  const ind = '  '.repeat(Math.max(1, rank));
  const code = `/* ${s.name}: pad [${inShape}] -> [${outShape}], ${s.out.dtype}, value ${s.padValue} */
static void ${fn}(const ${T} *x, ${T} *y) {
  int32_t k;
${decl}  for (k = 0; k < ${s.out.length}; k++) y[k] = ${pv};
${loops}${ind}{
${ind}  memcpy(y + ${idx}, x, ${inner} * sizeof(${T}));
${ind}  x += ${inner};
${ind}}
${close}}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
}
