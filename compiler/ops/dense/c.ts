/**
 * Dense: C emission (portable C99 and the Cortex-M4 DSP path). Integer results are bit-identical to
 * executeDenseS8 in index.ts; float results follow denseReference within float accumulation error.
 *
 * Cortex-M4 DSP path. The input vector is sign-extended into int16 pairs (order (x0,x2),(x1,x3) per 4
 * columns, which is what SXTB16 / SXTB16 ROR 8 produce), zero-padded to a multiple of 8 columns. Weights
 * are reordered at emission time, in one of two storages:
 *  - 'int16': pre-extended weights, rows in pairs, one SMLAD per two MACs (2 bytes of flash per weight).
 *  - 'int8':  1 byte of flash per weight. Rows in quads (a,b,c,d); one word holds two columns p,q of a
 *             row pair: bytes [a_p+128, b_p, a_q+128, b_q]. Read as int16 halves it is (256*b + a+128),
 *             so SMLAD(word, x) accumulates R = 256*S_b + S_a + 128*X, and SMLAD(UXTB16(word), x)
 *             accumulates U = S_a + 128*X (X = sum of inputs). Both start at -128*X, so S_a = U and
 *             S_b = (R - U) >> 8 exactly (column chunks keep |S_b| < 2^23). Per 8 columns of a quad:
 *             8 words = 2 LDM, the 4 input words 1 LDM shared by the 4 rows, 24 ALU instructions:
 *             27 instructions per 32 MACs (the floor of this storage for one input row: per weight word
 *             2 SMLAD + 1 UXTB16, plus the loads).
 * Requantization (REQUANT_FAST arithmetic, when the emitter proves its preconditions) runs in registers
 * right after each quad / row pair (the fused routines, table {2 * bias, multiplier, C, rs} per channel,
 * C = 2^(rs-1) + (zp << rs)): v2 = 2 * (sum + bias), SMMLAR(v2, m, C) - (v2 < 0), ASR rs, SSAT 8, optional
 * LUT, STRB: about 8 instructions per output. Kernels by layer:
 *  - several input rows (or one row of > 64 K weights): the shared path (tf_dense8 + tf_q8x2 + tf_rq8x2),
 *    two rows per weight load (12 instructions per 16 MACs), compact 4-byte channel words when the
 *    multipliers have 16-bit mantissas, else the 16-byte table;
 *  - one row, int8: per-column-count quad routines with fused requantization (tf_dot4q_w8_*);
 *  - one row, int16: tf_dot2q_w16 (11 instructions per 16 MACs, fused requantization);
 *  - activation clamps other than the int8 range, or requantization outside REQUANT_FAST: the sums are
 *    stored and a C loop requantizes them.
 * Without GNU asm (TF_NO_ASM, other compilers) the same layouts run through ACLE intrinsics, and without
 * the DSP extension (host builds) through exact C emulations of SXTB16/UXTB16/SMLAD, so the host tests
 * check the packing too.
 */
