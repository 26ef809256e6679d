/** Transpose: C emission (pure data movement, any element type; nested loops over the output). */
import { fail } from '../../errors.js';
import type { TransposeStep } from '../../plan/program.js';
import { elementCount } from '../../plan/program.js';
import { type CStepEmission } from '../../backends/c/cformat.js';
import { asmFunctionC, cElemType } from '../../backends/c/helpers.js';

/** The shared 2-D gather loop for element type T. */
function tr2Helper(T: string): string {
  return `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_tr2_${T}(const ${T} *x, ${T} *y, int32_t n0, int32_t s0, int32_t n1, int32_t s1) {
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
}

/** int8 [R, C] -> [C, R], R and C multiples of 4: per 4x4 block 4 LDR, 16 ALU (UXTB16 / PKHBT / PKHTB), 4 STR. */
function tr4Block(): string[] {
  return [
    // rows a (r4), b (r5), c (r6), d (r7) of the block
    'ldr r4, [r0]', 'ldr r5, [r0, r2]', 'add r12, r0, r2, lsl #1', 'ldr r6, [r12]', 'ldr r7, [r12, r2]', 'add r0, r0, r2, lsl #2',
    // t0 = a0 b0 a2 b2, t1 = a1 b1 a3 b3, u0 = c0 d0 c2 d2, u1 = c1 d1 c3 d3
    'uxtb16 r8, r4', 'uxtb16 r9, r5', 'orr r8, r8, r9, lsl #8',
    'uxtb16 r9, r4, ror #8', 'and r5, r5, #0xff00ff00', 'orr r9, r9, r5',
    'uxtb16 r10, r6', 'uxtb16 r11, r7', 'orr r10, r10, r11, lsl #8',
    'uxtb16 r11, r6, ror #8', 'and r7, r7, #0xff00ff00', 'orr r11, r11, r7',
    // columns 0..3 of the block = rows of the output
    'pkhbt r4, r8, r10, lsl #16', 'pkhbt r5, r9, r11, lsl #16', 'pkhtb r6, r10, r8, asr #16', 'pkhtb r7, r11, r9, asr #16',
    'str r4, [r1]', 'str r5, [r1, r3]', 'add r12, r1, r3, lsl #1', 'str r6, [r12]', 'str r7, [r12, r3]', 'add r1, r1, #4',
  ];
}

/** void tf_tr4(const int8_t *x, int8_t *y, int32_t C, int32_t R). */
const TR4_HELPER = `#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP) && !defined(TF_NO_ASM)
#define TF_TR4_ASM 1
void tf_tr4(const int8_t *x, int8_t *y, int32_t C, int32_t R);
__asm__(
${asmFunctionC('tf_tr4', [
    // r0 x block, r1 y block, r2 C, r3 R; lr = columns left (in 4s); [sp] = x of the column group
    'push {r4-r11, lr}', 'lsr lr, r2, #2', 'push {r0}',
    '1:', 'lsr r11, r3, #2', 'push {r11}',
    '2:', ...tr4Block(), 'ldr r11, [sp]', 'subs r11, r11, #1', 'str r11, [sp]', 'bne 2b',
    'add sp, sp, #4', 'ldr r0, [sp]', 'add r0, r0, #4', 'str r0, [sp]', 'sub r1, r1, r3', 'add r1, r1, r3, lsl #2',
    'subs lr, lr, #1', 'bne 1b',
    'add sp, sp, #4', 'pop {r4-r11, pc}',
  ])}
);
#endif
`;

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
  if (merged.length === 2 && T === 'int8_t' && merged[0][1] === 1 && merged[1][1] === merged[0][0] && merged[0][0] % 4 === 0 && merged[1][0] % 4 === 0) {
    // [R, C] -> [C, R] int8 with R, C multiples of 4: 4x4 byte blocks transposed in registers
    const C = merged[0][0], R = merged[1][0];
    code += `static void ${fn}(const int8_t *x, int8_t *y) {
#if defined(TF_TR4_ASM)
  tf_tr4(x, y, ${C}, ${R});
#else
  tf_tr2_int8_t(x, y, ${C}, 1, ${R}, ${C});
#endif
}\n`;
    return { helpers: { tf_tr4: TR4_HELPER, tf_tr2_int8_t: tr2Helper('int8_t') }, includes: ['stdint.h'], code };
  }
  if (merged.length === 2) {
    // one shared 2-D gather loop per element type; the step is a one-line wrapper
    const h = `tf_tr2_${T}`;
    code += `static void ${fn}(const ${T} *x, ${T} *y) {\n  ${h}(x, y, ${merged[0][0]}, ${merged[0][1]}, ${merged[1][0]}, ${merged[1][1]});\n}\n`;
    const helper = tr2Helper(T);
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
