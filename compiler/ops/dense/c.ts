/**
 * Dense: C emission (portable C99 and the Cortex-M4 DSP path). Integer results are bit-identical to
 * executeDenseS8 in index.ts; float results follow denseReference within float accumulation error.
 *
 * Cortex-M4 DSP path. The input vector is sign-extended once per layer into int16 pairs on the stack
 * (order (x0,x2),(x1,x3) per 4 columns, which is what SXTB16 / SXTB16 ROR 8 produce), zero-padded to a
 * multiple of 8 columns. The kernels write the raw row sums (no bias) into an int32 buffer; one tight
 * loop then requantizes every row (see REQUANT_FAST). Weights are reordered at emission time, in one of
 * two storages:
 *  - 'int16': pre-extended weights, rows in pairs, one SMLAD per two MACs (2 bytes of flash per weight).
 *  - 'int8':  1 byte of flash per weight. Rows in quads (a,b,c,d); one word holds two columns p,q of a
 *             row pair: bytes [a_p+128, b_p, a_q+128, b_q]. Read as int16 halves it is (256*b + a+128),
 *             so SMLAD(word, x) accumulates R = 256*S_b + S_a + 128*X, and SMLAD(UXTB16(word), x)
 *             accumulates U = S_a + 128*X (X = sum of inputs). Both start at -128*X, so S_a = U and
 *             S_b = (R - U) >> 8 exactly (column chunks of <= 496 keep |S_b| < 2^23). Per 8 columns of
 *             a quad: 8 words = 2 LDM, the 4 input words 1 LDM shared by the 4 rows, 24 ALU
 *             instructions: 27 instructions per 32 MACs. The quad kernel is a per-layer assembler
 *             routine (column count known at emission, loop unrolled x4), the four accumulators live
 *             in registers for the whole row.
 * Without GNU asm (TF_NO_ASM, other compilers) the same layouts run through ACLE intrinsics, and without
 * the DSP extension (host builds) through exact C emulations of SXTB16/UXTB16/SMLAD, so the host tests
 * check the packing too.
 */
import { fail } from '../../errors.js';
import type { DenseF32Step, DenseS4Step, DenseS8Step } from '../../plan/program.js';
import { unpackInt4 } from './quantize.js';
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

/* ---------- int8 weights: four rows per pass ---------- */

/** Registers of the quad kernel: r0 = x, r1 = w, r2-r5 = 4 input words, r6-r9 = 4 weight words,
 *  r10/r11 = R/U of rows (a,b), r12/lr = R/U of rows (c,d). */
function quadPair(wab: string, wcd: string, x: string): string[] {
  return [
    `smlad r10, ${wab}, ${x}, r10`, `smlad r12, ${wcd}, ${x}, r12`,
    `uxtb16 ${wab}, ${wab}`, `uxtb16 ${wcd}, ${wcd}`,
    `smlad r11, ${wab}, ${x}, r11`, `smlad lr, ${wcd}, ${x}, lr`,
  ];
}
/** One 8-column block of a row quad: 3 LDM + 24 ALU for 32 MACs. */
const QUAD_BLOCK = [
  'ldmia r0!, {r2, r3, r4, r5}',
  'ldmia r1!, {r6, r7, r8, r9}',
  ...quadPair('r6', 'r7', 'r2'), ...quadPair('r8', 'r9', 'r3'),
  'ldmia r1!, {r6, r7, r8, r9}',
  ...quadPair('r6', 'r7', 'r4'), ...quadPair('r8', 'r9', 'r5'),
];

/** Name of the quad routine for `nblk` blocks per row; `acc` adds into the sums instead of storing. */
function quadName(nblk: number, acc: boolean): string {
  return `tf_dot4_w8_${nblk}${acc ? '_acc' : ''}`;
}

/**
 * The quad routine `void f(const uint32_t *xb, const uint32_t *w, uint32_t *s, int32_t quads, uint32_t nx)`
 * (nx = -128 * sum(x) mod 2^32): for each of `quads` row quads, 4 row sums (no bias) into s[0..3] (or added
 * to them), s += 4. As Thumb-2 assembly (blocks unrolled, x4 loop for long rows) and as its exact C model.
 */
function quadRoutine(nblk: number, acc: boolean): string {
  const name = quadName(nblk, acc);
  const L = `.L${name}`;
  const body: string[] = [
    'push {r4-r11, lr}', 'sub sp, sp, #16',
    'str r0, [sp]', 'str r3, [sp, #4]', 'str r2, [sp, #8]',
    `${L}_q:`,
    'ldr r0, [sp]', 'ldr r10, [sp, #52]', 'mov r11, r10', 'mov r12, r10', 'mov lr, r10',
  ];
  if (nblk <= 7) {
    for (let k = 0; k < nblk; k++) body.push(...QUAD_BLOCK);
  } else {
    const rem = nblk % 4;
    for (let k = 0; k < rem; k++) body.push(...QUAD_BLOCK);
    body.push(`addw r2, r1, #${(nblk - rem) * 32}`, 'str r2, [sp, #12]', `${L}_l:`);
    for (let k = 0; k < 4; k++) body.push(...QUAD_BLOCK);
    body.push('ldr r6, [sp, #12]', 'cmp r1, r6', `bne ${L}_l`);
  }
  body.push(
    'sub r4, r10, r11', 'asr r4, r4, #8', 'sub r6, r12, lr', 'asr r6, r6, #8', 'mov r3, r11', 'mov r5, lr',
    'ldr r2, [sp, #8]',
    ...(acc ? ['ldmia r2, {r7, r8, r9, r10}', 'add r3, r3, r7', 'add r4, r4, r8', 'add r5, r5, r9', 'add r6, r6, r10'] : []),
    'stmia r2!, {r3, r4, r5, r6}', 'str r2, [sp, #8]',
    'ldr r3, [sp, #4]', 'subs r3, r3, #1', 'str r3, [sp, #4]', `bne ${L}_q`,
    'add sp, sp, #16', 'pop {r4-r11, pc}',
  );
  const sig = `(const uint32_t *xb, const uint32_t *w, uint32_t *s, int32_t quads, uint32_t nx)`;
  const asm = [
    `.pushsection .text.${name},\\"ax\\",%progbits`, '.syntax unified', '.thumb', '.p2align 2',
    `.global ${name}`, `.type ${name}, %function`, '.thumb_func', `${name}:`,
    ...body.map((l) => (l.endsWith(':') ? l : `  ${l}`)),
    `.size ${name}, .-${name}`, '.popsection',
  ];
  return `#if defined(TF_DSP_ASM)
void ${name}${sig};
__asm__(
${asm.map((l) => `  "${l}\\n"`).join('\n')}
);
#else
static void ${name}${sig} {
  tf_dot4_w8_c(xb, w, s, quads, nx, ${nblk}, ${acc ? 1 : 0});
}
#endif
`;
}

