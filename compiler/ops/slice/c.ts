/** slice_rows / concat_rows: C emission (data movement, float32 or int8, byte copies). */
import { fail } from '../../errors.js';
import { bytesPerElement } from '../../plan/program.js';
import { type CStepEmission } from '../../backends/c/cformat.js';
import { cElemType } from '../../backends/c/helpers.js';
import type { ConcatStep, SliceStep } from './index.js';

/** `static void <fn>(const T *x, T *y)`: y = x[offset .. offset + out.length). */
export function emitSliceRowsC(s: SliceStep, fn: string): CStepEmission {
  if (s.in.dtype !== s.out.dtype) fail(`${s.name}: slice_rows keeps the element type`);
  if (!Number.isInteger(s.offset) || s.offset < 0 || s.offset + s.out.length > s.in.length) fail(`${s.name}: slice_rows elements ${s.offset}..${s.offset + s.out.length - 1} are outside the ${s.in.length} input elements`);
  const T = cElemType(s.in.dtype);
  const code = `/* ${s.name}: slice ${s.out.length} of ${s.in.length} ${s.in.dtype} from element ${s.offset} */
static void ${fn}(const ${T} *x, ${T} *y) {
  memcpy(y, x + ${s.offset}, ${s.out.length * bytesPerElement(s.out.dtype)});
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
}

/** `static void <fn>(const T *x0, T *y, const T *x1, ...)`: y = x0 ++ x1 ++ ... */
export function emitConcatRowsC(s: ConcatStep, fn: string): CStepEmission {
  const parts = [s.in, ...(s.aux ?? [])];
  if (parts.length < 2) fail(`${s.name}: concat_rows needs 2+ operands`);
  if (parts.some((r) => r.dtype !== s.out.dtype)) fail(`${s.name}: concat_rows operands must all be ${s.out.dtype}`);
  const total = parts.reduce((n, r) => n + r.length, 0);
  if (total !== s.out.length) fail(`${s.name}: concat_rows operands hold ${total} elements, the output ${s.out.length}`);
  const T = cElemType(s.out.dtype), b = bytesPerElement(s.out.dtype);
  const args = parts.map((_, k) => `const ${T} *x${k}`);
  let body = '', at = 0;
  parts.forEach((r, k) => { body += `  memcpy(y + ${at}, x${k}, ${r.length * b});\n`; at += r.length; });
  const code = `/* ${s.name}: concat ${parts.map((r) => r.length).join(' + ')} ${s.out.dtype} */
static void ${fn}(${args[0]}, ${T} *y${args.slice(1).map((a) => `, ${a}`).join('')}) {
${body}}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
}
