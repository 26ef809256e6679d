/**
 * Dense: C emission (portable C99 and the Cortex-M4 DSP path). Integer results are bit-identical to
 * executeDenseS8 in index.ts; float results follow denseReference within float accumulation error.
 *
 * Cortex-M4 DSP path. The input vector is sign-extended once per layer into int16 pairs on the stack
 * (order (x0,x2),(x1,x3) per 4 columns, which is what SXTB16 / SXTB16 ROR 8 produce), zero-padded to a
 * multiple of 8 columns. Rows are processed in pairs over blocks of 8 columns; weights are reordered at
 * emission time to match, in one of two storages:
 *  - 'int16': pre-extended weights, one SMLAD per two MACs (2 bytes of flash per weight).
 *  - 'int8':  one word holds two columns of a row pair: bytes [a_p+128, b_p, a_q+128, b_q]. Read as
 *             int16 halves it is (256*b + a+128), so SMLAD(word, x) accumulates 256*S_b + S_a + 128*X,
 *             and SMLAD(UXTB16(word), x) accumulates S_a + 128*X (X = sum of inputs). Subtracting gives
 *             S_b exactly (column chunks keep |S_b| < 2^23), then S_a = U - 128*X: 3 instructions per
 *             4 MACs and no weight sign-extension.
 * The inner loop is GNU inline asm (LDM loads 4 words per instruction); without it (TF_NO_ASM, other
 * compilers) the same layout runs through ACLE intrinsics, and without the DSP extension (host builds)
 * through exact C emulations of SXTB16/UXTB16/SMLAD, so the host tests check the packing too.
 */
import { fail } from '../../errors.js';
import type { DenseF32Step, DenseS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, cHex32, cInt32, type CStepEmission } from '../../backends/c/cformat.js';

export type DenseS8Kernel = 'portable' | 'dsp-int8' | 'dsp-int16';

/** Column pairing inside a block of 8: matches the int16 input pair order of tf_extend_s8. */
const PAIRS: ReadonlyArray<readonly [number, number]> = [[0, 2], [1, 3], [4, 6], [5, 7]];
/** int8 storage: columns per chunk so that |S_b| <= 496 * 2^14 < 2^23 (exact after the >> 8). */
const CHUNK_BLOCKS = 62;

const REQUANT_HELPER = `#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#define TF_SSAT8(v) __ssat((v), 8)
#else
#define TF_SSAT8(v) ((v) < -128 ? -128 : (v) > 127 ? 127 : (v))
#endif

/* TFLite MultiplyByQuantizedMultiplier, bit-exact with compiler/quant/fixedpoint.ts.
   SaturatingRoundingDoublingHighMul: trunc((a*m + nudge) / 2^31) with nudge = 2^30 or 1 - 2^30 equals
   floor((a*m + 2^30) / 2^31) for either sign, i.e. one SMLAL and a 64-bit arithmetic shift.
   RoundingDivideByPOT needs no rs == 0 special case: mask 0 gives rem 0 <= thr. */
static inline int32_t tf_requant(int32_t acc, int32_t mult, int32_t shift, int sat, int lsh) {
  int32_t ls = lsh && shift > 0 ? shift : 0; /* lsh == 0: the layer has no positive shift */
  int32_t rs = lsh && shift > 0 ? 0 : -shift;
  int32_t a = (int32_t)((uint32_t)acc << ls);
  int32_t x, mask, rem, thr;
  if (sat && a == INT32_MIN && mult == INT32_MIN) x = INT32_MAX;
  else x = (int32_t)(((int64_t)a * mult + ((int64_t)1 << 30)) >> 31);
  mask = (int32_t)(((uint32_t)1 << rs) - 1u);
  rem = x & mask;
  thr = (mask >> 1) + (int32_t)((uint32_t)x >> 31);
  return (x >> rs) + (rem > thr);
}

/* q = {bias, multiplier, shift} of one output channel; requantize, add the output zero point, clamp
   to the activation range, optional int8 LUT. Per-layer constants sat (an INT32_MIN multiplier
   exists) and lsh (a positive shift exists) let the compiler drop unneeded cases. */
static inline int8_t tf_out_s8(uint32_t acc, const int32_t *q, int32_t zp, int32_t lo, int32_t hi,
                               const int8_t *lut, int sat, int lsh) {
  int32_t v = tf_requant((int32_t)(acc + (uint32_t)q[0]), q[1], q[2], sat, lsh) + zp;
  if (lo == -128 && hi == 127) v = TF_SSAT8(v);
  else v = v < lo ? lo : v > hi ? hi : v;
  if (lut) v = lut[v + 128];
  return (int8_t)v;
}
`;

