/**
 * Rotary position embedding (rotate-half): C emission.
 * rope_s8 repeats executeRopeS8 (index.ts) in float32, operation for operation (no fused multiply-add:
 * -std=c99 / -ffp-contract=off), so it is bit-identical with the TS oracle.
 * rope_f32 computes each output as (float)((double)a * c -/+ (double)b * s): the products of two floats
 * are exact in double and the sum is rounded once, exactly as ropeReference does in JS (bit-identical too).
 * The cos/sin tables ([tokens, headDim / 2] float32 each) depend only on tokens, headDim and theta, so
 * steps with equal tables (q and k of every layer) share one copy in flash (helper keyed by content).
 */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, f32Bits, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER } from '../../backends/c/helpers.js';
import type { RopeF32Step, RopeS8Step } from './index.js';

/** FNV-1a over the float bits of both tables: names the shared table pair. */
function tableKey(s: RopeF32Step | RopeS8Step): string {
  let h = 0x811c9dc5;
  for (const t of [s.cos, s.sin]) for (let i = 0; i < t.length; i++) h = Math.imul(h ^ f32Bits(t[i]), 0x01000193) >>> 0;
  return `tf_rope_${s.tokens}x${s.headDim / 2}_${h.toString(16).padStart(8, '0')}`;
}

function check(s: RopeF32Step | RopeS8Step, elem: 'float32' | 'int8'): void {
  const D = s.heads * s.headDim, half = s.headDim / 2;
  if (s.headDim % 2 !== 0) fail(`${s.name}: ${s.op} needs an even head dimension, got ${s.headDim}`);
  if (s.in.length !== s.tokens * D || s.out.length !== s.tokens * D || s.in.dtype !== elem || s.out.dtype !== elem) fail(`${s.name}: ${s.op} buffers must be ${elem} [${s.tokens}, ${D}]`);
  if (s.cos.length !== s.tokens * half || s.sin.length !== s.tokens * half) fail(`${s.name}: ${s.op} cos/sin tables must be [${s.tokens}, ${half}]`);
}

function tables(s: RopeF32Step | RopeS8Step): { key: string; helper: string } {
  const key = tableKey(s);
  return { key, helper: cConstArray('float', `${key}_cos`, s.cos, cFloat, 6) + cConstArray('float', `${key}_sin`, s.sin, cFloat, 6) };
}

/** `static void <fn>(const int8_t *x, int8_t *y)`. */
export function emitRopeS8C(s: RopeS8Step, fn: string): CStepEmission {
  check(s, 'int8');
  const { key, helper } = tables(s);
  const half = s.headDim / 2, D = s.heads * s.headDim;
  const code = `/* ${s.name}: RoPE int8, ${s.tokens} tokens, ${s.heads} heads x ${s.headDim} */
static void ${fn}(const int8_t *x, int8_t *y) {
  const float ratio = ${cFloat(s.ratio)}, zp = ${cFloat(s.outZeroPoint)};
  int32_t t, h, i;
  for (t = 0; t < ${s.tokens}; t++) {
    const float *cs = ${key}_cos + t * ${half}, *sn = ${key}_sin + t * ${half};
    for (h = 0; h < ${s.heads}; h++) {
      const int8_t *xh = x + t * ${D} + h * ${s.headDim};
      int8_t *yh = y + t * ${D} + h * ${s.headDim};
      for (i = 0; i < ${half}; i++) {
        const float a = (float)(xh[i] - (${s.inZeroPoint})), b = (float)(xh[i + ${half}] - (${s.inZeroPoint}));
        const float ac = a * cs[i], bs = b * sn[i], bc = b * cs[i], as = a * sn[i];
        const float ya = ac - bs, yb = bc + as;
        const float ta = ya * ratio, tb = yb * ratio;
        yh[i] = tf_round_s8(ta + zp);
        yh[i + ${half}] = tf_round_s8(tb + zp);
      }
    }
  }
}\n`;
  return { helpers: { round_s8: ROUND_S8_HELPER, [key]: helper }, includes: ['stdint.h'], code };
}

/** `static void <fn>(const float *x, float *y)`. */
export function emitRopeF32C(s: RopeF32Step, fn: string): CStepEmission {
  check(s, 'float32');
  const { key, helper } = tables(s);
  const half = s.headDim / 2, D = s.heads * s.headDim;
  const code = `/* ${s.name}: RoPE float32, ${s.tokens} tokens, ${s.heads} heads x ${s.headDim} */
static void ${fn}(const float *x, float *y) {
  int32_t t, h, i;
  for (t = 0; t < ${s.tokens}; t++) {
    const float *cs = ${key}_cos + t * ${half}, *sn = ${key}_sin + t * ${half};
    for (h = 0; h < ${s.heads}; h++) {
      const float *xh = x + t * ${D} + h * ${s.headDim};
      float *yh = y + t * ${D} + h * ${s.headDim};
      for (i = 0; i < ${half}; i++) {
        const double a = xh[i], b = xh[i + ${half}], c = cs[i], sv = sn[i];
        yh[i] = (float)(a * c - b * sv);
        yh[i + ${half}] = (float)(b * c + a * sv);
      }
    }
  }
}\n`;
  return { helpers: { [key]: helper }, includes: ['stdint.h'], code };
}