const DOT4_C = `#if !defined(TF_DSP_ASM)
/* C model of the quad routines (packed int8 weights, see compiler/ops/dense/c.ts). */
static void tf_dot4_w8_c(const uint32_t *xb, const uint32_t *w, uint32_t *s, int32_t quads, uint32_t nx,
                         int32_t nblk, int acc) {
  for (; quads > 0; quads--) {
    uint32_t r1 = nx, u1 = nx, r2 = nx, u2 = nx, t[4];
    const uint32_t *xp = xb;
    int32_t b, k;
    for (b = 0; b < nblk; b++) {
      for (k = 0; k < 4; k++) {
        r1 = TF_SMLAD(w[2 * k], xp[k], r1);
        u1 = TF_SMLAD(TF_UXTB16(w[2 * k]), xp[k], u1);
        r2 = TF_SMLAD(w[2 * k + 1], xp[k], r2);
        u2 = TF_SMLAD(TF_UXTB16(w[2 * k + 1]), xp[k], u2);
      }
      xp += 4;
      w += 8;
    }
    t[0] = u1;
    t[1] = (uint32_t)((int32_t)(r1 - u1) >> 8);
    t[2] = u2;
    t[3] = (uint32_t)((int32_t)(r2 - u2) >> 8);
    for (k = 0; k < 4; k++) s[k] = acc ? s[k] + t[k] : t[k];
    s += 4;
  }
}
#endif
`;