/** One 8-column block of the two-row kernels (asm lines; x pairs in r4-r6,r8, weights in r9-r12). */
const W16_BLOCK = [
  'ldmia %[x]!, {r4, r5, r6, r8}',
  'ldmia %[w]!, {r9, r10, r11, r12}',
  'smlad %[a], r9, r4, %[a]', 'smlad %[a], r10, r5, %[a]', 'smlad %[a], r11, r6, %[a]', 'smlad %[a], r12, r8, %[a]',
  'ldmia %[w]!, {r9, r10, r11, r12}',
  'smlad %[b], r9, r4, %[b]', 'smlad %[b], r10, r5, %[b]', 'smlad %[b], r11, r6, %[b]', 'smlad %[b], r12, r8, %[b]',
];
const W8_BLOCK = [
  'ldmia %[x]!, {r4, r5, r6, r8}',
  'ldmia %[w]!, {r9, r10, r11, r12}',
  ...[['r9', 'r4'], ['r10', 'r5'], ['r11', 'r6'], ['r12', 'r8']].flatMap(([w, x]) => [
    `smlad %[r], ${w}, ${x}, %[r]`, `uxtb16 ${w}, ${w}`, `smlad %[u], ${w}, ${x}, %[u]`]),
];

/** Loop over %[n] >= 1 blocks, two per iteration (an odd block first). */
function unrolledAsm(block: string[]): string {
  const lines = [
    'tst %[n], #1', 'beq 2f', ...block,
    '2:', 'lsrs %[n], %[n], #1', 'beq 3f',
    '1:', ...block, ...block, 'subs %[n], %[n], #1', 'bne 1b',
    '3:',
  ];
  return lines.map((l) => `    "${l}\\n\\t"`).join('\n');
}

const DSP_PRIMS = `#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define TF_SXTB16(v) ((uint32_t)__sxtb16((int32_t)(v)))
#define TF_UXTB16(v) ((uint32_t)__uxtb16((uint32_t)(v)))
#define TF_SMLAD(a, b, c) ((uint32_t)__smlad((int32_t)(a), (int32_t)(b), (int32_t)(c)))
#if defined(__GNUC__) && defined(__thumb2__) && !defined(TF_NO_ASM)
#define TF_DSP_ASM 1
#endif
#else
/* Exact C models of the Armv7E-M instructions, for cores/hosts without the DSP extension. */
static inline uint32_t tf_sxtb16(uint32_t v) {
  return ((((v & 0xffu) ^ 0x80u) - 0x80u) & 0xffffu) | (((((v >> 16) & 0xffu) ^ 0x80u) - 0x80u) << 16);
}
static inline int32_t tf_s16(uint32_t h) { return (int32_t)((h & 0xffffu) ^ 0x8000u) - 0x8000; }
static inline uint32_t tf_smlad(uint32_t a, uint32_t b, uint32_t c) {
  return c + (uint32_t)(tf_s16(a) * tf_s16(b)) + (uint32_t)(tf_s16(a >> 16) * tf_s16(b >> 16));
}
#define TF_SXTB16(v) tf_sxtb16(v)
#define TF_UXTB16(v) ((uint32_t)(v) & 0x00ff00ffu)
#define TF_SMLAD(a, b, c) tf_smlad((a), (b), (c))
#endif
#define TF_ROR8(v) (((uint32_t)(v) >> 8) | ((uint32_t)(v) << 24))

/* x[0..n) -> int16 pairs (x0,x2),(x1,x3) per 4 columns, zero-padded to np columns; returns sum(x). */
static inline uint32_t tf_extend_s8(const int8_t *x, uint32_t *xb, int32_t n, int32_t np) {
  uint32_t sum = 0, v;
  int32_t i;
  for (i = 0; i < n; i += 4) {
    if (i + 4 <= n) {
      memcpy(&v, x + i, 4);
    } else {
      uint8_t t[4] = { 0, 0, 0, 0 };
      memcpy(t, x + i, (size_t)(n - i));
      memcpy(&v, t, 4);
    }
    xb[0] = TF_SXTB16(v);
    xb[1] = TF_SXTB16(TF_ROR8(v));
    sum = TF_SMLAD(xb[0], 0x00010001u, sum);
    sum = TF_SMLAD(xb[1], 0x00010001u, sum);
    xb += 2;
  }
  for (; i < np; i += 4) {
    xb[0] = 0;
    xb[1] = 0;
    xb += 2;
  }
  return sum;
}
`;

