/** C helper snippets shared by several op emitters (keyed by name in CStepEmission.helpers). */

/**
 * roundToInt8 of plan/program.ts: NaN -> 0, clamp to [-256, 256], round half away from zero in f32, clamp.
 * Computed as trunc(f32(|t| + 0.5)) with the sign of t applied (f32(0.5 - t) = f32(0.5 + |t|) for t < 0),
 * then saturated to int8: any |t| > 256 saturates as the clamp would, NaN truncates to 0. On Arm with GCC
 * the truncation is one VCVT (saturating, NaN -> 0); elsewhere the same function in C.
 */
export const ROUND_S8_HELPER = `#if defined(__GNUC__) && defined(__ARM_FP) && !defined(TF_NO_ASM)
static inline int32_t tf_trunc_sat(float h) {
  union { float f; int32_t i; } o;
  __asm__("vcvt.s32.f32 %0, %1" : "=t"(o.f) : "t"(h));
  return o.i;
}
#else
static inline int32_t tf_trunc_sat(float h) {
  return h != h ? 0 : h >= 2147483648.0f ? 2147483647 : h <= -2147483648.0f ? (-2147483647 - 1) : (int32_t)h;
}
#endif
#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#define TF_SAT8(v) __ssat((v), 8)
#else
#define TF_SAT8(v) ((v) < -128 ? -128 : (v) > 127 ? 127 : (v))
#endif
/* t rounded half away from zero (f32 add of 0.5 to |t|, truncation saturating to int32, NaN -> 0) */
static inline int32_t tf_round_half_away(float t) {
  union { float f; int32_t i; } b;
#if defined(__GNUC__)
  int32_t r = tf_trunc_sat(__builtin_fabsf(t) + 0.5f), sg;
#else
  int32_t r = tf_trunc_sat((t < 0.0f ? -t : t) + 0.5f), sg;
#endif
  b.f = t;
  sg = b.i >> 31;
  return (r ^ sg) - sg;
}
static inline int8_t tf_round_s8(float t) {
  int32_t r = tf_round_half_away(t);
  return (int8_t)TF_SAT8(r);
}
`;

/** C element type of a data-movement step's buffers. */
export function cElemType(dtype: string): string {
  return dtype === 'int8' ? 'int8_t' : dtype === 'int16' ? 'int16_t' : dtype === 'int32' ? 'int32_t' : 'float';
}

/** Assembler lines as the string literals of one global Thumb-2 function in its own section (dropped when unused). */
export function asmFunctionC(name: string, body: string[]): string {
  return [
    `.pushsection .text.${name},\\"ax\\",%progbits`, '.syntax unified', '.thumb', '.p2align 2',
    `.global ${name}`, `.type ${name}, %function`, '.thumb_func', `${name}:`,
    ...body.map((l) => (l.endsWith(':') ? l : `  ${l}`)),
    `.size ${name}, .-${name}`, '.popsection',
  ].map((l) => `  "${l}\\n"`).join('\n');
}

/**
 * One Thumb-2 routine: the assembler version under TF_DSP_ASM (Cortex-M4 builds), else `fallback`, its C model
 * with the same arithmetic (host builds and -DTF_NO_ASM), a definition of `name` with parameters `params`.
 */
export function dspAsmOrC(name: string, params: string, body: string[], fallback: string): string {
  return `#if defined(TF_DSP_ASM)
void ${name}${params};
__asm__(
${asmFunctionC(name, body)}
);
#else
${fallback}
#endif
`;
}