/* Fast requantization (see emitRequantLoop for when it is used). */
const REQUANT_FAST = `/* Requantization when the emitter proved |bias + acc| < 2^30 for every row and every shift <= -1:
   SaturatingRoundingDoublingHighMul(a, m) = floor((a*m + 2^30) / 2^31) = floor((2a*m + 2^31) / 2^32)
   = SMMULR(2a, m) (2a cannot overflow, a != INT32_MIN so no saturation), and RoundingDivideByPOT(x, rs)
   = (x + 2^(rs-1) - (x < 0)) >> rs for rs >= 1 (|x| <= |a| < 2^30: no overflow). Bit-exact with
   compiler/quant/fixedpoint.ts (test/c-backend.test.ts checks it exhaustively on the edges).
   q = {2*bias, multiplier, rs, 2^(rs-1)}. */
static inline int32_t tf_smmulr(int32_t a, int32_t b) {
#if defined(TF_DSP_ASM)
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}
static inline int32_t tf_requant_fast(uint32_t s, const int32_t *q) {
  int32_t x = tf_smmulr((int32_t)((s << 1) + (uint32_t)q[0]), q[1]);
  return (x + q[3] - (int32_t)((uint32_t)x >> 31)) >> q[2];
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

/** The shared requantization helpers (`tf_requant`, `tf_out_s8`, TF_SSAT8) under their helper key. */
export function requantHelper(): Record<string, string> {
  return { requant: REQUANT_HELPER };
}

/** TF_SSAT8, the DSP primitives and tf_smmulr (REQUANT_FAST), in the order they depend on each other. */
export function requantFastHelpers(): Record<string, string> {
  return { dsp: DSP_PRIMS, requant_fast: REQUANT_FAST };
}

/** Chooses the kernel for one int8 dense layer. */
export function denseS8Kernel(target: 'c' | 'cortex-m4f', dspWeights: 'int8' | 'int16'): DenseS8Kernel {
  if (target === 'c') return 'portable';
  return dspWeights === 'int16' ? 'dsp-int16' : 'dsp-int8';
}

/** Packs weights for the DSP kernels (layouts described at the top of this file). */
export function packDenseS8(step: DenseS8Step, kernel: 'dsp-int8' | 'dsp-int16', chunkBlocks = CHUNK_BLOCKS): Uint32Array {
  const { inFeatures: n, outFeatures: m, weights } = step;
  const blocks = Math.ceil(n / 8);
  const wAt = (r: number, c: number) => (r < m && c < n ? weights[r * n + c] : 0);
  if (kernel === 'dsp-int16') {
    const pairs = Math.ceil(m / 2);
    const out = new Uint32Array(pairs * blocks * 8);
    let k = 0;
    for (let p = 0; p < pairs; p++) {
      for (let b = 0; b < blocks; b++) {
        for (const r of [2 * p, 2 * p + 1]) {
          for (const [lo, hi] of PAIRS) out[k++] = ((wAt(r, 8 * b + lo) & 0xffff) | (wAt(r, 8 * b + hi) << 16)) >>> 0;
        }
      }
    }
    return out;
  }
  // int8: [chunk][quad][block in chunk][column pair k][row pair ab, cd]
  const quads = Math.ceil(m / 4);
  const word = (ra: number, rb: number, c0: number, lo: number, hi: number) =>
    (((wAt(ra, c0 + lo) + 128) & 0xff) | ((wAt(rb, c0 + lo) & 0xff) << 8)
      | (((wAt(ra, c0 + hi) + 128) & 0xff) << 16) | ((wAt(rb, c0 + hi) & 0xff) << 24)) >>> 0;
  const out = new Uint32Array(quads * blocks * 8);
  let k = 0;
  for (let b0 = 0; b0 < blocks; b0 += chunkBlocks) {
    const b1 = Math.min(blocks, b0 + chunkBlocks);
    for (let q = 0; q < quads; q++) {
      const r = 4 * q;
      for (let b = b0; b < b1; b++) {
        for (const [lo, hi] of PAIRS) {
          out[k++] = word(r, r + 1, 8 * b, lo, hi);
          out[k++] = word(r + 2, r + 3, 8 * b, lo, hi);
        }
      }
    }
  }
  return out;
}

/** The fast requantization helper as C (for tests: compile it on the host and compare with fixedpoint.ts). */
export function requantFastC(): string {
  return REQUANT_FAST;
}

/** True when every row of the layer can use REQUANT_FAST: all shifts <= -1 and |bias + acc| < 2^30 for any input. */
export function fastRequantOk(step: DenseS8Step): boolean {
  const { inFeatures: n, outFeatures: m, weights } = step;
  for (let o = 0; o < m; o++) {
    if (step.shift[o] > -1) return false;
    let bound = Math.abs(step.bias[o]);
    for (let i = 0; i < n; i++) bound += 128 * Math.abs(weights[o * n + i]);
    if (bound >= 2 ** 30) return false;
  }
  return true;
}

/** Output loop over the int32 row sums `s` (no bias): requantize, zero point, clamp, LUT, store. */
function emitRequantLoop(step: DenseS8Step, fn: string, helpers: Record<string, string>): { tables: string; loop: string } {
  const m = step.outFeatures;
  const lo = step.actMin, hi = step.actMax;
  const lut = step.lut ? `${fn}_lut` : '';
  let tables = step.lut ? cConstArray('int8_t', `${fn}_lut`, step.lut, i8) : '';
  let clamp: string;
  if (lo === -128 && hi === 127) clamp = 'v = TF_SSAT8(v);';
  else if (hi === 127 && lo > -128 && lo <= 127) clamp = `v = TF_SSAT8(v);\n    v = v < ${lo} ? ${lo} : v;`;
  else clamp = `v = v < ${lo} ? ${lo} : v > ${hi} ? ${hi} : v;`;
  const store = `y[o] = (int8_t)${lut ? `${lut}[v + 128]` : 'v'};`;
  if (fastRequantOk(step)) {
    helpers.requant_fast = REQUANT_FAST;
    const q = new Int32Array(4 * m);
    for (let o = 0; o < m; o++) {
      const rs = -step.shift[o];
      q[4 * o] = (2 * step.bias[o]) | 0; q[4 * o + 1] = step.multiplier[o]; q[4 * o + 2] = rs; q[4 * o + 3] = 2 ** (rs - 1);
    }
    tables += `/* per output channel: 2*bias, multiplier, right shift, rounding constant */\n` + cConstArray('int32_t', `${fn}_q`, q, cInt32, 8);
    return {
      tables,
      loop: `  for (o = 0; o < ${m}; o++) {
    int32_t v = tf_requant_fast(s[o], q) + (${step.outZeroPoint});
    ${clamp}
    ${store}
    q += 4;
  }\n`,
    };
  }
  const chan = new Int32Array(3 * m);
  for (let o = 0; o < m; o++) { chan[3 * o] = step.bias[o]; chan[3 * o + 1] = step.multiplier[o]; chan[3 * o + 2] = step.shift[o]; }
  tables += `/* per output channel: bias, multiplier, shift */\n` + cConstArray('int32_t', `${fn}_q`, chan, cInt32, 9);
  const sat = step.multiplier.includes(-2147483648) ? 1 : 0;
  const lsh = step.shift.some((v) => v > 0) ? 1 : 0;
  return {
    tables,
    loop: `  for (o = 0; o < ${m}; o++) {
    y[o] = tf_out_s8(s[o], q, ${step.outZeroPoint}, ${lo}, ${hi}, ${lut || '(const int8_t *)0'}, ${sat}, ${lsh});
    q += 3;
  }\n`,
  };
}

/* ---------- int8 weights, shared routine: two input rows per weight load ---------- */

/**
 * The shared dsp-int8 path (one C driver `tf_dense8` + one assembler routine for every layer, each layer
 * only a const descriptor). Weights keep the quad packing above; per 8 columns the routine loads each
 * packed word once and feeds it to two input rows (UXTB16 shared): 2 LDRD + 10 ALU per 16 MACs.
 * The input is widened with an offset z chosen per layer (x + z, int16) so that the residual bias
 * r = bias - z * rowsum(w) fits int16: bias + acc = r + sum w * (x + z) exactly. Per output channel one
 * flash word: r (low half), shift bit (bit 16), multiplier mantissa bits 14..0 (bits 17..31; the
 * mantissa's top bit is always set, see quantizeMultiplierCompact). Layers with more than two distinct
 * shifts keep one right-shift byte per channel. At run time the words are decoded once per layer into a
 * stack table {2r, multiplier, 2^(rs-1) + (zp << rs), rs}, used by every row (REQUANT_FAST arithmetic
 * with the zero point folded into the rounding constant: exact, since floor((v + zp*2^rs) / 2^rs)
 * = floor(v / 2^rs) + zp and the emitter proves no overflow).
 */
interface Dense8Plan { z: number; cb: number; rs0: number; rsx: Uint8Array | null; q: Uint32Array }

/** Returns the plan, or null when the layer does not meet the shared path's preconditions. */
export function planDense8(step: DenseS8Step): Dense8Plan | null {
  const { inFeatures: n, outFeatures: m, weights } = step;
  if (!fastRequantOk(step) || m > 65535 || n > 65535 || (step.rows ?? 1) > 65535) return null;
  const rowsum = new Float64Array(m);
  for (let o = 0; o < m; o++) { let t = 0; for (let i = 0; i < n; i++) t += weights[o * n + i]; rowsum[o] = t; }
  let z = NaN;
  for (let k = 0; k <= 254 && Number.isNaN(z); k++) {
    const c = k % 2 ? (k + 1) / 2 : -k / 2; // 0, 1, -1, 2, -2, ...
    let ok = true;
    for (let o = 0; o < m && ok; o++) { const r = step.bias[o] - c * rowsum[o]; ok = r >= -32768 && r <= 32767; }
    if (ok) z = c;
  }
  if (Number.isNaN(z) || Math.abs(z) > 127) return null;
  // column chunks: |S_b| <= sum |w_b| * max|x + z| < 2^23 for every odd row of every chunk
  const nblk = Math.ceil(n / 8), xmax = 128 + Math.abs(z);
  const fits = (cb: number) => {
    for (let b0 = 0; b0 < nblk; b0 += cb) {
      for (let o = 1; o < m; o += 2) {
        let t = 0;
        for (let i = 8 * b0; i < Math.min(n, 8 * (b0 + cb)); i++) t += Math.abs(weights[o * n + i]);
        if (t * xmax >= 2 ** 23) return false;
      }
    }
    return true;
  };
  let cb = nblk;
  while (cb > 1 && !fits(cb)) cb--;
  if (!fits(cb) || cb > 65535) return null;
  const rs = Array.from(step.shift, (s) => -s);
  const rs0 = Math.min(...rs), rsMax = Math.max(...rs);
  if (rs0 < 1 || rsMax > 30) return null;
  const q = new Uint32Array(m);
  for (let o = 0; o < m; o++) {
    const mult = step.multiplier[o];
    if (mult < 2 ** 30 || mult % 2 ** 15 !== 0) return null;
    if ((Math.abs(step.outZeroPoint) + 1) * 2 ** rs[o] > 2 ** 30) return null;
    const r = step.bias[o] - z * rowsum[o];
    const bit = rsMax - rs0 <= 1 ? rs[o] - rs0 : 0;
    q[o] = ((r & 0xffff) | (bit << 16) | (((mult / 2 ** 15) & 0x7fff) << 17)) >>> 0;
  }
  return { z, cb, rs0, rsx: rsMax - rs0 <= 1 ? null : Uint8Array.from(rs), q };
}

/** One column pair (one LDRD of inputs, one of weights: 16 MACs) of the two-row quad routine. */
function x2Step(): string[] {
  return [
    'ldrd r2, r3, [r0], #8', 'ldrd r12, lr, [r1], #8',
    'smlad r5, r12, r2, r5', 'smlad r9, r12, r3, r9', 'smlad r7, lr, r2, r7', 'smlad r11, lr, r3, r11',
    'uxtb16 r12, r12', 'uxtb16 lr, lr',
    'smlad r4, r12, r2, r4', 'smlad r8, r12, r3, r8', 'smlad r6, lr, r2, r6', 'smlad r10, lr, r3, r10',
  ];
}

/**
 * `void tf_q8x2(const uint32_t *xb, const uint32_t *w, uint32_t *s, const uint32_t *ctl)`:
 * ctl = {quads, 32 * blocks, nx1, nx2, byte offset of the second row's sums, accumulate}. xb holds the two
 * rows' widened words interleaved (row 1 word k at 2k, row 2 at 2k + 1). Row sums (no bias) to s[0..]
 * and s[offset..] (added when accumulate), 4 per quad.
 */
function x2Routine(): string {
  const name = 'tf_q8x2';
  const L = `.L${name}`;
  const block = [...x2Step(), ...x2Step(), ...x2Step(), ...x2Step()];
  const body = [
    'push {r4-r11, lr}', 'sub sp, sp, #24',
    'str r0, [sp]', 'str r3, [sp, #4]', 'str r2, [sp, #8]', 'ldr r2, [r3]', 'str r2, [sp, #16]',
    `${L}_q:`,
    'ldr r0, [sp]', 'ldr r3, [sp, #4]', 'ldr r2, [r3, #4]', 'add r12, r1, r2', 'str r12, [sp, #12]',
    'ldrd r4, r8, [r3, #8]', 'mov r5, r4', 'mov r6, r4', 'mov r7, r4', 'mov r9, r8', 'mov r10, r8', 'mov r11, r8',
    'tst r2, #32', `bne ${L}_h`,
    `${L}_l:`, ...block,
    `${L}_h:`, ...block,
    'ldr r2, [sp, #12]', 'cmp r1, r2', `bne ${L}_l`,
    'sub r5, r5, r4', 'asr r5, r5, #8', 'sub r7, r7, r6', 'asr r7, r7, #8',
    'sub r9, r9, r8', 'asr r9, r9, #8', 'sub r11, r11, r10', 'asr r11, r11, #8',
    'ldr r3, [sp, #4]', 'ldr r12, [r3, #16]', 'ldr r3, [r3, #20]', 'ldr r2, [sp, #8]',
    'cmp r3, #0', `beq ${L}_s`,
    'str r1, [sp, #20]',
    'ldm r2, {r0, r1, r3, lr}', 'add r4, r4, r0', 'add r5, r5, r1', 'add r6, r6, r3', 'add r7, r7, lr',
    'add r0, r2, r12', 'ldm r0, {r0, r1, r3, lr}', 'add r8, r8, r0', 'add r9, r9, r1', 'add r10, r10, r3', 'add r11, r11, lr',
    'ldr r1, [sp, #20]',
    `${L}_s:`,
    'add r0, r2, r12', 'stm r0, {r8, r9, r10, r11}', 'stmia r2!, {r4, r5, r6, r7}', 'str r2, [sp, #8]',
    'ldr r2, [sp, #16]', 'subs r2, r2, #1', 'str r2, [sp, #16]', `bne ${L}_q`,
    'add sp, sp, #24', 'pop {r4-r11, pc}',
  ];
  const asm = [
    `.pushsection .text.${name},\\"ax\\",%progbits`, '.syntax unified', '.thumb', '.p2align 2',
    `.global ${name}`, `.type ${name}, %function`, '.thumb_func', `${name}:`,
    ...body.map((l) => (l.endsWith(':') ? l : `  ${l}`)),
    `.size ${name}, .-${name}`, '.popsection',
  ];
  return `#if defined(TF_DSP_ASM)
