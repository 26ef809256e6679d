/**
 * Multi-head attention: C emission.
 *
 * attention_s8 repeats executeAttentionS8 (index.ts) operation by operation: exact int32 scores, the
 * E(d) exponential from three run-time tables (filled like softmax_s8's), and the float32 sums in
 * ascending key order with no fused multiply-add (the C is compiled -std=c99 / -ffp-contract=off), so it
 * is bit-identical with the TS oracle. Two shortcuts that cannot change a bit:
 *  - keys with e_j = 0 (masked, or in the future of a causal query) are skipped in the sums: every
 *    accumulator starts at +0 and, in round-to-nearest, x + (+-0) = x for x != -0 and +0 + -0 = +0, so
 *    an accumulator starting at +0 never becomes -0 and adding a zero term never changes it;
 *  - a causal query only visits keys j <= i when some key is attended (the others have e_j = 0).
 * The per-query scratch (scores, weights, attended flags: 9 bytes per token) lives on the stack of the
 * step's wrapper; the 4 x 256-entry float tables are one shared static buffer (4 KiB), refilled per call.
 * Kernels are specialized per head dimension (see attnKernel); the scores use SMLAD on Cortex-M4.
 *
 * attention_f32 follows attentionReference in double (scores, max-subtracted exp, weighted sum), float32
 * out: within float32 rounding of the TS reference.
 */
import { fail } from '../../errors.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { ROUND_S8_HELPER } from '../../backends/c/helpers.js';
import type { AttentionF32Step, AttentionS8Step } from './index.js';

/** Tables shared by every attention_s8 step (refilled per call): E(d)'s three, and v -> f32(v - vZp). */
const ATTN_S8_COMMON = `static float tf_attn_table[3][256];
static float tf_attn_vtab[256];

/* tk[0] = 1, tk[n] = tk[n-1] < 1e-30f ? 0 : tk[n-1] * base (float32), as softmaxTable in TS */
static void tf_attn_fill(float *t, float base) {
  int32_t k;
  t[0] = 1.0f;
  for (k = 1; k < 256; k++) {
    float p = t[k - 1];
    t[k] = p < 1e-30f ? 0.0f : p * base;
  }
}

/* E(d) ~ exp(-c d) for an integer d >= 0 */
static inline float tf_attn_exp(int32_t d) {
  float e;
  if (d >= (1 << 24)) return 0.0f;
  e = tf_attn_table[0][d & 255] * tf_attn_table[1][(d >> 8) & 255];
  if (e < 1e-30f) e = 0.0f;
  e = e * tf_attn_table[2][d >> 16];
  if (e < 1e-30f) e = 0.0f;
  return e;
}

typedef struct {
  float base[3], outRatio, outZp;
  int32_t tokens, heads, causal, qZp, kZp, vZp, maskZp, maskThreshold;
} tf_attn8_t;
`;

/**
 * The attention_s8 kernel for one head dimension DH (a compile-time constant, so the per-head loops
 * unroll and the DH float accumulators can stay in registers). Scores: with the DSP extension and
 * DH % 4 == 0, sum_d (q_d - qZp) k_d by SMLAD on SXTB16-extended key words against the query row
 * pre-extended into int16 pairs, minus kZp * sum_d (q_d - qZp): the same exact int32 as the plain loop.
 * Weighted values: keys outer (ascending), DH accumulators inner, so each output still sums its terms in
 * ascending key order; f32(v - vZp) comes from a 256-entry table (exact small integers).
 */