const DOT_W16 = `/* Two rows, int16 weights: w holds per 8-column block 4 words of row a then 4 of row b. */
static inline void tf_dot2_w16(const uint32_t *xb, const uint32_t *w, int32_t blocks,
                               uint32_t *ra, uint32_t *rb) {
  uint32_t a = 0, b = 0;
#if defined(TF_DSP_ASM)
  /* blocks >= 1; LDM fetches 4 words in one instruction: 11 instructions per 16 MACs, loop unrolled x2 */
  __asm__ volatile(
${unrolledAsm(W16_BLOCK)}
    : [x] "+r"(xb), [w] "+r"(w), [n] "+r"(blocks), [a] "+r"(a), [b] "+r"(b)
    :
    : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "cc", "memory");
#else
  for (; blocks > 0; blocks--) {
    a = TF_SMLAD(w[0], xb[0], a);
    a = TF_SMLAD(w[1], xb[1], a);
    a = TF_SMLAD(w[2], xb[2], a);
    a = TF_SMLAD(w[3], xb[3], a);
    b = TF_SMLAD(w[4], xb[0], b);
    b = TF_SMLAD(w[5], xb[1], b);
    b = TF_SMLAD(w[6], xb[2], b);
    b = TF_SMLAD(w[7], xb[3], b);
    xb += 4;
    w += 8;
  }
#endif
  *ra = a;
  *rb = b;
}
`;

const DOT_W8 = `/* Two rows, packed int8 weights (see compiler/ops/dense/c.ts): r += x.word, u += x.UXTB16(word). */
static inline void tf_dot2_w8(const uint32_t *xb, const uint32_t *w, int32_t blocks,
                              uint32_t *rr, uint32_t *ru) {
  uint32_t r = 0, u = 0;
#if defined(TF_DSP_ASM)
  /* blocks >= 1: 14 instructions per 16 MACs, loop unrolled x2 */
  __asm__ volatile(
${unrolledAsm(W8_BLOCK)}
    : [x] "+r"(xb), [w] "+r"(w), [n] "+r"(blocks), [r] "+r"(r), [u] "+r"(u)
    :
    : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "cc", "memory");
#else
  for (; blocks > 0; blocks--) {
    int32_t j;
    for (j = 0; j < 4; j++) {
      r = TF_SMLAD(w[j], xb[j], r);
      u = TF_SMLAD(TF_UXTB16(w[j]), xb[j], u);
    }
    xb += 4;
    w += 4;
  }
#endif
  *rr = r;
  *ru = u;
}

/* exact row sums (S_a, S_b) of a packed int8 row pair; chunks keep 256*S_b inside int32 */
static inline void tf_rows2_w8(const uint32_t *xb, const uint32_t *w, int32_t blocks, uint32_t xsum,
                               uint32_t *sa, uint32_t *sb) {
  uint32_t u = 0, b = 0;
  while (blocks > 0) {
    int32_t nb = blocks < ${CHUNK_BLOCKS} ? blocks : ${CHUNK_BLOCKS};
    uint32_t rc, uc;
    tf_dot2_w8(xb, w, nb, &rc, &uc);
    b += (uint32_t)((int32_t)(rc - uc) >> 8);
    u += uc;
    xb += 4 * nb;
    w += 4 * nb;
    blocks -= nb;
  }
  *sa = u - 128u * xsum;
  *sb = b;
}
`;