void ${name}(const uint32_t *xb, const uint32_t *w, uint32_t *s, const uint32_t *ctl);
__asm__(
${asm.map((l) => `  "${l}\\n"`).join('\n')}
);
#else
/* C model of tf_q8x2 (same arithmetic, per input row) */
static void ${name}(const uint32_t *xb, const uint32_t *w, uint32_t *s, const uint32_t *ctl) {
  int32_t quads = (int32_t)ctl[0], nblk = (int32_t)(ctl[1] >> 5), q, b, j, k;
  for (q = 0; q < quads; q++) {
    for (j = 0; j < 2; j++) {
      uint32_t r1 = ctl[2 + j], u1 = r1, r2 = r1, u2 = r1, t[4];
      uint32_t *d = (j ? s + (ctl[4] >> 2) : s) + 4 * q;
      const uint32_t *wp = w;
      for (b = 0; b < 4 * nblk; b++) {
        uint32_t x = xb[2 * b + j];
        r1 = TF_SMLAD(wp[0], x, r1);
        u1 = TF_SMLAD(TF_UXTB16(wp[0]), x, u1);
        r2 = TF_SMLAD(wp[1], x, r2);
        u2 = TF_SMLAD(TF_UXTB16(wp[1]), x, u2);
        wp += 2;
      }
      t[0] = u1;
      t[1] = (uint32_t)((int32_t)(r1 - u1) >> 8);
      t[2] = u2;
      t[3] = (uint32_t)((int32_t)(r2 - u2) >> 8);
      for (k = 0; k < 4; k++) d[k] = ctl[5] ? d[k] + t[k] : t[k];
    }
    w += 8 * nblk;
  }
}
#endif
`;
}

const DENSE8_C = `#if defined(__ARM_FEATURE_DSP)
#define TF_SADD16(a, b) ((uint32_t)__sadd16((int32_t)(a), (int32_t)(b)))
#else
static inline uint32_t tf_sadd16(uint32_t a, uint32_t b) { return ((a + b) & 0xffffu) | (((a >> 16) + (b >> 16)) << 16); }
#define TF_SADD16(a, b) tf_sadd16((a), (b))
#endif
#if defined(__GNUC__)
#define TF_NOINLINE __attribute__((noinline))
#else
#define TF_NOINLINE
#endif