function attnKernel(dh: number): string {
  const dsp = dh % 4 === 0;
  // DH <= 32: straight-line code with scalar accumulators (registers); larger heads keep the loops
  const unroll = dh <= 32;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const W = dh / 2;
  const qwDecl = unroll ? `uint32_t ${range(W).map((w) => `qw${w}`).join(', ')};` : `uint32_t qw[${W}];`;
  const qwRef = (w: number) => (unroll ? `qw${w}` : `qw[${w}]`);
  const packQ = unroll
    ? range(dh / 4).map((b) => `      {
        const int32_t q0 = qi[${4 * b}] - qZp, q1 = qi[${4 * b + 1}] - qZp, q2 = qi[${4 * b + 2}] - qZp, q3 = qi[${4 * b + 3}] - qZp;
        qw${2 * b} = ((uint32_t)q0 & 0xffffu) | ((uint32_t)q2 << 16);
        qw${2 * b + 1} = ((uint32_t)q1 & 0xffffu) | ((uint32_t)q3 << 16);
        qsum += q0 + q1 + q2 + q3;
      }\n`).join('')
    : `      for (d = 0; d < ${dh}; d += 4) {
        const int32_t q0 = qi[d] - qZp, q1 = qi[d + 1] - qZp, q2 = qi[d + 2] - qZp, q3 = qi[d + 3] - qZp;
        qw[d / 2] = ((uint32_t)q0 & 0xffffu) | ((uint32_t)q2 << 16);
        qw[d / 2 + 1] = ((uint32_t)q1 & 0xffffu) | ((uint32_t)q3 << 16);
        qsum += q0 + q1 + q2 + q3;
      }\n`;
  const smladBlock = (d: string, w0: string, w1: string) => `          memcpy(&w, kj + ${d}, 4);
          t = __smlad((int32_t)${w0}, __sxtb16((int32_t)w), t);
          t = __smlad((int32_t)${w1}, __sxtb16((int32_t)((w >> 8) | (w << 24))), t);\n`;
  const dotDsp = unroll
    ? range(dh / 4).map((b) => smladBlock(String(4 * b), qwRef(2 * b), qwRef(2 * b + 1))).join('')
    : `          for (d = 0; d < ${dh}; d += 4) {\n${smladBlock('d', 'qw[d / 2]', 'qw[d / 2 + 1]').replace(/^ {10}/gm, '            ')}          }\n`;
  const aDecl = unroll ? `float ${range(dh).map((d) => `a${d} = 0.0f`).join(', ')};` : `float a[${dh}];`;
  const accumulate = unroll
    ? range(dh).map((d) => `        a${d} = a${d} + ej * vt[vj[${d}]];\n`).join('')
    : `        for (d = 0; d < ${dh}; d++) {\n          const float p = ej * vt[vj[d]];\n          a[d] = a[d] + p;\n        }\n`;
  const store = unroll
    ? range(dh).map((d) => `      yi[${d}] = tf_round_s8(a${d} * kq + outZp);\n`).join('')
    : `      for (d = 0; d < ${dh}; d++) {\n        const float t = a[d] * kq;\n        yi[d] = tf_round_s8(t + outZp);\n      }\n`;
  return `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_attn8_dh${dh}(const tf_attn8_t *s, const int8_t *q, int8_t *y, const int8_t *k, const int8_t *v, const int8_t *mask,
                     int32_t *acc, float *e, uint8_t *att) {
  const int32_t T = s->tokens, D = s->heads * ${dh};
  const int32_t qZp = s->qZp, kZp = s->kZp;
  const float outZp = s->outZp;
  const float *vt = tf_attn_vtab + 128; /* vt[v] = f32(v - vZp) for int8 v */
  int32_t h, i, j${unroll ? '' : ', d'};
${dsp ? `#if defined(__ARM_FEATURE_DSP)\n  ${qwDecl}\n#endif\n` : ''}  tf_attn_fill(tf_attn_table[0], s->base[0]);
  tf_attn_fill(tf_attn_table[1], s->base[1]);
  tf_attn_fill(tf_attn_table[2], s->base[2]);
  for (j = 0; j < 256; j++) tf_attn_vtab[j] = (float)(j - 128 - s->vZp);
  for (j = 0; j < T; j++) att[j] = (uint8_t)(mask[j] - s->maskZp >= s->maskThreshold);
  for (h = 0; h < s->heads; h++) {
    for (i = 0; i < T; i++) {
      const int8_t *qi = q + i * D + h * ${dh};
      int8_t *yi = y + i * D + h * ${dh};
      int32_t any = 0, m = 0, jn = s->causal ? i + 1 : T;
      float sum = 0.0f, kq;
      ${aDecl}
${dsp ? `#if defined(__ARM_FEATURE_DSP)\n      int32_t qsum = 0;\n${packQ}#endif\n` : ''}      for (j = 0; j < jn; j++) {
        const int8_t *kj = k + j * D + h * ${dh};
        int32_t t = 0;
        if (!att[j]) continue;
${dsp ? `#if defined(__ARM_FEATURE_DSP)
        {
          uint32_t w;
${dotDsp}        }
        t -= kZp * qsum;
#else
        { int32_t dd; for (dd = 0; dd < ${dh}; dd++) t += (qi[dd] - qZp) * (kj[dd] - kZp); }
#endif
` : `        { int32_t dd; for (dd = 0; dd < ${dh}; dd++) t += (qi[dd] - qZp) * (kj[dd] - kZp); }
`}        acc[j] = t;
        if (!any || t > m) m = t;
        any = 1;
      }
      if (any) {
        for (j = 0; j < jn; j++) {
          e[j] = att[j] ? tf_attn_exp(m - acc[j]) : 0.0f;
          sum = sum + e[j];
        }
      } else {
        jn = T; /* no attended key: every key weighs the same */
        for (j = 0; j < T; j++) {
          e[j] = 1.0f;
          sum = sum + 1.0f;
        }
      }
      kq = (1.0f / sum) * s->outRatio;
${unroll ? '' : `      for (d = 0; d < ${dh}; d++) a[d] = 0.0f;\n`}      for (j = 0; j < jn; j++) {
        const float ej = e[j];
        const int8_t *vj = v + j * D + h * ${dh};
        if (ej == 0.0f) continue; /* adds +-0 to accumulators that are never -0 */
${accumulate}      }
${store}    }
  }
}
`;
}

const ACLE_INCLUDE = `#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif
`;

function checkCommon(s: AttentionF32Step | AttentionS8Step, elem: 'float32' | 'int8'): void {
  const D = s.heads * s.headDim, T = s.tokens;
  if (!s.aux || s.aux.length !== 3) fail(`${s.name}: ${s.op} needs aux operands [k, v, mask]`);
  for (const [n, r] of [['q', s.in], ['out', s.out], ['k', s.aux[0]], ['v', s.aux[1]]] as const) {
    if (r.length !== T * D || r.dtype !== elem) fail(`${s.name}: ${s.op} ${n} must be ${elem} [${T}, ${D}], got ${r.length} ${r.dtype} values`);
  }
  if (s.aux[2].length !== T || s.aux[2].dtype !== elem) fail(`${s.name}: ${s.op} mask must be ${elem} [${T}]`);
}

/** `static void <fn>(const int8_t *q, int8_t *y, const int8_t *k, const int8_t *v, const int8_t *mask)`. */
export function emitAttentionS8C(s: AttentionS8Step, fn: string): CStepEmission {
  checkCommon(s, 'int8');
  const T = s.tokens, dh = s.headDim;
  if (s.base.length !== 3) fail(`${s.name}: attention_s8 needs 3 table bases`);
  // |acc| <= headDim * 255 * 255 must fit int32, and so must max - acc
  if (2 * dh * 255 * 255 > 2147483647) fail(`${s.name}: head dimension ${dh} overflows the int32 scores`);
  const code = `/* ${s.name}: attention int8, ${T} tokens, ${s.heads} heads x ${dh}${s.causal ? ', causal' : ''} */