const ACT_HELPERS: Record<DenseF32Step['activation'], string> = {
  linear: 'static inline float tf_act_linear(float x) { return x; }\n',
  relu: 'static inline float tf_act_relu(float x) { return x > 0.0f ? x : 0.0f; }\n',
  tanh: 'static inline float tf_act_tanh(float x) { return tanhf(x); }\n',
  sigmoid: 'static inline float tf_act_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }\n',
  gelu: 'static inline float tf_act_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678f)); }\n',
};

const i8 = (v: number) => String(v);

function checkS8(step: DenseS8Step): void {
  const { inFeatures: n, outFeatures: m } = step;
  if (step.weights.length !== n * m || step.bias.length !== m || step.multiplier.length !== m || step.shift.length !== m) {
    fail(`${step.name}: dense_s8 arrays do not match ${m}x${n}`);
  }
  for (let o = 0; o < m; o++) {
    if (step.shift[o] > 30 || step.shift[o] < -31) fail(`${step.name}: requantization shift ${step.shift[o]} outside [-31, 30]`);
  }
  if (step.lut && (step.lut.length !== 256 || step.actMin < -128 || step.actMax > 127)) {
    fail(`${step.name}: a LUT needs 256 entries and an activation range inside [-128, 127]`);
  }
}

/** Chooses the kernel for one int8 dense layer. */
export function denseS8Kernel(target: 'c' | 'cortex-m4f', dspWeights: 'int8' | 'int16'): DenseS8Kernel {
  if (target === 'c') return 'portable';
  return dspWeights === 'int16' ? 'dsp-int16' : 'dsp-int8';
}

/** Packs weights for the DSP kernels (layouts described at the top of this file). */
export function packDenseS8(step: DenseS8Step, kernel: 'dsp-int8' | 'dsp-int16'): Uint32Array {
  const { inFeatures: n, outFeatures: m, weights } = step;
  const blocks = Math.ceil(n / 8);
  const pairs = Math.ceil(m / 2);
  const wAt = (r: number, c: number) => (r < m && c < n ? weights[r * n + c] : 0);
  const wordsPerBlock = kernel === 'dsp-int16' ? 8 : 4;
  const out = new Uint32Array(pairs * blocks * wordsPerBlock);
  let k = 0;
  for (let p = 0; p < pairs; p++) {
    const ra = 2 * p, rb = 2 * p + 1;
    for (let b = 0; b < blocks; b++) {
      const c0 = 8 * b;
      if (kernel === 'dsp-int16') {
        for (const r of [ra, rb]) {
          for (const [lo, hi] of PAIRS) out[k++] = ((wAt(r, c0 + lo) & 0xffff) | (wAt(r, c0 + hi) << 16)) >>> 0;
        }
      } else {
        for (const [lo, hi] of PAIRS) {
          out[k++] = (((wAt(ra, c0 + lo) + 128) & 0xff) | ((wAt(rb, c0 + lo) & 0xff) << 8)
            | (((wAt(ra, c0 + hi) + 128) & 0xff) << 16) | ((wAt(rb, c0 + hi) & 0xff) << 24)) >>> 0;
        }
      }
    }
  }
  return out;
}

/**
 * int8 dense layer: `static void <fn>(const int8_t *x, int8_t *y)` plus its const arrays (prefix `<fn>_`).
 * In and out must not overlap (the arena planner never aliases a step's input with its output).
 */