/* One int8 dense layer of the shared path (see compiler/ops/dense/c.ts). */
typedef struct {
  const uint32_t *w;   /* packed weights [chunk][quad][block][column pair][row pair] */
  const uint32_t *q;   /* per channel: residual bias r (low half), shift bit (16), mantissa bits (17..31) */
  const uint8_t *rsx;  /* per-channel right shifts, when the layer has more than two */
  const int8_t *lut;   /* activation table indexed by v + 128, or 0 */
  uint16_t n, m, rows, cb; /* in / out features, rows, blocks per column chunk */
  int8_t z, zp, lo, hi;    /* input offset, output zero point, activation range */
  uint8_t rs0;             /* right shift of shift bit 0 */
} tf_dense8_t;

/* One row's columns [0, n) as int16 (x + z) into every other word of xb (pairs (x0,x2),(x1,x3) per 4
   columns), zero up to np columns; returns the sum of the widened values. */
static uint32_t tf_widen8(const int8_t *x, uint32_t *xb, int32_t n, int32_t np, uint32_t zz) {
  uint32_t sum = 0, v, a, b;
  int32_t i;
  for (i = 0; i + 4 <= n; i += 4) {
    memcpy(&v, x + i, 4);
    a = TF_SADD16(TF_SXTB16(v), zz);
    b = TF_SADD16(TF_SXTB16(TF_ROR8(v)), zz);
    xb[0] = a;
    xb[2] = b;
    sum = TF_SMLAD(a, 0x00010001u, sum);
    sum = TF_SMLAD(b, 0x00010001u, sum);
    xb += 4;
  }
  if (i < n) {
    int32_t e[4] = { 0, 0, 0, 0 }, k;
    for (k = 0; i + k < n; k++) {
      e[k] = x[i + k] + (int16_t)zz;
      sum += (uint32_t)e[k];
    }
    xb[0] = ((uint32_t)e[0] & 0xffffu) | ((uint32_t)e[2] << 16);
    xb[2] = ((uint32_t)e[1] & 0xffffu) | ((uint32_t)e[3] << 16);
    xb += 4;
    i += 4;
  }
  for (; i < np; i += 4) {
    xb[0] = 0;
    xb[2] = 0;
    xb += 4;
  }
  return sum;
}

#define TF_D8_OUT(CLAMP) \\
  for (o = 0; o < m; o++, t += 4) { \\
    int32_t xq = tf_smmulr((int32_t)((s[o] << 1) + (uint32_t)t[0]), t[1]); \\
    int32_t v = (xq + t[2] - (int32_t)((uint32_t)xq >> 31)) >> t[3]; \\
    v = TF_SSAT8(v); \\
    CLAMP \\
    y[o] = (int8_t)v; \\
  }

/* Requantizes one row of sums s into y with the decoded table t. */
static void tf_dense8_out(const tf_dense8_t *d, const uint32_t *s, const int32_t *t, int8_t *y) {
  int32_t o, m = d->m, lo = d->lo, hi = d->hi;
  const int8_t *lut = d->lut;
  if (lo == -128 && hi == 127) {
    if (lut) {
      TF_D8_OUT(v = lut[v + 128];)
    } else {
      TF_D8_OUT()
    }
  } else {
    TF_D8_OUT(v = v < lo ? lo : v > hi ? hi : v; if (lut) v = lut[v + 128];)
  }
}

static TF_NOINLINE void tf_dense8(const tf_dense8_t *d, const int8_t *x, int8_t *y) {
  const int32_t n = d->n, m = d->m, rows = d->rows, cb = d->cb;
  const int32_t quads = (m + 3) >> 2, nblk = (n + 7) >> 3;
  const uint32_t zz = ((uint32_t)(uint16_t)(int16_t)d->z) * 0x00010001u;
  uint32_t xb[8 * nblk];     /* two rows of int16 pairs, interleaved */
  uint32_t s[8 * quads];     /* two rows of sums without bias */
  int32_t t[4 * m];          /* decoded requantization table */
  uint32_t ctl[6];
  int32_t o, r, b0;
  for (o = 0; o < m; o++) {
    uint32_t q = d->q[o];
    int32_t rs = d->rsx ? (int32_t)d->rsx[o] : (int32_t)d->rs0 + (int32_t)((q >> 16) & 1u);
    t[4 * o] = (int32_t)(int16_t)(q & 0xffffu) * 2;
    t[4 * o + 1] = (int32_t)(0x40000000u | ((q >> 2) & 0x3fff8000u));
    t[4 * o + 2] = (int32_t)((1u << (rs - 1)) + ((uint32_t)(int32_t)d->zp << rs));
    t[4 * o + 3] = rs;
  }
  ctl[0] = (uint32_t)quads;
  ctl[4] = 16u * (uint32_t)quads;
  for (r = 0; r < rows; r += 2) {
    const int8_t *x2 = r + 1 < rows ? x + n : x;
    for (b0 = 0; b0 < nblk; b0 += cb) {
      int32_t nb = nblk - b0 < cb ? nblk - b0 : cb, c0 = 8 * b0;
      int32_t nr = n - c0 < 8 * nb ? n - c0 : 8 * nb;
      ctl[1] = 32u * (uint32_t)nb;
      ctl[2] = 0u - 128u * tf_widen8(x + c0, xb, nr, 8 * nb, zz);
      ctl[3] = 0u - 128u * tf_widen8(x2 + c0, xb + 1, nr, 8 * nb, zz);
      ctl[5] = b0 > 0;
      tf_q8x2(xb, d->w + 8 * quads * b0, s, ctl);
    }
    tf_dense8_out(d, s, t, y);
    if (r + 1 < rows) tf_dense8_out(d, s + 4 * quads, t, y + m);
    x += 2 * n;
    y += 2 * m;
  }
}
`;

/**
 * Single-row layers up to this many weights take the per-layer four-row kernel: the shared routine
 * pairs input rows, so a lone row would pay for a dummy second one (about 1.8x the instructions);
 * the per-layer code costs ~12 B per output channel plus a small routine, which only matters for
 * large layers, where flash is the tighter budget (e.g. a TTM forecast head).
 */
const SINGLE_ROW_PER_LAYER_MAX_WEIGHTS = 65536;

/** The shared dsp-int8 emission, or null when the layer needs the per-layer code. */
function emitDense8Shared(step: DenseS8Step, fn: string, helpers: Record<string, string>): string | null {
  if ((step.rows ?? 1) === 1 && step.weights.length <= SINGLE_ROW_PER_LAYER_MAX_WEIGHTS) return null;
  const plan = planDense8(step);
  if (!plan) return null;
  const { inFeatures: n, outFeatures: m } = step;
  const rows = step.rows ?? 1;
  helpers.dsp = DSP_PRIMS;
  helpers.requant_fast = REQUANT_FAST;
  helpers.q8x2 = x2Routine();
  helpers.dense8 = DENSE8_C;
  let code = `/* ${step.name}: dense ${n} -> ${m}${rows > 1 ? ` x ${rows} rows` : ''}, int8 weights (shared dsp-int8 path, z = ${plan.z}) */\n`;
  code += cConstArray('uint32_t', `${fn}_w`, packDenseS8(step, 'dsp-int8', plan.cb), cHex32, 8);
  code += cConstArray('uint32_t', `${fn}_q`, plan.q, cHex32, 8);
  if (plan.rsx) code += cConstArray('uint8_t', `${fn}_rs`, plan.rsx);
  if (step.lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut, i8);
  code += `static const tf_dense8_t ${fn}_d = { ${fn}_w, ${fn}_q, ${plan.rsx ? `${fn}_rs` : '0'}, ${step.lut ? `${fn}_lut` : '0'}, ${n}, ${m}, ${rows}, ${plan.cb}, ${plan.z}, ${step.outZeroPoint}, ${step.actMin}, ${step.actMax}, ${plan.rs0} };