static const tf_attn8_t ${fn}_d = { { ${Array.from(s.base, cFloat).join(', ')} }, ${cFloat(s.outRatio)}, ${cFloat(s.outZeroPoint)}, ${T}, ${s.heads}, ${s.causal ? 1 : 0}, ${s.qZeroPoint}, ${s.kZeroPoint}, ${s.vZeroPoint}, ${s.maskZeroPoint}, ${s.maskThreshold} };
static void ${fn}(const int8_t *q, int8_t *y, const int8_t *k, const int8_t *v, const int8_t *mask) {
  int32_t acc[${T}];
  float e[${T}];
  uint8_t att[${T}];
  tf_attn8_dh${dh}(&${fn}_d, q, y, k, v, mask, acc, e, att);
}\n`;
  return {
    helpers: { round_s8: ROUND_S8_HELPER, tf_attn_acle: ACLE_INCLUDE, tf_attn8_common: ATTN_S8_COMMON, [`tf_attn8_dh${dh}`]: attnKernel(dh) },
    includes: ['stdint.h', 'string.h'], code,
  };
}

const ATTN_F32_HELPER = `#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tf_attn_f32(const float *q, float *y, const float *k, const float *v, const float *mask, double *s,
                        int32_t T, int32_t H, int32_t dh, int32_t causal) {
  const int32_t D = H * dh;
  const double F32_MIN = -3.4028234663852886e38, scale = 1.0 / sqrt((double)dh);
  int32_t h, i, j, d;
  for (h = 0; h < H; h++) {
    for (i = 0; i < T; i++) {
      double m = -HUGE_VAL, sum = 0.0;
      for (j = 0; j < T; j++) {
        double dot = 0.0, bias;
        for (d = 0; d < dh; d++) dot += (double)q[i * D + h * dh + d] * (double)k[j * D + h * dh + d];
        bias = (1.0 - (double)mask[j]) * F32_MIN + (causal && j > i ? F32_MIN : 0.0);
        if (bias < F32_MIN) bias = F32_MIN;
        s[j] = dot * scale + bias;
        if (s[j] > m) m = s[j];
      }
      for (j = 0; j < T; j++) {
        s[j] = exp(s[j] - m);
        sum += s[j];
      }
      for (d = 0; d < dh; d++) {
        double a = 0.0;
        for (j = 0; j < T; j++) a += s[j] * (double)v[j * D + h * dh + d];
        y[i * D + h * dh + d] = (float)(a / sum);
      }
    }
  }
}
`;

/** `static void <fn>(const float *q, float *y, const float *k, const float *v, const float *mask)`. */
export function emitAttentionF32C(s: AttentionF32Step, fn: string): CStepEmission {
  checkCommon(s, 'float32');
  const code = `/* ${s.name}: attention float32, ${s.tokens} tokens, ${s.heads} heads x ${s.headDim}${s.causal ? ', causal' : ''} */
static void ${fn}(const float *q, float *y, const float *k, const float *v, const float *mask) {
  double s[${s.tokens}];
  tf_attn_f32(q, y, k, v, mask, s, ${s.tokens}, ${s.heads}, ${s.headDim}, ${s.causal ? 1 : 0});
}\n`;
  return { helpers: { tf_attn_f32: ATTN_F32_HELPER }, includes: ['stdint.h', 'math.h'], code };
}