import { fail } from '../../errors.js';
import type { DenseF32Step, DenseS4Step, DenseS8Step } from '../../plan/program.js';
import { unpackInt4 } from './quantize.js';
import { cConstArray, cFloat, cHex32, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { asmFunctionC, dspAsmOrC } from '../../backends/c/helpers.js';

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

#if defined(TF_DSP_ASM)
/* tf_extend_s8 over whole words: 8 instructions per 4 columns (words >= 1); returns sum + sum(x). */
uint32_t tf_ext4(const int8_t *x, uint32_t *xb, int32_t words, uint32_t sum);
__asm__(
${asmFunctionC('tf_ext4', ['push {r4, r5, lr}', 'mov lr, #0x10001', '1:', 'ldr r12, [r0], #4', 'sxtb16 r4, r12', 'sxtb16 r5, r12, ror #8',
    'smlad r3, r4, lr, r3', 'smlad r3, r5, lr, r3', 'strd r4, r5, [r1], #8', 'subs r2, r2, #1', 'bne 1b', 'mov r0, r3', 'pop {r4, r5, pc}'])}
);
#endif

/* x[0..n) -> int16 pairs (x0,x2),(x1,x3) per 4 columns, zero-padded to np columns; returns sum(x). */
static inline uint32_t tf_extend_s8(const int8_t *x, uint32_t *xb, int32_t n, int32_t np) {
  uint32_t sum = 0, v;
  int32_t i = 0;
#if defined(TF_DSP_ASM)
  if (n >= 4) {
    sum = tf_ext4(x, xb, n >> 2, 0u);
    i = n & ~3;
    xb += i >> 1;
  }
#endif
  for (; i < n; i += 4) {
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

/**
 * `void f(const tf_w16ctl_t *c)`: the int16-weight two-row kernel over all row pairs of one input row,
 * each pair's two sums requantized in registers (table {2 * bias, multiplier, C, rs} per channel) and
 * stored. Frame: 0 xb, 4 pairs left, 8 unused, 12 t, 16 y, 20 lut, 24 loop entry, 28 end of xb.
 */
function w16FusedRoutine(lut: boolean): string {
  const name = `tf_dot2q_w16${lut ? '_lut' : ''}`;
  const L = `.L${name}`;
  // r0 x, r1 w, r2/r3 sums, r7 end of xb, lr pairs left; requantization uses r4-r6, r8-r12
  const one = (acc: string) => [
    'ldmia r0!, {r4, r5, r6, r8}', `add r9, r4, ${acc}, lsl #1`, 'smmlar r10, r9, r5, r6', 'sub r10, r10, r9, lsr #31',
    'asr r10, r10, r8', 'ssat r10, #8, r10', ...(lut ? ['ldrb r10, [r11, r10]'] : []), 'strb r10, [r12], #1',
  ];
  const block = W16_BLOCK.map((l) => l.replace(/%\[x\]/g, 'r0').replace(/%\[w\]/g, 'r1').replace(/%\[a\]/g, 'r2').replace(/%\[b\]/g, 'r3'));
  const body = [
    'push {r4-r11, lr}', 'sub sp, sp, #32', 'ldmia r0, {r2-r8}', 'stmia sp, {r2, r4-r8}', 'mov r1, r3', 'mov lr, r4',
    'add r7, r2, r5, lsl #4',
    // entry into the x4 unrolled loop: nblk % 4 blocks first (0 -> a full round)
    'and r5, r5, #3', `adr.w r2, ${L}_0`, 'cmp r5, #1', 'it eq', `adreq.w r2, ${L}_3`, 'cmp r5, #2', 'it eq', `adreq.w r2, ${L}_2`,
    'cmp r5, #3', 'it eq', `adreq.w r2, ${L}_1`, 'orr r2, r2, #1', 'str r2, [sp, #24]',
    `${L}_p:`,
    'ldr r0, [sp]', 'movs r2, #0', 'movs r3, #0', 'ldr pc, [sp, #24]',
    '.p2align 2',
    `${L}_0:`, ...block, `${L}_1:`, ...block, `${L}_2:`, ...block, `${L}_3:`, ...block,
    'cmp r0, r7', `bne ${L}_0`,
    'ldr r0, [sp, #12]', 'ldr r12, [sp, #16]', ...(lut ? ['ldr r11, [sp, #20]'] : []),
    ...one('r2'), ...one('r3'),
    'str r0, [sp, #12]', 'str r12, [sp, #16]',
    'subs lr, lr, #1', `bne ${L}_p`,
    'add sp, sp, #32', 'pop {r4-r11, pc}',
  ];
  return dspAsmOrC(name, '(const tf_w16ctl_t *c)', body, `static void ${name}(const tf_w16ctl_t *c) {
  tf_dot2q_w16_c(c);
}`);
}

const DOT2Q_W16_C = `/* Arguments of the fused int16-weight routines (read by offset: keep the order). */
typedef struct {
  const uint32_t *xb, *w;
  uint32_t pairs, nblk;
  const int32_t *t;      /* {2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs} per channel */
  int8_t *y;
  const int8_t *lut;     /* entry 128 of the activation table, or 0 */
} tf_w16ctl_t;
#if !defined(TF_DSP_ASM)
/* C model of the fused int16-weight routines */
static void tf_dot2q_w16_c(const tf_w16ctl_t *c) {
  const uint32_t *w = c->w;
  const int32_t *t = c->t;
  int8_t *y = c->y;
  uint32_t p, k;
  for (p = 0; p < c->pairs; p++) {
    uint32_t s[2];
    tf_dot2_w16(c->xb, w, (int32_t)c->nblk, &s[0], &s[1]);
    w += 8 * c->nblk;
    for (k = 0; k < 2; k++, t += 4) {
      int32_t v2 = (int32_t)((uint32_t)t[0] + (s[k] << 1));
      int32_t v = (tf_smmulr(v2, t[1]) + t[2] - (int32_t)((uint32_t)v2 >> 31)) >> t[3];
      v = TF_SSAT8(v);
      if (c->lut) v = c->lut[v];
      *y++ = (int8_t)v;
    }
  }
}
#endif
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
  return dspAsmOrC(name, sig, body, `static void ${name}${sig} {
  tf_dot4_w8_c(xb, w, s, quads, nx, ${nblk}, ${acc ? 1 : 0});
}`);
}

/** Name of the quad routine with fused requantization (see quadFusedRoutine). */
function quadFusedName(nblk: number, acc: boolean, lut: boolean): string {
  return `tf_dot4q_w8_${nblk}${acc ? '_acc' : ''}${lut ? '_lut' : ''}`;
}

/** Requantization of one channel inside the fused quad routine: table row in r4-r7, result stored. */
function quadRqChannel(sum: string, form: string, lut: boolean): string[] {
  return [
    'ldmia r0!, {r4-r7}', `add r8, r4, ${sum}, ${form}`, 'smmlar r9, r8, r5, r6', 'sub r9, r9, r8, lsr #31',
    'asr r9, r9, r7', 'ssat r9, #8, r9', ...(lut ? ['ldrb r9, [r3, r9]'] : []), 'strb r9, [r2], #1',
  ];
}

/**
 * `void f(const tf_q4ctl_t *c)`: the quad kernel of quadRoutine, and per quad the four outputs
 * requantized in registers (tf_rq8x2 arithmetic, table {2 * bias, multiplier, C, rs} per channel) and
 * stored: no row sums in memory, about 8 instructions per output. `acc`: the last column chunk, earlier
 * chunks' plain sums (4 per quad) added first. `lut`: activation table (c->lut points at entry 128).
 * Frame: 0 xb, 4 quads left, 8 nx, 12 t, 16 y, 20 lut, 24 partial sums, 28 loop end.
 */
function quadFusedRoutine(nblk: number, acc: boolean, lut: boolean): string {
  const name = quadFusedName(nblk, acc, lut);
  const L = `.L${name}`;
  const body: string[] = [
    'push {r4-r11, lr}', 'sub sp, sp, #32', 'ldmia r0, {r2-r9}', 'stmia sp, {r2, r4-r9}', 'mov r1, r3',
    `${L}_q:`,
    'ldr r0, [sp]', 'ldr r10, [sp, #8]', 'mov r11, r10', 'mov r12, r10', 'mov lr, r10',
  ];
  // blocks unrolled up to 8, longer rows in x8 rounds (3 loop instructions per 216)
  if (nblk <= 8) {
    for (let k = 0; k < nblk; k++) body.push(...QUAD_BLOCK);
  } else {
    const rem = nblk % 8;
    for (let k = 0; k < rem; k++) body.push(...QUAD_BLOCK);
    body.push(`addw r2, r1, #${(nblk - rem) * 32}`, 'str r2, [sp, #28]', `${L}_l:`);
    for (let k = 0; k < 8; k++) body.push(...QUAD_BLOCK);
    body.push('ldr r6, [sp, #28]', 'cmp r1, r6', `bne ${L}_l`);
  }
  // S_a = U_ab (r11), 256 * S_b = R_ab - U_ab (r10), S_c = U_cd (lr), 256 * S_d = R_cd - U_cd (r12)
  body.push('ldr r0, [sp, #12]', 'ldr r2, [sp, #16]', ...(lut ? ['ldr r3, [sp, #20]'] : []), 'sub r10, r10, r11', 'sub r12, r12, lr');
  let forms: [string, string][] = [['r11', 'lsl #1'], ['r10', 'asr #7'], ['lr', 'lsl #1'], ['r12', 'asr #7']];
  if (acc) {
    body.push('asr r10, r10, #8', 'asr r12, r12, #8', 'ldr r9, [sp, #24]', 'ldmia r9!, {r4-r7}', 'str r9, [sp, #24]',
      'add r11, r11, r4', 'add r10, r10, r5', 'add lr, lr, r6', 'add r12, r12, r7');
    forms = forms.map(([r]) => [r, 'lsl #1']);
  }
  for (const [r, f] of forms) body.push(...quadRqChannel(r, f, lut));
  body.push(
    'str r0, [sp, #12]', 'str r2, [sp, #16]',
    'ldr r3, [sp, #4]', 'subs r3, r3, #1', 'str r3, [sp, #4]', `bne ${L}_q`,
    'add sp, sp, #32', 'pop {r4-r11, pc}',
  );
  return dspAsmOrC(name, '(const tf_q4ctl_t *c)', body, `static void ${name}(const tf_q4ctl_t *c) {
  tf_dot4q_c(c, ${nblk}, ${acc ? 1 : 0});
}`);
}

const DOT4Q_C = `/* Arguments of the fused quad routines (read by offset: keep the order). */
typedef struct {
  const uint32_t *xb, *w;
  uint32_t quads, nx;
  const int32_t *t;      /* {2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs} per channel */
  int8_t *y;
  const int8_t *lut;     /* entry 128 of the activation table, or 0 */
  const uint32_t *s;     /* earlier column chunks' sums (4 per quad), or 0 */
} tf_q4ctl_t;
#if !defined(TF_DSP_ASM)
/* C model of the fused quad routines */
static void tf_dot4q_c(const tf_q4ctl_t *c, int32_t nblk, int acc) {
  uint32_t sums[4];
  const int32_t *t = c->t;
  const uint32_t *s = c->s;
  int8_t *y = c->y;
  int32_t q, k;
  for (q = 0; q < (int32_t)c->quads; q++) {
    tf_dot4_w8_c(c->xb, c->w + 8 * nblk * q, sums, 1, c->nx, nblk, 0);
    for (k = 0; k < 4; k++, t += 4) {
      uint32_t a = sums[k] + (acc ? s[4 * q + k] : 0u);
      int32_t v2 = (int32_t)((uint32_t)t[0] + (a << 1));
      int32_t v = (tf_smmulr(v2, t[1]) + t[2] - (int32_t)((uint32_t)v2 >> 31)) >> t[3];
      v = TF_SSAT8(v);
      if (c->lut) v = c->lut[v];
      *y++ = (int8_t)v;
    }
  }
}
#endif
`;

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
/* c + SMMULR(a, b) in one SMMLAR (exact: c * 2^32 does not disturb the rounding) */
static inline int32_t tf_smmlar(int32_t a, int32_t b, int32_t c) {
#if defined(TF_DSP_ASM)
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
#else
  return (int32_t)((uint32_t)c + (uint32_t)tf_smmulr(a, b));
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
 * The shared dsp-int8 path (one C driver `tf_dense8` + two assembler routines for every layer, each layer
 * only a const descriptor). Weights keep the quad packing above; per 8 columns tf_q8x2 loads each
 * packed word once and feeds it to two input rows (UXTB16 shared): 2 LDRD + 10 ALU per 16 MACs, and
 * tf_rq8x2 requantizes both rows with one table load per channel (about 8 instructions per output).
 * The input is widened with an offset z chosen per layer (x + z, int16) so that the residual bias
 * r = bias - z * rowsum(w) fits int16: bias + acc = r + sum w * (x + z) exactly. Per output channel one
 * flash word: r (low half), shift bit (bit 16), multiplier mantissa bits 14..0 (bits 17..31; the
 * mantissa's top bit is always set, see quantizeMultiplierCompact). Layers with more than two distinct
 * shifts keep one right-shift byte per channel. At run time the words are decoded once per layer into a
 * stack table {2r, multiplier, 2^(rs-1) + (zp << rs), rs}, used by every row (REQUANT_FAST arithmetic
 * with the zero point folded into the rounding constant: exact, since floor((v + zp*2^rs) / 2^rs)
 * = floor(v / 2^rs) + zp and the emitter proves no overflow).
 */
interface Dense8Plan {
  z: number; cb: number; rs0: number; rsx: Uint8Array | null;
  /** compact: one word per channel (see above); full: {2 * bias, multiplier, C, rs} per channel */
  q: Uint32Array; full: boolean;
}

/**
 * Returns the plan, or null when the layer does not meet the shared path's preconditions. Layers whose
 * multipliers have 16-bit mantissas and whose residual biases fit int16 for some offset z get the compact
 * table (4 bytes per channel, decoded per call); others (e.g. TensorFlow Lite multipliers) keep the
 * 16-byte table the routines use directly.
 */
export function planDense8(step: DenseS8Step): Dense8Plan | null {
  const { inFeatures: n, outFeatures: m, weights } = step;
  if (!fastRequantOk(step) || m > 65535 || n > 65535 || (step.rows ?? 1) > 65535) return null;
  const rs = Array.from(step.shift, (s) => -s);
  const rs0 = Math.min(...rs), rsMax = Math.max(...rs);
  if (rs0 < 1 || rsMax > 30) return null;
  for (let o = 0; o < m; o++) {
    // tf_rq8x2 folds the zero point into C and uses the sign of v2: needs a non-negative multiplier
    if (step.multiplier[o] < 0 || (Math.abs(step.outZeroPoint) + 1) * 2 ** rs[o] > 2 ** 30) return null;
  }
  const rowsum = new Float64Array(m);
  for (let o = 0; o < m; o++) { let t = 0; for (let i = 0; i < n; i++) t += weights[o * n + i]; rowsum[o] = t; }
  let z = NaN;
  if (step.multiplier.every((v) => v >= 2 ** 30 && v % 2 ** 15 === 0)) {
    for (let k = 0; k <= 254 && Number.isNaN(z); k++) {
      const c = k % 2 ? (k + 1) / 2 : -k / 2; // 0, 1, -1, 2, -2, ...
      let ok = true;
      for (let o = 0; o < m && ok; o++) { const r = step.bias[o] - c * rowsum[o]; ok = r >= -32768 && r <= 32767; }
      if (ok) z = c;
    }
  }
  const full = Number.isNaN(z);
  if (full) z = 0;
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
  if (full) {
    const q = new Uint32Array(4 * m);
    for (let o = 0; o < m; o++) {
      q[4 * o] = (2 * step.bias[o]) >>> 0; q[4 * o + 1] = step.multiplier[o];
      q[4 * o + 2] = (2 ** (rs[o] - 1) + step.outZeroPoint * 2 ** rs[o]) >>> 0; q[4 * o + 3] = rs[o];
    }
    return { z, cb, rs0, rsx: null, q, full };
  }
  const q = new Uint32Array(m);
  for (let o = 0; o < m; o++) {
    const mult = step.multiplier[o];
    const r = step.bias[o] - z * rowsum[o];
    const bit = rsMax - rs0 <= 1 ? rs[o] - rs0 : 0;
    q[o] = ((r & 0xffff) | (bit << 16) | (((mult / 2 ** 15) & 0x7fff) << 17)) >>> 0;
  }
  return { z, cb, rs0, rsx: rsMax - rs0 <= 1 ? null : Uint8Array.from(rs), q, full };
}


/** One column pair (one LDRD of inputs, one of weights: 16 MACs) of tf_q8x2: accumulators r4-r11 are
 *  U1ab R1ab U2ab R2ab U1cd R1cd U2cd R2cd (U: low bytes, R: raw words; 1/2: input row). */
function x2Step(): string[] {
  return [
    'ldrd r2, r3, [r0], #8', 'ldrd r12, lr, [r1], #8',
    'smlad r5, r12, r2, r5', 'smlad r7, r12, r3, r7', 'smlad r9, lr, r2, r9', 'smlad r11, lr, r3, r11',
    'uxtb16 r12, r12', 'uxtb16 lr, lr',
    'smlad r4, r12, r2, r4', 'smlad r6, r12, r3, r6', 'smlad r8, lr, r2, r8', 'smlad r10, lr, r3, r10',
  ];
}

/**
 * `void tf_q8x2(const tf_q8ctl_t *c)`: widens two input rows (x + z as int16 pairs, interleaved: row 1 word
 * k at 2k, row 2 at 2k + 1, zero-padded to 8 columns) into c->xb, then for every row quad writes 8 words
 * to c->s: per row pair (ab, cd) {S_a row 1, 256*S_b row 1, S_a row 2, 256*S_b row 2} (no bias).
 * Stack frame: [0, 32) accumulator start values, 32 xb, 36 end of xb, 40 loop entry, 44 s, 48 end of w.
 * Per quad 13 instructions besides the 12 per column pair (3 more per four blocks for the loop).
 */
function x2Routine(): string {
  const name = 'tf_q8x2';
  const L = `.L${name}`;
  const block = [...x2Step(), ...x2Step(), ...x2Step(), ...x2Step()];
  const body = [
    'push {r4-r11, lr}', 'sub sp, sp, #56',
    'mov lr, r0', 'ldmia lr, {r0, r1, r2}', 'str r2, [sp, #32]',
    'ldr r3, [lr, #24]', 'ldr r12, [lr, #32]', 'mov r9, #0x10001', 'movs r10, #0', 'movs r11, #0',
    'cmp r12, #0', `beq ${L}_z`,
    `${L}_w:`,
    'ldr r4, [r0], #4', 'ldr r5, [r1], #4',
    'sxtb16 r6, r4, ror #8', 'sxtb16 r4, r4', 'sxtb16 r7, r5, ror #8', 'sxtb16 r5, r5',
    'sadd16 r4, r4, r12', 'sadd16 r5, r5, r12', 'sadd16 r6, r6, r12', 'sadd16 r7, r7, r12',
    'smlad r10, r4, r9, r10', 'smlad r10, r6, r9, r10', 'smlad r11, r5, r9, r11', 'smlad r11, r7, r9, r11',
    'stmia r2!, {r4-r7}', 'subs r3, r3, #1', `bne ${L}_w`, `b ${L}_e`,
    // z = 0: no offset to add
    `${L}_z:`,
    'ldr r4, [r0], #4', 'ldr r5, [r1], #4',
    'sxtb16 r6, r4, ror #8', 'sxtb16 r4, r4', 'sxtb16 r7, r5, ror #8', 'sxtb16 r5, r5',
    'smlad r10, r4, r9, r10', 'smlad r10, r6, r9, r10', 'smlad r11, r5, r9, r11', 'smlad r11, r7, r9, r11',
    'stmia r2!, {r4-r7}', 'subs r3, r3, #1', `bne ${L}_z`,
    `${L}_e:`,
    'ldr r3, [lr, #28]', `cbz r3, ${L}_p`,
    'movs r4, #0', 'movs r5, #0', 'movs r6, #0', 'movs r7, #0', 'stmia r2!, {r4-r7}',
    `${L}_p:`,
    'str r2, [sp, #36]',
    // accumulators start at -128 * (sum of the widened row) (the +128 bias of the low weight bytes)
    'rsb r4, r10, #0', 'lsl r4, r4, #7', 'rsb r6, r11, #0', 'lsl r6, r6, #7',
    'mov r5, r4', 'mov r7, r6', 'stmia sp, {r4-r7}', 'add r8, sp, #16', 'stmia r8, {r4-r7}',
    // entry into the x4 unrolled block loop: nblk % 4 blocks first (0: a full round)
    'ldr r3, [lr, #36]', 'and r2, r3, #3', 'cmp r2, #1', 'it eq', `adreq.w r4, ${L}_3`, 'cmp r2, #2', 'it eq', `adreq.w r4, ${L}_2`,
    'cmp r2, #3', 'it eq', `adreq.w r4, ${L}_1`, 'cmp r2, #0', 'it eq', `adreq.w r4, ${L}_0`,
    'orr r2, r4, #1', 'str r2, [sp, #40]',
    'ldr r1, [lr, #12]', 'ldr r2, [lr, #16]', 'str r2, [sp, #44]',
    'ldr r2, [lr, #20]', 'mul r3, r3, r2', 'add r3, r1, r3, lsl #5', 'str r3, [sp, #48]',
    `${L}_q:`,
    'ldmia sp, {r4-r11}', 'ldr r0, [sp, #32]', 'ldr pc, [sp, #40]',
    '.p2align 2',
    `${L}_0:`, ...block, `${L}_1:`, ...block, `${L}_2:`, ...block, `${L}_3:`, ...block,
    'ldr r2, [sp, #36]', 'cmp r0, r2', `bne ${L}_0`,
    'sub r5, r5, r4', 'sub r7, r7, r6', 'sub r9, r9, r8', 'sub r11, r11, r10',
    'ldr r2, [sp, #44]', 'stmia r2!, {r4-r11}', 'str r2, [sp, #44]',
    'ldr r3, [sp, #48]', 'cmp r1, r3', `bne ${L}_q`,
    'add sp, sp, #56', 'pop {r4-r11, pc}',
  ];
  return dspAsmOrC(name, '(const tf_q8ctl_t *c)', body, `/* C model of tf_q8x2 (same arithmetic and output layout) */
static void ${name}(const tf_q8ctl_t *c) {
  uint32_t *xb = c->xb, *s = c->s, x1 = 0, x2 = 0, v, a, b;
  const uint32_t *w = c->w;
  int32_t i, q, k;
  for (i = 0; i < (int32_t)c->nw; i++) {
    memcpy(&v, c->x1 + 4 * i, 4);
    a = TF_SADD16(TF_SXTB16(v), c->zz);
    b = TF_SADD16(TF_SXTB16(TF_ROR8(v)), c->zz);
    x1 = TF_SMLAD(b, 0x00010001u, TF_SMLAD(a, 0x00010001u, x1));
    xb[4 * i] = a;
    xb[4 * i + 2] = b;
    memcpy(&v, c->x2 + 4 * i, 4);
    a = TF_SADD16(TF_SXTB16(v), c->zz);
    b = TF_SADD16(TF_SXTB16(TF_ROR8(v)), c->zz);
    x2 = TF_SMLAD(b, 0x00010001u, TF_SMLAD(a, 0x00010001u, x2));
    xb[4 * i + 1] = a;
    xb[4 * i + 3] = b;
  }
  if (c->pad) memset(xb + 4 * i, 0, 16);
  x1 = 0u - 128u * x1;
  x2 = 0u - 128u * x2;
  for (q = 0; q < (int32_t)c->quads; q++) {
    uint32_t r[8];
    r[0] = r[1] = r[4] = r[5] = x1;
    r[2] = r[3] = r[6] = r[7] = x2;
    for (k = 0; k < 4 * (int32_t)c->nblk; k++) {
      uint32_t p = xb[2 * k], p2 = xb[2 * k + 1], wab = w[0], wcd = w[1];
      r[1] = TF_SMLAD(wab, p, r[1]);
      r[3] = TF_SMLAD(wab, p2, r[3]);
      r[5] = TF_SMLAD(wcd, p, r[5]);
      r[7] = TF_SMLAD(wcd, p2, r[7]);
      wab = TF_UXTB16(wab);
      wcd = TF_UXTB16(wcd);
      r[0] = TF_SMLAD(wab, p, r[0]);
      r[2] = TF_SMLAD(wab, p2, r[2]);
      r[4] = TF_SMLAD(wcd, p, r[4]);
      r[6] = TF_SMLAD(wcd, p2, r[6]);
      w += 2;
    }
    for (k = 0; k < 8; k += 2) {
      s[k] = r[k];
      s[k + 1] = r[k + 1] - r[k];
    }
    s += 8;
  }
}`);
}

/**
 * `void tf_q8x1(const tf_q8ctl_t *c)`: a lone input row (already widened by tf_extend_s8 into c->xb, no
 * offset z; c->zz = -128 * its sum) on the quad kernel (27 instructions per 32 MACs instead of the
 * two-row kernel on a duplicated row), each quad's sums stored twice in tf_q8x2's layout for tf_rq8x2.
 * Frame: 0 xb, 4 start value, 8 s, 12 end of xb, 16 loop entry, 20 end of w.
 */
function x1Routine(): string {
  const name = 'tf_q8x1';
  const L = `.L${name}`;
  const body = [
    'push {r4-r11, lr}', 'sub sp, sp, #24', 'mov lr, r0',
    'ldr r2, [lr, #8]', 'str r2, [sp]', 'ldr r3, [lr, #32]', 'str r3, [sp, #4]', 'ldr r3, [lr, #16]', 'str r3, [sp, #8]',
    'ldr r3, [lr, #36]', 'add r2, r2, r3, lsl #4', 'str r2, [sp, #12]',
    'and r2, r3, #3', 'cmp r2, #1', 'it eq', `adreq.w r4, ${L}_3`, 'cmp r2, #2', 'it eq', `adreq.w r4, ${L}_2`,
    'cmp r2, #3', 'it eq', `adreq.w r4, ${L}_1`, 'cmp r2, #0', 'it eq', `adreq.w r4, ${L}_0`, 'orr r4, r4, #1', 'str r4, [sp, #16]',
    'ldr r1, [lr, #12]', 'ldr r2, [lr, #20]', 'mul r3, r3, r2', 'add r3, r1, r3, lsl #5', 'str r3, [sp, #20]',
    `${L}_q:`,
    'ldr r0, [sp]', 'ldr r10, [sp, #4]', 'mov r11, r10', 'mov r12, r10', 'mov lr, r10', 'ldr pc, [sp, #16]',
    '.p2align 2',
    `${L}_0:`, ...QUAD_BLOCK, `${L}_1:`, ...QUAD_BLOCK, `${L}_2:`, ...QUAD_BLOCK, `${L}_3:`, ...QUAD_BLOCK,
    'ldr r6, [sp, #12]', 'cmp r0, r6', `bne ${L}_0`,
    // {S_a, 256 S_b, S_a, 256 S_b, S_c, 256 S_d, S_c, 256 S_d}
    'sub r3, r10, r11', 'sub r7, r12, lr', 'mov r2, r11', 'mov r4, r11', 'mov r5, r3', 'mov r6, lr', 'mov r8, lr', 'mov r9, r7',
    'ldr r0, [sp, #8]', 'stmia r0!, {r2-r9}', 'str r0, [sp, #8]',
    'ldr r6, [sp, #20]', 'cmp r1, r6', `bne ${L}_q`,
    'add sp, sp, #24', 'pop {r4-r11, pc}',
  ];
  return dspAsmOrC(name, '(const tf_q8ctl_t *c)', body, `/* C model of tf_q8x1 */
static void ${name}(const tf_q8ctl_t *c) {
  uint32_t *s = c->s, t[4];
  int32_t q, k;
  for (q = 0; q < (int32_t)c->quads; q++) {
    tf_dot4_w8_c(c->xb, c->w + 8 * c->nblk * q, t, 1, c->zz, (int32_t)c->nblk, 0);
    for (k = 0; k < 2; k++) {
      s[4 * k] = s[4 * k + 2] = t[2 * k];
      s[4 * k + 1] = s[4 * k + 3] = t[2 * k + 1] << 8;
    }
    s += 8;
  }
}`);
}

/** Requantization of one channel of both rows (asm lines): sums in `a1`/`a2`, `form` turns a sum into
 *  2 * (sum + bias) (`lsl #1` for S_a, `asr #7` for 256 * S_b); table {2r, m, C, rs} in r4-r7. */
function rqChannel(a1: string, a2: string, form: string, lut: boolean): string[] {
  const one = (v: string, t: string) => [
    `smmlar ${t}, ${v}, r5, r6`, `sub ${t}, ${t}, ${v}, lsr #31`, `asr ${t}, ${t}, r7`, `ssat ${t}, #8, ${t}`,
    ...(lut ? [`ldrb ${t}, [lr, ${t}]`] : []),
  ];
  return [
    'ldmia r1!, {r4-r7}', `add ${a1}, r4, ${a1}, ${form}`, `add ${a2}, r4, ${a2}, ${form}`,
    ...one(a1, 'r12'), ...one(a2, a1), `strb ${a1}, [r2, r3]`, 'strb r12, [r2], #1',
  ];
}

/**
 * `void tf_rq8x2(const tf_rqctl_t *c)`: requantizes the sums tf_q8x2 wrote, two channels per iteration,
 * both input rows with one table load per channel; per output: v2 = 2 * (sum + r) (one ADD with shifted
 * operand), SMMLAR(v2, m, C) = C + SMMULR(v2, m), minus (v2 < 0), ASR rs, SSAT 8, optional LUT, STRB.
 * (v2 < 0) replaces (x < 0) of REQUANT_FAST: they differ only when x = 0 > v2, where both give zp.
 */
function rqRoutine(): string {
  const name = 'tf_rq8x2';
  const L = `.L${name}`;
  const loop = (lut: boolean, tag: string) => [
    `${L}_${tag}:`,
    'ldmia r0!, {r8-r11}',
    ...rqChannel('r8', 'r10', 'lsl #1', lut), ...rqChannel('r9', 'r11', 'asr #7', lut),
    // the table end: on the stack when lr holds the LUT, in lr otherwise
    ...(lut ? ['ldr r12, [sp]', 'cmp r1, r12'] : ['cmp r1, lr']), `bne ${L}_${tag}`, 'b 9f',
  ];
  const body = [
    'push {r4-r11, lr}', 'mov r12, r0', 'ldmia r12, {r0-r3}', 'ldr lr, [r12, #16]', 'ldr r12, [r12, #20]', 'push {r12}',
    'cmp lr, #0', 'it eq', 'moveq lr, r12', `beq ${L}_n`, 'add lr, lr, #128',
    ...loop(true, 'l'), ...loop(false, 'n'),
    '9:', 'add sp, sp, #4', 'pop {r4-r11, pc}',
  ];
  return dspAsmOrC(name, '(const tf_rqctl_t *c)', body, `/* C model of tf_rq8x2 */
static void ${name}(const tf_rqctl_t *c) {
  const uint32_t *s = c->s;
  const int32_t *t = c->t;
  int8_t *y = c->y;
  int32_t k, j;
  for (; t != c->tend; t += 8, s += 4, y += 2) {
    for (k = 0; k < 2; k++) {
      for (j = 1; j >= 0; j--) {
        const int32_t *e = t + 4 * k;
        uint32_t u = s[2 * j + k];
        int32_t v2 = (int32_t)((uint32_t)e[0] + (k ? (uint32_t)((int32_t)u >> 7) : u << 1));
        int32_t v = (tf_smmulr(v2, e[1]) + e[2] - (int32_t)((uint32_t)v2 >> 31)) >> e[3];
        v = TF_SSAT8(v);
        if (c->lut) v = c->lut[v + 128];
        y[k + (j ? c->moff : 0)] = (int8_t)v;
      }
    }
  }
}`);
}

const DENSE8_COMMON = `#if defined(__ARM_FEATURE_DSP)
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
  const uint32_t *q;   /* per channel: residual bias r (low half), shift bit (16), mantissa bits (17..31),
                          or (full) {2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs} */
  const uint8_t *rsx;  /* per-channel right shifts, when the layer has more than two */
  const int8_t *lut;   /* activation table indexed by v + 128, or 0 */
  uint16_t n, m, rows, cb; /* in / out features, rows, blocks per column chunk */
  int8_t z, zp, lo, hi;    /* input offset, output zero point, activation range */
  uint8_t rs0;             /* right shift of shift bit 0 */
  uint8_t flags;           /* 1: q is the 4-word table itself (no compact words); 2: lut is packed (tf_lut_unpack) */
} tf_dense8_t;

/* tf_q8x2 arguments (the assembler reads them by offset: keep the order) */
typedef struct {
  const int8_t *x1, *x2;  /* two input rows (the same row twice for a lone last row) */
  uint32_t *xb;           /* widened rows, 8 * nblk words */
  const uint32_t *w;      /* packed weights of the column chunk */
  uint32_t *s;            /* 8 sums per quad */
  uint32_t quads, nw, pad, zz, nblk; /* quads, input words per row (n / 4), 1 if nw is odd, z pairs, blocks */
} tf_q8ctl_t;

/* tf_rq8x2 arguments (read by offset) */
typedef struct {
  const uint32_t *s;      /* tf_q8x2 sums */
  const int32_t *t;       /* decoded table, 4 words per channel */
  int8_t *y;              /* row 1 output; row 2 at y + moff (moff 0: one row) */
  int32_t moff;
  const int8_t *lut;
  const int32_t *tend;    /* t + 4 * m (m even) */
} tf_rqctl_t;

/* Activation table packed as its first entry and 255 nibbles (entry k + 1 - entry k + 8): 129 bytes of
   flash instead of 256, unpacked per call (lut has 257 bytes: the last nibble is padding). */
static void tf_lut_unpack(const uint8_t *z, int8_t *lut) {
  int32_t v = (int8_t)z[0], k;
  lut[0] = (int8_t)v;
  for (k = 0; k < 128; k++) {
    uint32_t b = z[1 + k];
    v += (int32_t)(b & 15u) - 8;
    lut[2 * k + 1] = (int8_t)v;
    v += (int32_t)(b >> 4) - 8;
    lut[2 * k + 2] = (int8_t)v;
  }
}

/* Decodes the per-channel words into {2r, m, 2^(rs-1) + (zp << rs), rs} (used by every row). The two
   possible {C, rs} of the shift bit are formed once per layer. */
static void tf_d8_table(const tf_dense8_t *d, int32_t *t) {
  const uint32_t *q = d->q, *qe = d->q + d->m;
  const int32_t rs0 = d->rs0, zp = d->zp;
  const int32_t c0 = (int32_t)((1u << (rs0 - 1)) + ((uint32_t)zp << rs0)), c1 = (int32_t)((1u << rs0) + ((uint32_t)zp << (rs0 + 1)));
  const uint8_t *rsx = d->rsx;
  for (; q != qe; q++, t += 4) {
    uint32_t w = *q;
    t[0] = (int32_t)(int16_t)(w & 0xffffu) * 2;
    t[1] = (int32_t)(0x40000000u | ((w >> 2) & 0x3fff8000u));
    if (rsx) {
      int32_t rs = *rsx++;
      t[2] = (int32_t)((1u << (rs - 1)) + ((uint32_t)zp << rs));
      t[3] = rs;
    } else {
      int32_t b = (int32_t)((w >> 16) & 1u);
      t[2] = b ? c1 : c0;
      t[3] = rs0 + b;
    }
  }
}
`;

const DENSE8_FAST = `/* Shared-path layer with one column chunk, n % 4 == 0, even m and the full int8 range: per row pair
   one tf_q8x2 (widen + sums) and one tf_rq8x2 (requantize, LUT). */
static TF_NOINLINE void tf_dense8(const tf_dense8_t *d, const int8_t *x, int8_t *y) {
  const int32_t n = d->n, m = d->m, rows = d->rows;
  const int32_t quads = (m + 3) >> 2, nblk = (n + 7) >> 3;
  uint32_t xb[8 * nblk];
  uint32_t s[8 * quads];
  int32_t tb[(d->flags & 1) ? 1 : 4 * m];
  const int32_t *t = (d->flags & 1) ? (const int32_t *)d->q : tb;
  int8_t lb[257];
  tf_q8ctl_t c;
  tf_rqctl_t q;
  int32_t r;
  if (!(d->flags & 1)) tf_d8_table(d, tb);
  q.lut = d->lut;
  if (d->flags & 2) {
    tf_lut_unpack((const uint8_t *)d->lut, lb);
    q.lut = lb;
  }
  c.xb = xb;
  c.w = d->w;
  c.s = s;
  c.quads = (uint32_t)quads;
  c.nw = (uint32_t)n >> 2;
  c.pad = c.nw & 1u;
  c.zz = ((uint32_t)(uint16_t)(int16_t)d->z) * 0x00010001u;
  c.nblk = (uint32_t)nblk;
  q.s = s;
  q.t = t;
  q.tend = t + 4 * m;
  for (r = 0; r < rows; r += 2) {
    c.x1 = x;
    c.x2 = r + 1 < rows ? x + n : x;
    tf_q8x2(&c);
    q.y = y;
    q.moff = r + 1 < rows ? m : 0;
    tf_rq8x2(&q);
    x += 2 * n;
    y += 2 * m;
  }
}
`;

const DENSE8_SINGLE = `/* Shared-path layer over one input row with z = 0 (fast-path conditions otherwise): the row widened once,
   tf_q8x1 (quad kernel), tf_rq8x2 with both "rows" the same. */
static TF_NOINLINE void tf_dense8s(const tf_dense8_t *d, const int8_t *x, int8_t *y) {
  const int32_t n = d->n, m = d->m;
  const int32_t quads = (m + 3) >> 2, nblk = (n + 7) >> 3;
  uint32_t xb[4 * nblk];
  uint32_t s[8 * quads];
  int32_t tb[(d->flags & 1) ? 1 : 4 * m];
  const int32_t *t = (d->flags & 1) ? (const int32_t *)d->q : tb;
  int8_t lb[257];
  tf_q8ctl_t c;
  tf_rqctl_t q;
  if (!(d->flags & 1)) tf_d8_table(d, tb);
  q.lut = d->lut;
  if (d->flags & 2) {
    tf_lut_unpack((const uint8_t *)d->lut, lb);
    q.lut = lb;
  }
  c.xb = xb;
  c.w = d->w;
  c.s = s;
  c.quads = (uint32_t)quads;
  c.nblk = (uint32_t)nblk;
  c.zz = 0u - 128u * tf_extend_s8(x, xb, n, 8 * nblk);
  tf_q8x1(&c);
  q.s = s;
  q.t = t;
  q.tend = t + 4 * m;
  q.y = y;
  q.moff = 0;
  tf_rq8x2(&q);
}
`;

const DENSE8_GENERAL = `/* Shared-path layer in general (several column chunks, activation clamps, n % 4 != 0, odd m): tf_q8x2 per
   chunk, exact int32 sums accumulated and requantized in C. */
static TF_NOINLINE void tf_dense8x(const tf_dense8_t *d, const int8_t *x, int8_t *y) {
  const int32_t n = d->n, m = d->m, rows = d->rows, cb = d->cb;
  const int32_t quads = (m + 3) >> 2, nblk = (n + 7) >> 3, lo = d->lo, hi = d->hi;
  uint32_t xb[8 * cb];
  uint32_t s[8 * quads];
  int32_t acc[8 * quads];
  int8_t xp[2][8 * nblk];
  int32_t tb[(d->flags & 1) ? 1 : 4 * m];
  const int32_t *t = (d->flags & 1) ? (const int32_t *)d->q : tb;
  int8_t lb[257];
  const int8_t *lut = d->lut;
  tf_q8ctl_t c;
  int32_t r, b0, o, j;
  if (!(d->flags & 1)) tf_d8_table(d, tb);
  if (d->flags & 2) {
    tf_lut_unpack((const uint8_t *)d->lut, lb);
    lut = lb;
  }
  memset(xp, 0, sizeof(xp));
  c.xb = xb;
  c.s = s;
  c.quads = (uint32_t)quads;
  c.zz = ((uint32_t)(uint16_t)(int16_t)d->z) * 0x00010001u;
  for (r = 0; r < rows; r += 2) {
    const int8_t *x1 = x, *x2 = r + 1 < rows ? x + n : x;
    if (n & 3) { /* whole words only: zero-padded copies */
      memcpy(xp[0], x1, (size_t)n);
      memcpy(xp[1], x2, (size_t)n);
      x1 = xp[0];
      x2 = xp[1];
    }
    memset(acc, 0, sizeof(acc));
    for (b0 = 0; b0 < nblk; b0 += cb) {
      int32_t nb = nblk - b0 < cb ? nblk - b0 : cb, c0 = 8 * b0;
      int32_t nr = n - c0 < 8 * nb ? n - c0 : 8 * nb;
      c.x1 = x1 + c0;
      c.x2 = x2 + c0;
      c.w = d->w + 8 * quads * b0;
      c.nw = (uint32_t)(nr + 3) >> 2;
      c.pad = (uint32_t)(2 * nb) - c.nw;
      c.nblk = (uint32_t)nb;
      tf_q8x2(&c);
      for (o = 0; o < 8 * quads; o++) acc[o] += (o & 1) ? (int32_t)s[o] >> 8 : (int32_t)s[o];
    }
    for (j = 0; j < 2 && r + j < rows; j++) {
      const int32_t *e = t;
      for (o = 0; o < m; o++, e += 4) {
        int32_t a = acc[8 * (o >> 2) + 4 * ((o >> 1) & 1) + 2 * j + (o & 1)];
        int32_t v2 = (int32_t)((uint32_t)e[0] + ((uint32_t)a << 1));
        int32_t v = (tf_smmulr(v2, e[1]) + e[2] - (int32_t)((uint32_t)v2 >> 31)) >> e[3];
        v = TF_SSAT8(v);
        v = v < lo ? lo : v > hi ? hi : v;
        if (lut) v = lut[v + 128];
        y[j * m + o] = (int8_t)v;
      }
    }
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

/** The 129-byte packed form of an activation table (see tf_lut_unpack), or null when a step exceeds [-8, 7]. */
export function packLut(lut: Int8Array): Uint8Array | null {
  const z = new Uint8Array(129);
  z[0] = lut[0] & 0xff;
  for (let k = 1; k < 256; k++) {
    const d = lut[k] - lut[k - 1];
    if (d < -8 || d > 7) return null;
    z[1 + ((k - 1) >> 1)] |= (d + 8) << (((k - 1) & 1) * 4);
  }
  z[128] |= 8 << 4; // padding nibble: delta 0
  return z;
}

/** The shared dsp-int8 emission, or null when the layer needs the per-layer code. */
function emitDense8Shared(step: DenseS8Step, fn: string, helpers: Record<string, string>): string | null {
  if ((step.rows ?? 1) === 1 && step.weights.length <= SINGLE_ROW_PER_LAYER_MAX_WEIGHTS) return null;
  const plan = planDense8(step);
  if (!plan) return null;
  const { inFeatures: n, outFeatures: m } = step;
  const rows = step.rows ?? 1;
  const fast = plan.cb >= Math.ceil(n / 8) && n % 4 === 0 && m % 2 === 0 && step.actMin === -128 && step.actMax === 127;
  helpers.dsp = DSP_PRIMS;
  helpers.requant_fast = REQUANT_FAST;
  helpers.dense8 = DENSE8_COMMON;
  helpers.q8x2 = x2Routine();
  // one row (a large single-row layer): the quad kernel when no input offset is needed
  const single = fast && rows === 1 && plan.z === 0;
  if (fast) {
    helpers.rq8x2 = rqRoutine();
    if (single) {
      helpers.dot4_c = DOT4_C;
      helpers.q8x1 = x1Routine();
      helpers.dense8_single = DENSE8_SINGLE;
    } else helpers.dense8_fast = DENSE8_FAST;
  } else helpers.dense8_general = DENSE8_GENERAL;
  let code = `/* ${step.name}: dense ${n} -> ${m}${rows > 1 ? ` x ${rows} rows` : ''}, int8 weights (shared dsp-int8 path, ${plan.full ? 'full table' : `z = ${plan.z}`}) */\n`;
  code += cConstArray('uint32_t', `${fn}_w`, packDenseS8(step, 'dsp-int8', plan.cb), cHex32, 8);
  code += cConstArray('uint32_t', `${fn}_q`, plan.q, cHex32, 8);
  if (plan.rsx) code += cConstArray('uint8_t', `${fn}_rs`, plan.rsx);
  const packed = step.lut ? packLut(step.lut) : null;
  if (packed) code += `/* activation table: first entry, then nibble deltas + 8 (tf_lut_unpack) */\n` + cConstArray('uint8_t', `${fn}_lut`, packed);
  else if (step.lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut, i8);
  const lutRef = packed ? `(const int8_t *)${fn}_lut` : step.lut ? `${fn}_lut` : '0';
  code += `static const tf_dense8_t ${fn}_d = { ${fn}_w, ${fn}_q, ${plan.rsx ? `${fn}_rs` : '0'}, ${lutRef}, ${n}, ${m}, ${rows}, ${plan.cb}, ${plan.z}, ${step.outZeroPoint}, ${step.actMin}, ${step.actMax}, ${plan.rs0}, ${(plan.full ? 1 : 0) | (packed ? 2 : 0)} };
static void ${fn}(const int8_t *x, int8_t *y) {
  ${single ? 'tf_dense8s' : fast ? 'tf_dense8' : 'tf_dense8x'}(&${fn}_d, x, y);
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
  return dspAsmOrC(name, sig, body, `static void ${name}${sig} {
  tf_dot4_w4_c(xb, w, s, quads, nx, ${nblk}, ${acc ? 1 : 0});
}`);
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

/** True when the quad routines can requantize in registers (tf_rq8x2 arithmetic, full int8 range). */
function fusedQuadOk(step: DenseS8Step): boolean {
  if (!fastRequantOk(step) || step.actMin !== -128 || step.actMax !== 127) return false;
  for (let o = 0; o < step.outFeatures; o++) {
    const rs = -step.shift[o];
    if (step.multiplier[o] < 0 || rs > 30 || (Math.abs(step.outZeroPoint) + 1) * 2 ** rs > 2 ** 30) return false;
  }
  return true;
}

/** The {2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs} table of the fused routines, `channels` long. */
function fusedTable(step: DenseS8Step, channels: number): Int32Array {
  const t = new Uint32Array(4 * channels); // padding channels stay 0 (their outputs go to a scratch buffer)
  for (let o = 0; o < step.outFeatures; o++) {
    const rs = -step.shift[o];
    t[4 * o] = (2 * step.bias[o]) >>> 0; t[4 * o + 1] = step.multiplier[o];
    t[4 * o + 2] = (2 ** (rs - 1) + step.outZeroPoint * 2 ** rs) >>> 0; t[4 * o + 3] = rs;
  }
  return Int32Array.from(t);
}

/** dsp-int16 layer (pre-extended weights) with fused requantization, one input row at a time. */
function emitDense16Fused(step: DenseS8Step, fn: string, helpers: Record<string, string>): string {
  const { inFeatures: n, outFeatures: m } = step;
  const rows = step.rows ?? 1;
  const blocks = Math.ceil(n / 8), pairs = Math.ceil(m / 2), lut = !!step.lut, pad = m % 2 !== 0;
  helpers.dsp = DSP_PRIMS;
  helpers.requant_fast = REQUANT_FAST;
  helpers.dot_w16 = DOT_W16;
  helpers.dot2q_w16_c = DOT2Q_W16_C;
  const name = `tf_dot2q_w16${lut ? '_lut' : ''}`;
  helpers[name] = w16FusedRoutine(lut);
  let code = cConstArray('uint32_t', `${fn}_w`, packDenseS8(step, 'dsp-int16'), cHex32, 8);
  code += `/* per output channel: 2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs */\n` + cConstArray('int32_t', `${fn}_t`, fusedTable(step, 2 * pairs), cInt32, 8);
  if (lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut!, i8);
  return `${code}static void ${fn}(const int8_t *x, int8_t *y) {
  uint32_t xb[${blocks * 4}]; /* int16 input pairs */
${pad ? `  int8_t yb[${2 * pairs}];\n` : ''}  tf_w16ctl_t c;
  int32_t r;
  c.xb = xb;
  c.w = ${fn}_w;
  c.pairs = ${pairs};
  c.nblk = ${blocks};
  c.lut = ${lut ? `${fn}_lut + 128` : '0'};
  for (r = 0; r < ${rows}; r++) {
    (void)tf_extend_s8(x, xb, ${n}, ${8 * blocks});
    c.t = ${fn}_t;
    c.y = ${pad ? 'yb' : 'y'};
    ${name}(&c);
${pad ? `    memcpy(y, yb, ${m});\n` : ''}    x += ${n};
    y += ${m};
  }
}\n`;
}

/** dsp-int8 layer on the quad routines with fused requantization (one input row at a time). */
function emitDense8Fused(step: DenseS8Step, fn: string, helpers: Record<string, string>): string {
  const { inFeatures: n, outFeatures: m } = step;
  const rows = step.rows ?? 1;
  const blocks = Math.ceil(n / 8), quads = Math.ceil(m / 4), lut = !!step.lut;
  helpers.dsp = DSP_PRIMS;
  helpers.requant_fast = REQUANT_FAST;
  helpers.dot4_c = DOT4_C;
  helpers.dot4q_c = DOT4Q_C;
  let code = cConstArray('uint32_t', `${fn}_w`, packDenseS8(step, 'dsp-int8'), cHex32, 8);
  code += `/* per output channel: 2 * bias, multiplier, 2^(rs-1) + (zp << rs), rs */\n` + cConstArray('int32_t', `${fn}_t`, fusedTable(step, 4 * quads), cInt32, 8);
  if (lut) code += cConstArray('int8_t', `${fn}_lut`, step.lut!, i8);
  let body = '';
  const last = Math.floor((blocks - 1) / CHUNK_BLOCKS) * CHUNK_BLOCKS;
  for (let b0 = 0; b0 < last; b0 += CHUNK_BLOCKS) { // earlier column chunks: plain sums into s
    helpers[quadName(CHUNK_BLOCKS, b0 > 0)] = quadRoutine(CHUNK_BLOCKS, b0 > 0);
    body += `    nx = 0u - 128u * tf_extend_s8(x + ${8 * b0}, xb + ${4 * b0}, ${8 * CHUNK_BLOCKS}, ${8 * CHUNK_BLOCKS});
    ${quadName(CHUNK_BLOCKS, b0 > 0)}(xb + ${4 * b0}, ${fn}_w + ${8 * quads * b0}, s, ${quads}, nx);\n`;
  }
  const nb = blocks - last, acc = last > 0, name = quadFusedName(nb, acc, lut);
  helpers[name] = quadFusedRoutine(nb, acc, lut);
  const pad = m % 4 !== 0;
  body += `    c.nx = 0u - 128u * tf_extend_s8(x + ${8 * last}, xb + ${4 * last}, ${n - 8 * last}, ${8 * nb});
    c.t = ${fn}_t;
    c.y = ${pad ? 'yb' : 'y'};
    ${name}(&c);
${pad ? `    memcpy(y, yb, ${m});\n` : ''}`;
  return `${code}static void ${fn}(const int8_t *x, int8_t *y) {
  uint32_t xb[${blocks * 4}]; /* int16 input pairs */
${acc ? `  uint32_t s[${4 * quads}]; /* sums of the earlier column chunks */\n  uint32_t nx;\n` : ''}${pad ? `  int8_t yb[${4 * quads}];\n` : ''}  tf_q4ctl_t c;
  int32_t r;
  c.xb = xb + ${4 * last};
  c.w = ${fn}_w + ${8 * quads * last};
  c.quads = ${quads};
  c.lut = ${lut ? `${fn}_lut + 128` : '0'};
  c.s = ${acc ? 's' : '0'};
  for (r = 0; r < ${rows}; r++) {
${body}    x += ${n};
    y += ${m};
  }
}\n`;
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
    if (fusedQuadOk(step)) return { helpers, includes: ['stdint.h', 'string.h'], code: code + emitDense8Fused(step, fn, helpers) };
  }
  if (kernel === 'dsp-int16' && fusedQuadOk(step)) return { helpers, includes: ['stdint.h', 'string.h'], code: code + emitDense16Fused(step, fn, helpers) };
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