static void ${fn}(const int8_t *x, int8_t *y) {
  tf_dense8(&${fn}_d, x, y);
}\n`;
  return code;
}

/* ---------- int4 weights: four rows per halfword ---------- */

/**
 * int4 storage (dense_s4 on the DSP path). One halfword holds one column of a row quad as nibbles
 * h = n0 + 16*n1 + 256*n2 + 4096*w3 with n_k = w_k + 8 in [0, 15] (rows 0..2, biased) and w3 signed in
 * the top nibble; a word holds the column pair (p, q) of PAIRS. SMLAD of the raw word and of three
 * masks of it (P & 0x000F000F, UXTB16(P) = P & 0x00FF00FF, P & 0x0F0F0F0F) against the int16 input pair
 * accumulates U1 = S0 + 8X, U3 = U1 + 16*(S1 + 8X), U2 = U1 + 256*(S2 + 8X), R = U3 + U2 - U1 + 4096*S3.
 * Starting them at -8X, -136X, -2056X, -2184X leaves S0 = U1, S1 = (U3-U1)>>4, S2 = (U2-U1)>>8,
 * S3 = (R-U3-U2+U1)>>12, exact while |4096*S3| < 2^31, i.e. for column chunks of <= 496 (as int8).
 * Per 8 columns of a quad: 2 LDM of inputs, 2 LDM of weights, 28 ALU: 32 instructions per 32 MACs at
 * half a byte of flash per weight.
 */
export function packDenseS4(m: number, n: number, weights: Int8Array): Uint32Array {
  const blocks = Math.ceil(n / 8);
  const quads = Math.ceil(m / 4);
  const wAt = (r: number, c: number) => (r < m && c < n ? weights[r * n + c] : 0);
  const half = (r: number, c: number) => ((wAt(r, c) + 8) | ((wAt(r + 1, c) + 8) << 4) | ((wAt(r + 2, c) + 8) << 8) | ((wAt(r + 3, c) & 0xf) << 12));
  const out = new Uint32Array(quads * blocks * 4);
  let k = 0;
  for (let b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
    const b1 = Math.min(blocks, b0 + CHUNK_BLOCKS);
    for (let q = 0; q < quads; q++) {
      for (let b = b0; b < b1; b++) {
        for (const [lo, hi] of PAIRS) out[k++] = (half(4 * q, 8 * b + lo) | (half(4 * q, 8 * b + hi) << 16)) >>> 0;
      }
    }
  }
  return out;
}

/** Half a block of the int4 quad kernel: r2,r3 inputs, r4,r5 packed weights, r6 scratch, r7/r8 masks. */
function s4Half(): string[] {
  const one = (p: string, x: string) => [
    `smlad r12, ${p}, ${x}, r12`,
    `and r6, ${p}, r7`, `smlad r9, r6, ${x}, r9`,
    `uxtb16 r6, ${p}`, `smlad r10, r6, ${x}, r10`,
    `and ${p}, ${p}, r8`, `smlad r11, ${p}, ${x}, r11`,
  ];
  return ['ldmia r0!, {r2, r3}', 'ldmia r1!, {r4, r5}', ...one('r4', 'r2'), ...one('r5', 'r3')];
}
const S4_BLOCK = [...s4Half(), ...s4Half()];

function quadS4Name(nblk: number, acc: boolean): string {
  return `tf_dot4_w4_${nblk}${acc ? '_acc' : ''}`;
}

/** The int4 quad routine, same signature and contract as quadRoutine (nx = -8 * sum(x) here). */
function quadS4Routine(nblk: number, acc: boolean): string {
  const name = quadS4Name(nblk, acc);
  const L = `.L${name}`;
  const body: string[] = [
    'push {r4-r11, lr}', 'sub sp, sp, #16',
    'str r0, [sp]', 'str r3, [sp, #4]', 'str r2, [sp, #8]',
    'movw r7, #0x000f', 'movt r7, #0x000f', 'movw r8, #0x0f0f', 'movt r8, #0x0f0f',
    `${L}_q:`,
    'ldr r0, [sp]', 'ldr r9, [sp, #52]',
    'add r10, r9, r9, lsl #4', 'add r11, r9, r9, lsl #8', 'add r12, r10, r9, lsl #8',
  ];
  if (nblk <= 4) {
    for (let k = 0; k < nblk; k++) body.push(...S4_BLOCK);
  } else {
    const rem = nblk % 2;
    for (let k = 0; k < rem; k++) body.push(...S4_BLOCK);
    body.push(`addw r2, r1, #${(nblk - rem) * 16}`, 'str r2, [sp, #12]', `${L}_l:`);
    for (let k = 0; k < 2; k++) body.push(...S4_BLOCK);
    body.push('ldr r6, [sp, #12]', 'cmp r1, r6', `bne ${L}_l`);
  }
  body.push(
    'mov r2, r9',
    'sub r3, r10, r9', 'asr r3, r3, #4',
    'sub r4, r11, r9', 'asr r4, r4, #8',
    'sub r5, r12, r10', 'sub r5, r5, r11', 'add r5, r5, r9', 'asr r5, r5, #12',
    'ldr r6, [sp, #8]',
    ...(acc ? ['ldmia r6, {r9, r10, r11, r12}', 'add r2, r2, r9', 'add r3, r3, r10', 'add r4, r4, r11', 'add r5, r5, r12'] : []),
    'stmia r6!, {r2, r3, r4, r5}', 'str r6, [sp, #8]',
    'ldr r3, [sp, #4]', 'subs r3, r3, #1', 'str r3, [sp, #4]', `bne ${L}_q`,
    'add sp, sp, #16', 'pop {r4-r11, pc}',
  );
  const sig = `(const uint32_t *xb, const uint32_t *w, uint32_t *s, int32_t quads, uint32_t nx)`;
  const asm = [
    `.pushsection .text.${name},\\"ax\\",%progbits`, '.syntax unified', '.thumb', '.p2align 2',
    `.global ${name}`, `.type ${name}, %function`, '.thumb_func', `${name}:`,
    ...body.map((l) => (l.endsWith(':') ? l : `  ${l}`)),
    `.size ${name}, .-${name}`, '.popsection',
  ];
  return `#if defined(TF_DSP_ASM)
void ${name}${sig};
__asm__(
${asm.map((l) => `  "${l}\\n"`).join('\n')}
);
#else
static void ${name}${sig} {
  tf_dot4_w4_c(xb, w, s, quads, nx, ${nblk}, ${acc ? 1 : 0});
}
#endif
`;
}

