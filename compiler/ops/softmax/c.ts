/**
 * Softmax over the last dimension: C emission. softmax_s8 repeats executeSoftmaxS8 (index.ts) in
 * float32, operation for operation (bit-identical); softmax_f32 uses expf (float32 accuracy).
 */
import { fail } from '../../errors.js';
import type { SoftmaxF32Step, SoftmaxS8Step } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER, asmFunctionC } from '../../backends/c/helpers.js';

/** `static void <fn>(const int8_t *x, int8_t *y)`: a call of the shared tf_softmax8. */
export function emitSoftmaxS8C(s: SoftmaxS8Step, fn: string): CStepEmission {
  const n = s.features;
  if (!(s.base > 0 && s.base <= 1)) fail(`${s.name}: softmax_s8 base ${s.base} is outside (0, 1]`);
  if (s.in.length !== s.rows * n || s.out.length !== s.rows * n) fail(`${s.name}: softmax_s8 buffers do not hold ${s.rows} x ${n}`);
  const code = `/* ${s.name}: softmax int8, ${s.rows} x ${n} */
static void ${fn}(const int8_t *x, int8_t *y) {
  tf_softmax8(x, y, ${s.rows}, ${n}, ${cFloat(s.base)});
}\n`;
  return { helpers: { round_s8: ROUND_S8_HELPER, tf_softmax_fill: SOFTMAX_TABLE_HELPER, tf_sm8r: SOFTMAX_S8_ASM, tf_softmax8: SOFTMAX_S8_HELPER }, includes: ['stdint.h', 'string.h'], code };
}

/**
 * The one softmax_s8 implementation (arithmetic of plan/program.ts, float32 in the documented order).
 * The e_j of a row are kept from the sum pass; the output pass multiplies by inv * 256 in one step:
 * scaling by 256 is exact, so f32(e * (inv * 256)) = f32(f32(e * inv) * 256) whenever e * inv is a normal
 * float, and when it is subnormal both are far below 0.5 and truncate to the same 0. trunc(t + 0.5) lies
 * in [0, 256]: clamping it to 255 and subtracting 128 is the clamp of the reference.
 */
const SOFTMAX_S8_HELPER = `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_softmax8(const int8_t *x, int8_t *y, int32_t rows, int32_t n, float base) {
  const float *tb = tf_softmax_table;
  float e[n];
  int32_t r, i;
  tf_softmax_fill(base);
  for (r = 0; r < rows; r++) {
    int32_t m = -128;
    float sum = 0.0f, k;
    i = 0;
#if defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(TF_NO_ASM)
    if (n >= 4) { /* bytewise maximum of four lanes: SSUB8 sets GE per byte, SEL keeps the larger */
      uint32_t mx = 0x80808080u, v, t;
      for (; i + 4 <= n; i += 4) {
        memcpy(&v, x + i, 4);
        __asm__("ssub8 %0, %1, %2\\n\\tsel %0, %1, %2" : "=&r"(t) : "r"(v), "r"(mx) : "cc");
        mx = t;
      }
      for (t = 0; t < 4; t++, mx >>= 8) if ((int8_t)mx > m) m = (int8_t)mx;
    }
#endif
    for (; i < n; i++) if (x[i] > m) m = x[i];
#if defined(TF_VFP_ASM)
    if ((n & 3) == 0) {
      tf_sm8r_t c;
      c.x = x;
      c.y = y;
      c.n4 = n >> 2;
      c.e = e;
      c.tb = tb;
      c.m = m;
      tf_sm8r(&c);
      x += n;
      y += n;
      continue;
    }
#endif
    for (i = 0; i < n; i++) {
      float v = tb[m - x[i]];
      e[i] = v;
      sum += v;
    }
    k = (1.0f / sum) * 256.0f;
    for (i = 0; i < n; i++) {
      int32_t u = tf_trunc_sat(e[i] * k + 0.5f);
      y[i] = (int8_t)((u > 255 ? 255 : u) - 128);
    }
    x += n;
    y += n;
  }
}
`;

/** One element of each pass of tf_sm8r (asm lines), float temp s<i>. */
function smSum(i: number): string[] {
  return ['ldrsb r12, [r0], #1', 'sub r12, r5, r12', 'add r12, r4, r12, lsl #2', `vldr s${i}, [r12]`, `vadd.f32 s15, s15, s${i}`];
}
function smOut(i: number): string[] {
  return [`vmul.f32 s${i}, s${i}, s14`, `vadd.f32 s${i}, s${i}, s13`, `vcvt.s32.f32 s${i}, s${i}`, `vmov r12, s${i}`,
    'usat r12, #8, r12', 'eor r12, r12, #128', 'strb r12, [r1], #1'];
}

/** One softmax_s8 row with n % 4 == 0 and its maximum m known: the sum pass (e_j kept) and the output pass. */
const SOFTMAX_S8_ASM = `#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FP) && !defined(TF_NO_ASM)
#define TF_VFP_ASM 1
#endif
#if defined(TF_VFP_ASM)
typedef struct {
  const int8_t *x;
  int8_t *y;
  int32_t n4;
  float *e;
  const float *tb;
  int32_t m;
} tf_sm8r_t;
void tf_sm8r(const tf_sm8r_t *c);
__asm__(
${asmFunctionC('tf_sm8r', [
    'push {r4-r7, lr}', 'ldmia r0, {r0-r5}', 'mov r7, r2', 'mov r6, r3', 'movs r12, #0', 'vmov s15, r12',
    '1:', ...smSum(0), ...smSum(1), ...smSum(2), ...smSum(3), 'vstmia r3!, {s0-s3}', 'subs r2, r2, #1', 'bne 1b',
    // k = (1 / sum) * 256 (256.0f = 0x43800000)
    'vmov.f32 s14, #1.0', 'vdiv.f32 s14, s14, s15', 'movw r12, #0', 'movt r12, #0x4380', 'vmov s13, r12', 'vmul.f32 s14, s14, s13',
    'vmov.f32 s13, #0.5',
    '2:', 'vldmia r6!, {s0-s3}', ...smOut(0), ...smOut(1), ...smOut(2), ...smOut(3), 'subs r7, r7, #1', 'bne 2b',
    'pop {r4-r7, pc}',
  ])}
);
#endif
`;

/** One shared 1 KiB RAM table, refilled per call: t[k] = base^k by repeated multiplication (see program.ts). */
const SOFTMAX_TABLE_HELPER = `static float tf_softmax_table[256];
static void tf_softmax_fill(float base) {
  int32_t k;
  tf_softmax_table[0] = 1.0f;
  for (k = 1; k < 256; k++) {
    float p = tf_softmax_table[k - 1];
    tf_softmax_table[k] = p < 1e-30f ? 0.0f : p * base;
  }
}
`;

/** `static void <fn>(const float *x, float *y)`: max-subtracted, expf. */
export function emitSoftmaxF32C(s: SoftmaxF32Step, fn: string): CStepEmission {
  const n = s.features;
  const code = `/* ${s.name}: softmax float32, ${s.rows} x ${n} */
static void ${fn}(const float *x, float *y) {
  int32_t r, i;
  for (r = 0; r < ${s.rows}; r++) {
    float m = x[0], sum = 0.0f, inv;
    for (i = 1; i < ${n}; i++) if (x[i] > m) m = x[i];
    for (i = 0; i < ${n}; i++) {
      y[i] = expf(x[i] - m);
      sum += y[i];
    }
    inv = 1.0f / sum;
    for (i = 0; i < ${n}; i++) y[i] *= inv;
    x += ${n};
    y += ${n};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code };
}