export function emitDenseS8C(step: DenseS8Step, fn: string, kernel: DenseS8Kernel): CStepEmission {
  checkS8(step);
  const { inFeatures: n, outFeatures: m } = step;
  const helpers: Record<string, string> = { requant: REQUANT_HELPER };
  let code = `/* ${step.name}: dense ${n} -> ${m}, int8 (${kernel}) */\n`;
  const chan = new Int32Array(3 * m);
  for (let o = 0; o < m; o++) { chan[3 * o] = step.bias[o]; chan[3 * o + 1] = step.multiplier[o]; chan[3 * o + 2] = step.shift[o]; }
  code += `/* per output channel: bias, multiplier, shift */\n`;
  code += cConstArray('int32_t', `${fn}_q`, chan, cInt32, 9);
  if (step.lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut, i8);
  const lut = step.lut ? `${fn}_lut` : '(const int8_t *)0';
  const sat = step.multiplier.includes(-2147483648) ? 1 : 0;
  const lsh = step.shift.some((v) => v > 0) ? 1 : 0;
  const outArgs = (q: string) => `${q}, ${step.outZeroPoint}, ${step.actMin}, ${step.actMax}, ${lut}, ${sat}, ${lsh}`;

  if (kernel === 'portable') {
    code += cConstArray('int8_t', `${fn}_w`, step.weights, i8, 32);
    code += `static void ${fn}(const int8_t *x, int8_t *y) {
  const int8_t *w = ${fn}_w;
  const int32_t *q = ${fn}_q;
  int32_t o, i;
  for (o = 0; o < ${m}; o++) {
    uint32_t acc = 0;
    for (i = 0; i < ${n}; i++) acc += (uint32_t)((int32_t)w[i] * x[i]);
    w += ${n};
    y[o] = tf_out_s8(acc, ${outArgs('q')});
    q += 3;
  }
}\n`;
    return { helpers, includes: ['stdint.h'], code };
  }

  const blocks = Math.ceil(n / 8);
  const np = blocks * 8;
  const packed = packDenseS8(step, kernel);
  const int16 = kernel === 'dsp-int16';
  helpers.dsp = DSP_PRIMS;
  if (int16) helpers.dot_w16 = DOT_W16; else helpers.dot_w8 = DOT_W8;
  const pairWords = blocks * (int16 ? 8 : 4);
  const full = Math.floor(m / 2);
  code += cConstArray('uint32_t', `${fn}_w`, packed, cHex32, 8);
  const rowPair = int16
    ? `tf_dot2_w16(xb, w, ${blocks}, &sa, &sb);`
    : `tf_rows2_w8(xb, w, ${blocks}, xsum, &sa, &sb);`;
  code += `static void ${fn}(const int8_t *x, int8_t *y) {
  uint32_t xb[${np / 2}]; /* int16 input pairs */
  const uint32_t *w = ${fn}_w;
  const int32_t *q = ${fn}_q;
  uint32_t sa, sb;
  int32_t o;
  ${int16 ? '(void)' : 'uint32_t xsum = '}tf_extend_s8(x, xb, ${n}, ${np});
  for (o = 0; o < ${2 * full}; o += 2) {
    ${rowPair}
    y[o] = tf_out_s8(sa, ${outArgs('q')});
    y[o + 1] = tf_out_s8(sb, ${outArgs('q + 3')});
    w += ${pairWords};
    q += 6;
  }
${m % 2 ? `  ${rowPair} /* last row paired with a zero row */
  (void)sb;
  y[${m - 1}] = tf_out_s8(sa, ${outArgs('q')});
` : ''}}\n`;
  return { helpers, includes: ['stdint.h', 'string.h'], code };
}

/** float dense layer: `static void <fn>(const float *x, float *y)`. */
export function emitDenseF32C(step: DenseF32Step, fn: string): CStepEmission {
  const { inFeatures: n, outFeatures: m, activation } = step;
  if (step.weights.length !== n * m || step.bias.length !== m) fail(`${step.name}: dense_f32 arrays do not match ${m}x${n}`);
  if (!(activation in ACT_HELPERS)) fail(`${step.name}: unknown activation '${activation}'`);
  let code = `/* ${step.name}: dense ${n} -> ${m}, float32, ${activation} */\n`;
  code += cConstArray('float', `${fn}_b`, step.bias, cFloat, 6);
  code += cConstArray('float', `${fn}_w`, step.weights, cFloat, 6);
  code += `static void ${fn}(const float *x, float *y) {
  const float *w = ${fn}_w;
  int32_t o, i;
  for (o = 0; o < ${m}; o++) {
    float acc = ${fn}_b[o];
    for (i = 0; i < ${n}; i++) acc += w[i] * x[i];
    w += ${n};
    y[o] = tf_act_${activation}(acc);
  }
}\n`;
  const needsMath = activation === 'tanh' || activation === 'sigmoid' || activation === 'gelu';
  return { helpers: { [`act_${activation}`]: ACT_HELPERS[activation] }, includes: needsMath ? ['stdint.h', 'math.h'] : ['stdint.h'], code };
}