const DOT4_W4_C = `#if !defined(TF_DSP_ASM)
/* C model of the int4 quad routines (see packDenseS4 in compiler/ops/dense/c.ts). */
static void tf_dot4_w4_c(const uint32_t *xb, const uint32_t *w, uint32_t *s, int32_t quads, uint32_t nx,
                         int32_t nblk, int acc) {
  for (; quads > 0; quads--) {
    uint32_t u1 = nx, u3 = nx * 17u, u2 = nx * 257u, r = nx * 273u, t[4];
    const uint32_t *xp = xb;
    int32_t b, k;
    for (b = 0; b < nblk; b++) {
      for (k = 0; k < 4; k++) {
        r = TF_SMLAD(w[k], xp[k], r);
        u1 = TF_SMLAD(w[k] & 0x000f000fu, xp[k], u1);
        u3 = TF_SMLAD(TF_UXTB16(w[k]), xp[k], u3);
        u2 = TF_SMLAD(w[k] & 0x0f0f0f0fu, xp[k], u2);
      }
      xp += 4;
      w += 4;
    }
    t[0] = u1;
    t[1] = (uint32_t)((int32_t)(u3 - u1) >> 4);
    t[2] = (uint32_t)((int32_t)(u2 - u1) >> 8);
    t[3] = (uint32_t)((int32_t)(r - u3 - u2 + u1) >> 12);
    for (k = 0; k < 4; k++) s[k] = acc ? s[k] + t[k] : t[k];
    s += 4;
  }
}
#endif
`;

/** dense_s4 as an equivalent dense_s8 (unpacked weights), for checks, requantization and the portable kernel. */
export function denseS4AsS8(step: DenseS4Step): DenseS8Step {
  const { inFeatures: n, outFeatures: m } = step;
  if (step.weights.length !== m * Math.ceil(n / 2)) fail(`${step.name}: dense_s4 packs ${m} rows of ${Math.ceil(n / 2)} bytes`);
  return { ...step, op: 'dense_s8', weights: unpackInt4(step.weights, m, n) };
}

/**
 * int8 dense layer: `static void <fn>(const int8_t *x, int8_t *y)` plus its const arrays (prefix `<fn>_`),
 * over `rows` consecutive input rows with the same weights. For dense_s4 steps (int4 weights) pass
 * `int4`: the portable kernel unpacks nibbles on the fly and the DSP kernels use packDenseS4.
 * In and out must not overlap (the arena planner never aliases a step's input with its output).
 */
