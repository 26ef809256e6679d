/** copy / gather: C emission (data movement, any element type). */
import { fail } from '../../errors.js';
import type { CopyStep, GatherStep } from '../../plan/program.js';
import { bytesPerElement, elementCount } from '../../plan/program.js';
import { cConstArray, type CStepEmission } from '../../backends/c/cformat.js';
import { cElemType } from '../../backends/c/helpers.js';

/** `static void <fn>(const T *x, T *y)`: byte copy (memmove: the spaces may be the same). */
export function emitCopyC(s: CopyStep, fn: string): CStepEmission {
  if (s.in.dtype !== s.out.dtype || s.in.length !== s.out.length) fail(`${s.name}: copy needs equal buffers`);
  const T = cElemType(s.in.dtype);
  const code = `/* ${s.name}: copy ${s.in.length} x ${s.in.dtype} */
static void ${fn}(const ${T} *x, ${T} *y) {
  memmove(y, x, ${s.in.length * bytesPerElement(s.in.dtype)});
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
}

/** `static void <fn>(const T *x, T *y)`: y[o][j][:] = x[o][indices[j]][:]. */
export function emitGatherC(s: GatherStep, fn: string): CStepEmission {
  const { shape, axis, indices } = s;
  if (axis < 0 || axis >= shape.length || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= shape[axis])) fail(`${s.name}: gather indices out of range`);
  if (s.in.dtype !== s.out.dtype) fail(`${s.name}: gather keeps the element type`);
  const inner = elementCount(shape.slice(axis + 1));
  const outer = elementCount(shape.slice(0, axis));
  const n = shape[axis], k = indices.length;
  if (s.in.length !== outer * n * inner || s.out.length !== outer * k * inner) fail(`${s.name}: gather buffers do not match [${shape}]`);
  const T = cElemType(s.in.dtype);
  const bytes = inner * bytesPerElement(s.in.dtype);
  let code = `/* ${s.name}: gather ${k} of ${n} along axis ${axis} of [${shape}], ${s.in.dtype} */\n`;
  code += cConstArray('int32_t', `${fn}_idx`, Int32Array.from(indices));
  code += `static void ${fn}(const ${T} *x, ${T} *y) {
  int32_t o, j;
  for (o = 0; o < ${outer}; o++) {
    for (j = 0; j < ${k}; j++) {
      memcpy(y, x + ${fn}_idx[j] * ${inner}, ${bytes});
      y += ${inner};
    }
    x += ${n * inner};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h'], code };
}