export function emitDenseS8C(step: DenseS8Step, fn: string, kernel: DenseS8Kernel, int4?: DenseS4Step): CStepEmission {
  checkS8(step);
  const { inFeatures: n, outFeatures: m } = step;
  const rows = step.rows ?? 1;
  if (step.in.length !== rows * n || step.out.length !== rows * m) fail(`${step.name}: dense buffers do not hold ${rows} rows of ${n} -> ${m}`);
  const helpers: Record<string, string> = { requant: REQUANT_HELPER };
  let code = `/* ${step.name}: dense ${n} -> ${m}${rows > 1 ? ` x ${rows} rows` : ''}, ${int4 ? 'int4' : 'int8'} weights (${kernel}) */\n`;
  const rowLoop = (body: string, decls: string) => `static void ${fn}(const int8_t *x, int8_t *y) {
${decls}  int32_t r;
  for (r = 0; r < ${rows}; r++) {
${body.replace(/^/gm, '  ').replace(/^ +$/gm, '')}    x += ${n};
    y += ${m};
  }
}\n`;

  if (kernel === 'portable') {
    const chan = new Int32Array(3 * m);
    for (let o = 0; o < m; o++) { chan[3 * o] = step.bias[o]; chan[3 * o + 1] = step.multiplier[o]; chan[3 * o + 2] = step.shift[o]; }
    code += `/* per output channel: bias, multiplier, shift */\n`;
    code += cConstArray('int32_t', `${fn}_q`, chan, cInt32, 9);
    if (step.lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut, i8);
    const lut = step.lut ? `${fn}_lut` : '(const int8_t *)0';
    const sat = step.multiplier.includes(-2147483648) ? 1 : 0;
    const lsh = step.shift.some((v) => v > 0) ? 1 : 0;
    let dot: string;
    if (int4) {
      const stride = Math.ceil(n / 2);
      code += `/* int4, two per byte: column 2k in the low nibble, 2k+1 in the high nibble */\n`;
      code += cConstArray('int8_t', `${fn}_w`, int4.weights, i8, 32);
      dot = `  for (i = 0; i + 1 < ${n}; i += 2) {
    int32_t b = w[i >> 1];
    acc += (uint32_t)(((int32_t)((uint32_t)b << 28) >> 28) * x[i]);
    acc += (uint32_t)((b >> 4) * x[i + 1]);
  }
${n % 2 ? `  acc += (uint32_t)(((int32_t)((uint32_t)w[${stride - 1}] << 28) >> 28) * x[${n - 1}]);\n` : ''}  w += ${stride};\n`;
    } else {
      code += cConstArray('int8_t', `${fn}_w`, step.weights, i8, 32);
      dot = `  for (i = 0; i < ${n}; i++) acc += (uint32_t)((int32_t)w[i] * x[i]);\n  w += ${n};\n`;
    }
    code += rowLoop(`  const int8_t *w = ${fn}_w;
  const int32_t *q = ${fn}_q;
  int32_t o, i;
  for (o = 0; o < ${m}; o++) {
    uint32_t acc = 0;
${dot.replace(/^/gm, '  ').replace(/^ +$/gm, '')}    y[o] = tf_out_s8(acc, q, ${step.outZeroPoint}, ${step.actMin}, ${step.actMax}, ${lut}, ${sat}, ${lsh});
    q += 3;
  }
`, '');
    return { helpers, includes: ['stdint.h'], code };
  }

  if (kernel === 'dsp-int8' && !int4) {
    const shared = emitDense8Shared(step, fn, helpers);
    if (shared) return { helpers, includes: ['stdint.h', 'string.h'], code: shared };
  }
  const blocks = Math.ceil(n / 8);
  const np = blocks * 8;
  helpers.dsp = DSP_PRIMS;
  const { tables, loop } = emitRequantLoop(step, fn, helpers);
  code += tables;
  let kernelCode: string;
  let rowsPadded: number;
  if (int4) {
    code += `/* int4 weights, 4 rows per halfword (see packDenseS4) */\n`;
    code += cConstArray('uint32_t', `${fn}_w`, packDenseS4(m, n, step.weights), cHex32, 8);
    helpers.dot4_w4_c = DOT4_W4_C;
    const quads = Math.ceil(m / 4);
    rowsPadded = 4 * quads;
    kernelCode = '  uint32_t nx;\n';
    for (let b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
      const nb = Math.min(CHUNK_BLOCKS, blocks - b0);
      const acc = b0 > 0;
      helpers[quadS4Name(nb, acc)] = quadS4Routine(nb, acc);
      kernelCode += `  nx = 0u - 8u * tf_extend_s8(x + ${8 * b0}, xb + ${4 * b0}, ${Math.min(n - 8 * b0, 8 * nb)}, ${8 * nb});
  ${quadS4Name(nb, acc)}(xb + ${4 * b0}, w + ${4 * quads * b0}, s, ${quads}, nx);\n`;
    }
  } else {
    const packed = packDenseS8(step, kernel);
    code += cConstArray('uint32_t', `${fn}_w`, packed, cHex32, 8);
    if (kernel === 'dsp-int16') {
      helpers.dot_w16 = DOT_W16;
      rowsPadded = 2 * Math.ceil(m / 2);
      kernelCode = `  (void)tf_extend_s8(x, xb, ${n}, ${np});
  for (o = 0; o < ${rowsPadded}; o += 2) {
    tf_dot2_w16(xb, w, ${blocks}, &s[o], &s[o + 1]);
    w += ${8 * blocks};
  }\n`;
    } else {
      helpers.dot4_c = DOT4_C;
      const quads = Math.ceil(m / 4);
      rowsPadded = 4 * quads;
      // each column chunk starts its accumulators at -128 * (sum of its own inputs)
      kernelCode = '  uint32_t nx;\n';
      for (let b0 = 0; b0 < blocks; b0 += CHUNK_BLOCKS) {
        const nb = Math.min(CHUNK_BLOCKS, blocks - b0);
        const acc = b0 > 0;
        helpers[quadName(nb, acc)] = quadRoutine(nb, acc);
        kernelCode += `  nx = 0u - 128u * tf_extend_s8(x + ${8 * b0}, xb + ${4 * b0}, ${Math.min(n - 8 * b0, 8 * nb)}, ${8 * nb});
  ${quadName(nb, acc)}(xb + ${4 * b0}, w + ${8 * quads * b0}, s, ${quads}, nx);\n`;
      }
    }
  }
  code += rowLoop(`  const uint32_t *w = ${fn}_w;
  const int32_t *q = ${fn}_q;
  int32_t o;
  (void)w;
${kernelCode}${loop}`, `  uint32_t xb[${np / 2}]; /* int16 input pairs */
  uint32_t s[${rowsPadded}]; /* row sums without bias */
`);
  return { helpers, includes: ['stdint.h', 'string.h'], code };
}

/** int4 dense layer (dense_s4): as emitDenseS8C, 4-bit weights kept packed in flash. */
export function emitDenseS4C(step: DenseS4Step, fn: string, kernel: DenseS8Kernel): CStepEmission {
  return emitDenseS8C(denseS4AsS8(step), fn, kernel === 'dsp-int16' ? 'dsp-int8' : kernel, step);
}

/** float dense layer: `static void <fn>(const float *x, float *y)` over `rows` input rows. */
export function emitDenseF32C(step: DenseF32Step, fn: string): CStepEmission {
  const { inFeatures: n, outFeatures: m, activation } = step;
  const rows = step.rows ?? 1;
  if (step.weights.length !== n * m || step.bias.length !== m) fail(`${step.name}: dense_f32 arrays do not match ${m}x${n}`);
  if (step.in.length !== rows * n || step.out.length !== rows * m) fail(`${step.name}: dense buffers do not hold ${rows} rows of ${n} -> ${m}`);
  if (!(activation in ACT_HELPERS)) fail(`${step.name}: unknown activation '${activation}'`);
  let code = `/* ${step.name}: dense ${n} -> ${m}${rows > 1 ? ` x ${rows} rows` : ''}, float32, ${activation} */\n`;
  code += cConstArray('float', `${fn}_b`, step.bias, cFloat, 6);
  code += cConstArray('float', `${fn}_w`, step.weights, cFloat, 6);
  code += `static void ${fn}(const float *x, float *y) {
  int32_t r, o, i;
  for (r = 0; r < ${rows}; r++) {
    const float *w = ${fn}_w;
    for (o = 0; o < ${m}; o++) {
      float acc = ${fn}_b[o];
      for (i = 0; i < ${n}; i++) acc += w[i] * x[i];
      w += ${n};
      y[o] = tf_act_${activation}(acc);
    }
    x += ${n};
    y += ${m};
  }
}\n`;
  const needsMath = activation === 'tanh' || activation === 'sigmoid' || activation === 'gelu';
  return { helpers: { [`act_${activation}`]: ACT_HELPERS[activation] }, includes: needsMath ? ['stdint.h', 'math.h'] : ['stdint.h'], code };
}
