// int8 / int4 dense over rows with vectorised TFLite requantization (semantics: compiler/plan/program.ts).
// Layers whose requantization the compiler proves fits a checked f32 estimate run dense_i8_t / dense_i4_t (last
// section); the kernels below serve the others.
//
// Loop order: blocks of 4 outputs outside, input rows inside, so a block's weights stay hot: narrow layers
// (n <= 16) keep them in registers; wider ones widen the input rows to i16 once per call and each block's
// weights (int8 or int4) to i16 once, so the inner loop is loads and i32x4.dot_i16x8_s only, two rows per pass.
// The 4 dot products of a block are reduced to one i32x4 and requantized lane-parallel (an i32-only path for
// blocks with 16-bit multiplier mantissas, see requant4); an activation table is applied in a final pass:
//   srdhm(a, M) = (i64(a) * M + 2^30) >> 31   (== TFLite's nudge + truncating division, for M != INT32_MIN;
//                                               the emitter refuses a multiplier of INT32_MIN). Only the low 32
//                                               bits are kept, so a logical i64 shift serves (x64 has no
//                                               arithmetic one for i64 lanes).
//   rdbpot(x, e) = (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))
// Constants per block of 4 outputs (QB bytes, written by compiler/ops/dense/wasm.ts):
//   +0 bias i32x4, +16 multiplier, +32 1 << leftShift, +48 mask, +64 mask >> 1 (mask = 2^rightShift - 1),
//   +80 2^(31 - rightShift) (0 where rightShift = 0), +96 -1 where rightShift = 0 else 0
// Weight layouts (rows padded to a multiple of 8 outputs with zero weights):
//   int8 n <= 8: 8 bytes per output; n <= 16: 16 bytes; wider: `stride` bytes (a multiple of 16)
//   int4 (two's complement nibbles) per block of B columns in B/2 bytes: byte k holds column k in its low
//   nibble and column B/2 + k in its high nibble; n <= 8: B = 8; n <= 16: B = 16; wider: B = 32 repeated.
// Inputs are rows of n int8 at x + r*n, read in whole blocks (past n: zero weights; the backend leaves 32
// bytes of slack after every region). x and y must not overlap.

export const QB: i32 = 112;

import { srdhm4, shiftRight4 } from './simd_requant';

// Static work buffers of the wide kernels (zero-initialised static data of the kernel module; the guard word
// after them keeps them inside the module's data segments, which the backend places the model's memory after).
const XBUF_BYTES: usize = 16384;
const WBUF_BYTES: usize = 8192;
const xbuf: usize = memory.data(<i32>XBUF_BYTES, 16);
const wbuf: usize = memory.data(<i32>WBUF_BYTES, 16);
const qf: usize = memory.data(2 * 48, 16);
const guard: usize = memory.data<u32>([0x7f7f7f7f]);

// i32-only requantization of a block whose multipliers all have 16-bit mantissas (M = Mc * 2^15, as the quantizer
// emits per-channel multipliers), no left shift and right shifts e <= 16. With x = xh * 2^16 + xl (xl in [0, 2^16)):
//   srdhm(x, M) = floor((x * Mc + 2^15) / 2^16) = xh * Mc + ((xl * Mc + 2^15) >>> 16)   (u32 arithmetic, no overflow)
//   floor(s / 2^e) = sh * 2^(16-e) + ((sl * 2^(16-e)) >>> 16)                           (s = sh * 2^16 + sl)
// then TFLite's rounding correction as in the general path. Per block at f (QF bytes): +0 Mc, +16 2^(16-e), +32 flag.
const QF: usize = 48;

/** Fills the i32 fast-path constants of the block at q into f and sets its flag when the fast path applies. */
function prepBlock(q: usize, f: usize): void {
  let fast = 1;
  for (let l: usize = 0; l < 4; l++) {
    const m = load<i32>(q + 16 + (l << 2)), lmul = load<i32>(q + 32 + (l << 2)), mask = load<i32>(q + 48 + (l << 2));
    const e = popcnt(mask);
    if (lmul != 1 || m < 0 || (m & 0x7fff) != 0 || e > 16) fast = 0;
    store<i32>(f + (l << 2), m >>> 15);
    store<i32>(f + 16 + (l << 2), e <= 16 ? 1 << (16 - e) : 0);
  }
  store<i32>(f + 32, fast);
}

/**
 * multiplyByQuantizedMultiplier per lane (constants at q, block prepared at f by prepBlock); then clamp(v + zp)
 * via [lo, hi] = [min - zp, max - zp].
 */
@inline function requant4(acc: v128, q: usize, f: usize, lo: v128, hi: v128, zp: v128): v128 {
  let v: v128;
  if (load<i32>(f, 32) != 0) {
    const x = i32x4.add(acc, v128.load(q));
    const mc = v128.load(f);
    const lo16 = i32x4.splat(0xffff);
    const s = i32x4.add(i32x4.mul(i32x4.shr_s(x, 16), mc),
      i32x4.shr_u(i32x4.add(i32x4.mul(v128.and(x, lo16), mc), i32x4.splat(0x8000)), 16));
    const p = v128.load(f, 16);
    const fl = i32x4.add(i32x4.mul(i32x4.shr_s(s, 16), p), i32x4.shr_u(i32x4.mul(v128.and(s, lo16), p), 16));
    const rem = v128.and(s, v128.load(q, 48));
    const thr = i32x4.sub(v128.load(q, 64), i32x4.shr_s(s, 31));
    v = i32x4.sub(fl, i32x4.gt_s(rem, thr));
  } else {
    let x = i32x4.mul(i32x4.add(acc, v128.load(q)), v128.load(q, 32));
    x = srdhm4(x, v128.load(q, 16));
    const rem = v128.and(x, v128.load(q, 48));
    const thr = i32x4.sub(v128.load(q, 64), i32x4.shr_s(x, 31));
    v = i32x4.sub(shiftRight4(x, v128.load(q, 80), v128.load(q, 96)), i32x4.gt_s(rem, thr));
  }
  return i32x4.add(i32x4.min_s(i32x4.max_s(v, lo), hi), zp);
}

/** Four i32x4 partial-sum vectors -> [sum d0, sum d1, sum d2, sum d3]. */
@inline function reduce4(d0: v128, d1: v128, d2: v128, d3: v128): v128 {
  const t0 = i32x4.add(i32x4.shuffle(d0, d1, 0, 4, 1, 5), i32x4.shuffle(d0, d1, 2, 6, 3, 7));
  const t1 = i32x4.add(i32x4.shuffle(d2, d3, 0, 4, 1, 5), i32x4.shuffle(d2, d3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** Stores `cnt` (1..4) int8 lanes of v (values already in [-128, 127]) at y. */
@inline function store4(v: v128, y: usize, cnt: i32): void {
  const h = i16x8.narrow_i32x4_s(v, v);
  const b = i8x16.narrow_i16x8_s(h, h);
  if (cnt == 4) {
    v128.store32_lane(y, b, 0);
  } else {
    store<i8>(y, i8x16.extract_lane_s(b, 0));
    if (cnt > 1) store<i8>(y + 1, i8x16.extract_lane_s(b, 1));
    if (cnt > 2) store<i8>(y + 2, i8x16.extract_lane_s(b, 2));
  }
}

/** The activation table, applied in one pass over the layer's output once all of it is written: y = lut[y + 128]. */
function applyLut(y: usize, count: i32, lut: usize): void {
  const t = lut + 128;
  const end = y + <usize>count;
  let p = y;
  for (; p + 4 <= end; p += 4) {
    const a = load<i8>(p), b = load<i8>(p, 1), c = load<i8>(p, 2), d = load<i8>(p, 3);
    store<i8>(p, load<i8>(t + <usize>a));
    store<i8>(p, load<i8>(t + <usize>b), 1);
    store<i8>(p, load<i8>(t + <usize>c), 2);
    store<i8>(p, load<i8>(t + <usize>d), 3);
  }
  for (; p < end; p++) store<i8>(p, load<i8>(t + <usize>load<i8>(p)));
}

@inline function dot(a: v128, b: v128): v128 {
  return i32x4.dot_i16x8_s(a, b);
}

/** Sign-extended low / high nibbles of 16 packed bytes (as i8x16). */
@inline function nibLo(v: v128): v128 {
  return i8x16.shr_s(i8x16.shl(v, 4), 4);
}
@inline function nibHi(v: v128): v128 {
  return i8x16.shr_s(v, 4);
}

// ---------- n <= 8: two input rows per vector, the block's weights in registers ----------

@inline function rowsN8(x: usize, n: i32, rows: i32, w0: v128, w1: v128, w2: v128, w3: v128, q: usize,
  lo: v128, hi: v128, zp: v128, y: usize, m: i32, cnt: i32): void {
  const nb = <usize>n, mb = <usize>m;
  prepBlock(q, qf);
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const xr = x + <usize>r * nb;
    const xv = v128.load64_lane(xr + nb, v128.load64_zero(xr), 1);
    const xl = i16x8.extend_low_i8x16_s(xv), xh = i16x8.extend_high_i8x16_s(xv);
    const yr = y + <usize>r * mb;
    store4(requant4(reduce4(dot(xl, w0), dot(xl, w1), dot(xl, w2), dot(xl, w3)), q, qf, lo, hi, zp), yr, cnt);
    store4(requant4(reduce4(dot(xh, w0), dot(xh, w1), dot(xh, w2), dot(xh, w3)), q, qf, lo, hi, zp), yr + mb, cnt);
  }
  if (r < rows) {
    const xl = i16x8.extend_low_i8x16_s(v128.load64_zero(x + <usize>r * nb));
    store4(requant4(reduce4(dot(xl, w0), dot(xl, w1), dot(xl, w2), dot(xl, w3)), q, qf, lo, hi, zp), y + <usize>r * mb, cnt);
  }
}

export function dense_i8_n8(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  for (let o = 0; o < m; o += 4) {
    const wo = w + (<usize>o << 3);
    const cnt = m - o < 4 ? m - o : 4;
    rowsN8(x, n, rows, v128.load8x8_s(wo), v128.load8x8_s(wo, 8), v128.load8x8_s(wo, 16), v128.load8x8_s(wo, 24),
      q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>o, m, cnt);
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

/** 4 packed bytes (low nibbles: columns 0..3, high: 4..7) -> i16x8 of the 8 weights. */
@inline function unpack8(p: usize): v128 {
  const v = v128.load32_zero(p);
  return i16x8.extend_low_i8x16_s(i8x16.shuffle(nibLo(v), nibHi(v), 0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0));
}

export function dense_i4_n8(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  for (let o = 0; o < m; o += 4) {
    const wo = w + (<usize>o << 2);
    const cnt = m - o < 4 ? m - o : 4;
    rowsN8(x, n, rows, unpack8(wo), unpack8(wo + 4), unpack8(wo + 8), unpack8(wo + 12),
      q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>o, m, cnt);
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

// ---------- n <= 16: one input row per vector, the block's weights in registers ----------

@inline function rowsN16(x: usize, n: i32, rows: i32, a0: v128, b0: v128, a1: v128, b1: v128, a2: v128, b2: v128, a3: v128, b3: v128,
  q: usize, lo: v128, hi: v128, zp: v128, y: usize, m: i32, cnt: i32): void {
  const nb = <usize>n, mb = <usize>m;
  prepBlock(q, qf);
  for (let r = 0; r < rows; r++) {
    const xv = v128.load(x + <usize>r * nb);
    const xl = i16x8.extend_low_i8x16_s(xv), xh = i16x8.extend_high_i8x16_s(xv);
    const s = reduce4(i32x4.add(dot(xl, a0), dot(xh, b0)), i32x4.add(dot(xl, a1), dot(xh, b1)),
      i32x4.add(dot(xl, a2), dot(xh, b2)), i32x4.add(dot(xl, a3), dot(xh, b3)));
    store4(requant4(s, q, qf, lo, hi, zp), y + <usize>r * mb, cnt);
  }
}

export function dense_i8_n16(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  for (let o = 0; o < m; o += 4) {
    const wo = w + (<usize>o << 4);
    const cnt = m - o < 4 ? m - o : 4;
    rowsN16(x, n, rows,
      v128.load8x8_s(wo), v128.load8x8_s(wo, 8), v128.load8x8_s(wo, 16), v128.load8x8_s(wo, 24),
      v128.load8x8_s(wo, 32), v128.load8x8_s(wo, 40), v128.load8x8_s(wo, 48), v128.load8x8_s(wo, 56),
      q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>o, m, cnt);
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

export function dense_i4_n16(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  for (let o = 0; o < m; o += 4) {
    const wo = w + (<usize>o << 3);
    const cnt = m - o < 4 ? m - o : 4;
    // unpacked to int8 in wbuf first: weights loaded like int8 ones keep the row loop as fast
    for (let k: usize = 0; k < 4; k++) {
      const v = v128.load64_zero(wo + (k << 3));
      v128.store64_lane(wbuf + (k << 4), nibLo(v), 0);
      v128.store64_lane(wbuf + (k << 4), nibHi(v), 0, 8);
    }
    rowsN16(x, n, rows,
      v128.load8x8_s(wbuf), v128.load8x8_s(wbuf, 8), v128.load8x8_s(wbuf, 16), v128.load8x8_s(wbuf, 24),
      v128.load8x8_s(wbuf, 32), v128.load8x8_s(wbuf, 40), v128.load8x8_s(wbuf, 48), v128.load8x8_s(wbuf, 56),
      q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>o, m, cnt);
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

// ---------- wider rows: 8 outputs per block, weights streamed from memory (int4: unpacked once per block) ----------

@inline function dot16(xl: v128, xh: v128, w: usize): v128 {
  return i32x4.add(dot(xl, v128.load8x8_s(w)), dot(xh, v128.load8x8_s(w, 8)));
}

/** 8 outputs (int8 weight rows w0 + k*s, s a multiple of 16) over all input rows. */
@inline function rows8(x: usize, n: i32, rows: i32, w0: usize, s: usize, q: usize, lo: v128, hi: v128, zp: v128,
  y: usize, m: i32, cnt: i32): void {
  const nb = <usize>n, mb = <usize>m;
  const w1 = w0 + s, w2 = w1 + s, w3 = w2 + s, w4 = w3 + s, w5 = w4 + s, w6 = w5 + s, w7 = w6 + s;
  prepBlock(q, qf);
  prepBlock(q + <usize>QB, qf + QF);
  for (let r = 0; r < rows; r++) {
    const x0 = x + <usize>r * nb;
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (let i: usize = 0; i < s; i += 16) {
      const u = v128.load(x0 + i);
      const ul = i16x8.extend_low_i8x16_s(u), uh = i16x8.extend_high_i8x16_s(u);
      a0 = i32x4.add(a0, dot16(ul, uh, w0 + i));
      a1 = i32x4.add(a1, dot16(ul, uh, w1 + i));
      a2 = i32x4.add(a2, dot16(ul, uh, w2 + i));
      a3 = i32x4.add(a3, dot16(ul, uh, w3 + i));
      a4 = i32x4.add(a4, dot16(ul, uh, w4 + i));
      a5 = i32x4.add(a5, dot16(ul, uh, w5 + i));
      a6 = i32x4.add(a6, dot16(ul, uh, w6 + i));
      a7 = i32x4.add(a7, dot16(ul, uh, w7 + i));
    }
    const yr = y + <usize>r * mb;
    store4(requant4(reduce4(a0, a1, a2, a3), q, qf, lo, hi, zp), yr, cnt < 4 ? cnt : 4);
    if (cnt > 4) store4(requant4(reduce4(a4, a5, a6, a7), q + <usize>QB, qf + QF, lo, hi, zp), yr + 4, cnt - 4);
  }
}

/** Rows r0 .. r0+nr of x (n int8 each) widened to i16 rows of sx2 bytes in xbuf (columns past n: the next bytes). */
@inline function widenRows(x: usize, n: i32, r0: i32, nr: i32, sx2: usize): void {
  for (let r = 0; r < nr; r++) {
    const src = x + <usize>(r0 + r) * <usize>n, dst = xbuf + <usize>r * sx2;
    for (let i: usize = 0; i < sx2; i += 32) {
      const v = v128.load(src + (i >> 1));
      v128.store(dst + i, i16x8.extend_low_i8x16_s(v));
      v128.store(dst + i, i16x8.extend_high_i8x16_s(v), 16);
    }
  }
}

/** 4 outputs (i16 weight rows at wbuf, sx2 bytes apart) over nr widened rows, two rows per pass. */
@inline function wideBlock(nr: i32, sx2: usize, q: usize, lo: v128, hi: v128, zp: v128, y: usize, mb: usize, cnt: i32): void {
  const w0 = wbuf, w1 = w0 + sx2, w2 = w1 + sx2, w3 = w2 + sx2;
  prepBlock(q, qf);
  let r = 0;
  for (; r + 2 <= nr; r += 2) {
    const x0 = xbuf + <usize>r * sx2, x1 = x0 + sx2;
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    for (let i: usize = 0; i < sx2; i += 16) {
      const u = v128.load(x0 + i), v = v128.load(x1 + i);
      let w = v128.load(w0 + i);
      a0 = i32x4.add(a0, dot(u, w)); c0 = i32x4.add(c0, dot(v, w));
      w = v128.load(w1 + i);
      a1 = i32x4.add(a1, dot(u, w)); c1 = i32x4.add(c1, dot(v, w));
      w = v128.load(w2 + i);
      a2 = i32x4.add(a2, dot(u, w)); c2 = i32x4.add(c2, dot(v, w));
      w = v128.load(w3 + i);
      a3 = i32x4.add(a3, dot(u, w)); c3 = i32x4.add(c3, dot(v, w));
    }
    const yr = y + <usize>r * mb;
    store4(requant4(reduce4(a0, a1, a2, a3), q, qf, lo, hi, zp), yr, cnt);
    store4(requant4(reduce4(c0, c1, c2, c3), q, qf, lo, hi, zp), yr + mb, cnt);
  }
  if (r < nr) {
    const x0 = xbuf + <usize>r * sx2;
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let i: usize = 0; i < sx2; i += 16) {
      const u = v128.load(x0 + i);
      a0 = i32x4.add(a0, dot(u, v128.load(w0 + i)));
      a1 = i32x4.add(a1, dot(u, v128.load(w1 + i)));
      a2 = i32x4.add(a2, dot(u, v128.load(w2 + i)));
      a3 = i32x4.add(a3, dot(u, v128.load(w3 + i)));
    }
    store4(requant4(reduce4(a0, a1, a2, a3), q, qf, lo, hi, zp), y + <usize>r * mb, cnt);
  }
}

/**
 * int8 weights, `stride` bytes per output (a multiple of 16), outputs padded to a multiple of 8. Input rows are
 * widened to i16 once (in chunks that fit xbuf), each block of 4 weight rows once; the inner loop is then
 * loads and dot products only. Rows wider than wbuf holds stream the weights instead.
 */
export function dense_i8_g(x: usize, n: i32, rows: i32, w: usize, stride: i32, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  const s = <usize>stride, sx2 = s << 1, mb = <usize>m;
  if (sx2 * 4 > WBUF_BYTES) {
    for (let o = 0; o < m; o += 8) {
      rows8(x, n, rows, w + <usize>o * s, s, q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>o, m, m - o < 8 ? m - o : 8);
    }
    if (lut != 0) applyLut(y, rows * m, lut);
    return;
  }
  const chunk = <i32>(XBUF_BYTES / sx2);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const nr = rows - r0 < chunk ? rows - r0 : chunk;
    widenRows(x, n, r0, nr, sx2);
    for (let o = 0; o < m; o += 4) {
      for (let k: usize = 0; k < 4; k++) {
        const src = w + (<usize>o + k) * s, dst = wbuf + k * sx2;
        for (let i: usize = 0; i < s; i += 16) {
          const v = v128.load(src + i);
          v128.store(dst + (i << 1), i16x8.extend_low_i8x16_s(v));
          v128.store(dst + (i << 1), i16x8.extend_high_i8x16_s(v), 16);
        }
      }
      wideBlock(nr, sx2, q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>r0 * mb + <usize>o, mb, m - o < 4 ? m - o : 4);
    }
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

/**
 * int4 weights, `stride` packed bytes per output (16 per 32 columns), outputs padded to a multiple of 8:
 * like dense_i8_g with each block of 4 weight rows unpacked to i16 once; rows wider than wbuf holds
 * unpack every 32 columns in registers instead.
 */
export function dense_i4_g(x: usize, n: i32, rows: i32, w: usize, stride: i32, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const zp = i32x4.splat(outZp), lo = i32x4.splat(actMin - outZp), hi = i32x4.splat(actMax - outZp);
  const s = <usize>stride, sx2 = s << 2, mb = <usize>m;
  if (sx2 * 4 > WBUF_BYTES) {
    dense_i4_wide(x, n, rows, w, stride, m, q, lo, hi, zp, y);
    if (lut != 0) applyLut(y, rows * m, lut);
    return;
  }
  const chunk = <i32>(XBUF_BYTES / sx2);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const nr = rows - r0 < chunk ? rows - r0 : chunk;
    widenRows(x, n, r0, nr, sx2);
    for (let o = 0; o < m; o += 4) {
      for (let k: usize = 0; k < 4; k++) {
        const src = w + (<usize>o + k) * s, dst = wbuf + k * sx2;
        for (let i: usize = 0; i < s; i += 16) {
          const v = v128.load(src + i);
          const a = nibLo(v), b = nibHi(v), d = dst + (i << 2);
          v128.store(d, i16x8.extend_low_i8x16_s(a));
          v128.store(d, i16x8.extend_high_i8x16_s(a), 16);
          v128.store(d, i16x8.extend_low_i8x16_s(b), 32);
          v128.store(d, i16x8.extend_high_i8x16_s(b), 48);
        }
      }
      wideBlock(nr, sx2, q + <usize>(o >> 2) * <usize>QB, lo, hi, zp, y + <usize>r0 * mb + <usize>o, mb, m - o < 4 ? m - o : 4);
    }
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

/** Sum over one 32-column block of int4 weights (16 packed bytes at p) against input columns u (0..15), v (16..31). */
@inline function dot32(ul: v128, uh: v128, vl: v128, vh: v128, p: usize): v128 {
  const wv = v128.load(p);
  const a = nibLo(wv), b = nibHi(wv);
  return i32x4.add(
    i32x4.add(dot(ul, i16x8.extend_low_i8x16_s(a)), dot(uh, i16x8.extend_high_i8x16_s(a))),
    i32x4.add(dot(vl, i16x8.extend_low_i8x16_s(b)), dot(vh, i16x8.extend_high_i8x16_s(b))));
}

function dense_i4_wide(x: usize, n: i32, rows: i32, w: usize, stride: i32, m: i32, q: usize, lo: v128, hi: v128, zp: v128,
  y: usize): void {
  const s = <usize>stride, nb = <usize>n, mb = <usize>m;
  for (let o = 0; o < m; o += 4) {
    const w0 = w + <usize>o * s, w1 = w0 + s, w2 = w1 + s, w3 = w2 + s;
    const cnt = m - o < 4 ? m - o : 4;
    const qo = q + <usize>(o >> 2) * <usize>QB;
    prepBlock(qo, qf);
    for (let r = 0; r < rows; r++) {
      const x0 = x + <usize>r * nb;
      let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let i: usize = 0; i < s; i += 16) {
        const u = v128.load(x0 + (i << 1)), v = v128.load(x0 + (i << 1), 16);
        const ul = i16x8.extend_low_i8x16_s(u), uh = i16x8.extend_high_i8x16_s(u);
        const vl = i16x8.extend_low_i8x16_s(v), vh = i16x8.extend_high_i8x16_s(v);
        a0 = i32x4.add(a0, dot32(ul, uh, vl, vh, w0 + i));
        a1 = i32x4.add(a1, dot32(ul, uh, vl, vh, w1 + i));
        a2 = i32x4.add(a2, dot32(ul, uh, vl, vh, w2 + i));
        a3 = i32x4.add(a3, dot32(ul, uh, vl, vh, w3 + i));
      }
      store4(requant4(reduce4(a0, a1, a2, a3), qo, qf, lo, hi, zp), y + <usize>r * mb + <usize>o, cnt);
    }
  }
}

// ---------- pair layout with the checked f32 requantization: dense_i8_t / dense_i4_t ----------
//
// The layout of conv_pw_s8 (runtime/kernels/conv_q.ts): weights per block of 8 outputs, per input pair (k, k + 1)
// (pairs padded to an even count with zero weights):
//   int8: 16 bytes, outputs 0..3 then 4..7, lanes (w[o][k], w[o][k+1]);
//   int4: 8 bytes, byte j holding the int8 layout's element j in its low nibble and element j + 8 in its high one
//         (sign-extended to i16, (b << 12) >> 12 and b >> 4 give both halves).
// An input pair splat over the lanes against them gives 4 outputs' 2-term sums per dot: no horizontal sums. Four rows
// are widened to i16 and interleaved (pair j of row r at xbuf + 16 j + 4 r), a tile of 4 rows x 8 outputs keeps 8
// accumulators; the rows left over (and single-row calls) run one at a time against a contiguous i16 copy.
//
// Requantization (compiler/ops/dense/wasm.ts takes this path only where, per channel, there is no left shift, M >= 0,
// and every accumulator a (bias included) has |a| < 2^23 and |a| M / 2^(31+e) < 2^21 for any input):
//   TFLite's srdhm(a, M) = floor((a M + 2^30) / 2^31) and its rounding shift by e compose into one floor,
//   result = floor(Y), Y - 1/2 = a M / 2^(31+e) + sgn(a) h, h = 2^-(e+1) (0 where e = 0). Where a < 0 but
//   srdhm(a, M) = 0 (M <= 2^30 and a M >= -2^30) the sign term differs, but both forms floor to 0 there.
//   The kernel estimates y' = f32(a) m + sgn(a) h (m = f32(M / 2^(31+e))): |y' - (Y - 1/2)| <= 2^-24 (3 |Y| + 3),
//   below 2^-14 for every result the int8 range does not saturate (|Y| <= 257) and below 1 everywhere. So
//   floor(Y) = nearest(y') unless y' lies within 2^-12 of a half-integer; a vector with such a lane is requantized
//   exactly (TFLite's integer arithmetic, per lane). nearest(y') + zp is the low bits of y' + 1.5 * 2^23 + zp; the
//   saturating narrows clamp to [-128, 127] and i8x16 min / max to [actMin, actMax].
// Constants per block of 4 outputs (QC bytes): +0 bias, +16 f32 m, +32 f32 h, +48 M.

const QC: usize = 64;
const tmp16: usize = memory.data(32, 16);

/** TFLite's MultiplyByQuantizedMultiplier without left shift: e = 0 where h = 0, else h = 2^-(e+1). */
@inline function mbqmExact(a: i32, M: i32, hBits: u32): i32 {
  const x = <i32>((<i64>a * <i64>M + 0x40000000) >> 31);
  if (hBits == 0) return x;
  const e = <i32>(126 - (hBits >> 23));
  const mask = (1 << e) - 1;
  return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0 ? 1 : 0) ? 1 : 0);
}

/** The exact requantization of 4 lanes (accumulators with bias): i32 v + zp. */
function exact4(a: v128, q: usize, zp: i32): v128 {
  v128.store(tmp16, a);
  for (let l: usize = 0; l < 16; l += 4) {
    store<i32>(tmp16 + l, mbqmExact(load<i32>(tmp16 + l), load<i32>(q + 48 + l), load<u32>(q + 32 + l)) + zp);
  }
  return v128.load(tmp16);
}

/** y' = f32(a) m + sgn(a) h for 4 lanes. */
@inline function est4(a: v128, q: usize): v128 {
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), v128.load(q, 16)), v128.or(v128.and(a, i32x4.splat(0x80000000)), v128.load(q, 32)));
}

/** Lanes of y' within 2^-12 of a half-integer (z = y' + cz rounded, cz = 1.5 * 2^23 + zp). */
@inline function unsure4(y: v128, z: v128, cz: v128): v128 {
  return f32x4.gt(f32x4.abs(f32x4.sub(y, f32x4.sub(z, cz))), f32x4.splat(0.5 - 1.0 / 4096));
}

/** i32 nearest(y') + zp from z = y' + 1.5 * 2^23 + zp (in [2^23, 2^24)). */
@inline function bits4(z: v128): v128 {
  return i32x4.sub(z, i32x4.splat(0x4B400000));
}

/** Stores the first cnt (1..8) bytes of lanes 0..7 at y0 and of lanes 8..15 at y1 (y1 = 0: no second row). */
@inline function store8x2(v: v128, y0: usize, y1: usize, cnt: i32): void {
  if (cnt == 8) {
    v128.store64_lane(y0, v, 0);
    if (y1 != 0) v128.store64_lane(y1, v, 1);
    return;
  }
  v128.store(tmp16, v);
  for (let i = 0; i < cnt; i++) store<i8>(y0 + <usize>i, load<i8>(tmp16 + <usize>i));
  if (y1 != 0) for (let i = 0; i < cnt; i++) store<i8>(y1 + <usize>i, load<i8>(tmp16 + 8 + <usize>i));
}

/** Requantizes 2 rows x 8 outputs (a0, a1: row 0's blocks; b0, b1: row 1's) and stores them at y0, y1. */
@inline function out2x8(a0: v128, a1: v128, b0: v128, b1: v128, q: usize, zp: i32, cz: v128, lo: v128, hi: v128,
  y0: usize, y1: usize, cnt: i32): void {
  const ya0 = est4(a0, q), ya1 = est4(a1, q + QC), yb0 = est4(b0, q), yb1 = est4(b1, q + QC);
  const za0 = f32x4.add(ya0, cz), za1 = f32x4.add(ya1, cz), zb0 = f32x4.add(yb0, cz), zb1 = f32x4.add(yb1, cz);
  let ra0 = bits4(za0), ra1 = bits4(za1), rb0 = bits4(zb0), rb1 = bits4(zb1);
  const u = v128.or(v128.or(unsure4(ya0, za0, cz), unsure4(ya1, za1, cz)), v128.or(unsure4(yb0, zb0, cz), unsure4(yb1, zb1, cz)));
  if (v128.any_true(u)) {
    ra0 = exact4(a0, q, zp); ra1 = exact4(a1, q + QC, zp); rb0 = exact4(b0, q, zp); rb1 = exact4(b1, q + QC, zp);
  }
  const v = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(ra0, ra1), i16x8.narrow_i32x4_s(rb0, rb1));
  store8x2(i8x16.min_s(i8x16.max_s(v, lo), hi), y0, y1, cnt);
}

/** Rows r0 .. r0 + 3 (n int8 each) widened to i16 and interleaved at xbuf: pair j of row r at xbuf + 16 j + 4 r (kp4 pairs, a multiple of 4). */
@inline function widen4rows(s0: usize, nb: usize, kp4: usize): void {
  const s1 = s0 + nb, s2 = s1 + nb, s3 = s2 + nb;
  for (let j: usize = 0; j < kp4; j += 4) {
    const o = j << 1;
    const v0 = v128.load8x8_s(s0 + o), v1 = v128.load8x8_s(s1 + o), v2 = v128.load8x8_s(s2 + o), v3 = v128.load8x8_s(s3 + o);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    const d = xbuf + (j << 4);
    v128.store(d, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
    v128.store(d, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
    v128.store(d, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
    v128.store(d, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
  }
}

/** The two i16x8 weight vectors of one pair (W = i8: int8 weights, 16 bytes; W = u16: int4, 8 bytes). */
@inline function pairA<W>(v: v128): v128 { return sizeof<W>() == 1 ? v : i16x8.shr_s(i16x8.shl(v, 12), 12); }
@inline function pairB<W>(v: v128, wp: usize): v128 { return sizeof<W>() == 1 ? v128.load8x8_s(wp, 8) : i16x8.shr_s(v, 4); }

@inline function tileBody<W>(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  const PS: usize = sizeof<W>() == 1 ? 16 : 8; // weight bytes per pair
  const nb = <usize>n, mb = <usize>m;
  const kp = <usize>(((n + 3) >> 2) << 1); // pairs, padded to an even count
  const kp4 = (kp + 3) & ~3;
  const wBlock = kp * PS, blocks = (m + 7) >> 3;
  const cz = f32x4.splat(<f32>(<i32>12582912 + outZp));
  const lo = i8x16.splat(<i8>actMin), hi = i8x16.splat(<i8>actMax);
  const bend = xbuf + (kp << 4);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    widen4rows(x + <usize>r * nb, nb, kp4);
    const yr = y + <usize>r * mb;
    for (let ob = 0; ob < blocks; ob++) {
      const q0 = q + <usize>ob * (QC << 1);
      let a0 = v128.load(q0), a1 = v128.load(q0 + QC), c0 = a0, c1 = a1, d0 = a0, d1 = a1, e0 = a0, e1 = a1;
      let wp = w + <usize>ob * wBlock;
      for (let bp = xbuf; bp < bend; bp += 16) {
        const v = v128.load8x8_s(wp);
        const wa = pairA<W>(v), wb = pairB<W>(v, wp);
        let s = v128.load32_splat(bp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s, wa)); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s, wb));
        s = v128.load32_splat(bp, 4);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(s, wa)); c1 = i32x4.add(c1, i32x4.dot_i16x8_s(s, wb));
        s = v128.load32_splat(bp, 8);
        d0 = i32x4.add(d0, i32x4.dot_i16x8_s(s, wa)); d1 = i32x4.add(d1, i32x4.dot_i16x8_s(s, wb));
        s = v128.load32_splat(bp, 12);
        e0 = i32x4.add(e0, i32x4.dot_i16x8_s(s, wa)); e1 = i32x4.add(e1, i32x4.dot_i16x8_s(s, wb));
        wp += PS;
      }
      const o = ob << 3, cnt = m - o < 8 ? m - o : 8;
      const yo = yr + <usize>o;
      out2x8(a0, a1, c0, c1, q0, outZp, cz, lo, hi, yo, yo + mb, cnt);
      out2x8(d0, d1, e0, e1, q0, outZp, cz, lo, hi, yo + 2 * mb, yo + 3 * mb, cnt);
    }
  }
  // the rows left over one at a time: an i16 copy of the row, pair j at xbuf + 4 j
  for (; r < rows; r++) {
    const xr = x + <usize>r * nb;
    for (let i: usize = 0; i < (kp << 1); i += 8) v128.store(xbuf + (i << 1), v128.load8x8_s(xr + i));
    const yr = y + <usize>r * mb;
    const rend = xbuf + (kp << 2);
    for (let ob = 0; ob < blocks; ob++) {
      const q0 = q + <usize>ob * (QC << 1);
      let a0 = v128.load(q0), a1 = v128.load(q0 + QC), c0 = i32x4.splat(0), c1 = c0;
      let wp = w + <usize>ob * wBlock;
      for (let bp = xbuf; bp < rend; bp += 8) {
        let v = v128.load8x8_s(wp);
        let s = v128.load32_splat(bp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s, pairA<W>(v))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s, pairB<W>(v, wp)));
        v = v128.load8x8_s(wp + PS);
        s = v128.load32_splat(bp, 4);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(s, pairA<W>(v))); c1 = i32x4.add(c1, i32x4.dot_i16x8_s(s, pairB<W>(v, wp + PS)));
        wp += PS << 1;
      }
      const o = ob << 3;
      a0 = i32x4.add(a0, c0); a1 = i32x4.add(a1, c1);
      out2x8(a0, a1, a0, a1, q0, outZp, cz, lo, hi, yr + <usize>o, 0, m - o < 8 ? m - o : 8);
    }
  }
  if (lut != 0) applyLut(y, rows * m, lut);
}

/** int8 weights in the pair layout, checked f32 requantization (constants: QC bytes per 4 outputs). */
export function dense_i8_t(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  tileBody<i8>(x, n, rows, w, m, q, outZp, actMin, actMax, lut, y);
}

/** int4 weights in the pair layout (8 bytes per pair and block), checked f32 requantization. */
export function dense_i4_t(x: usize, n: i32, rows: i32, w: usize, m: i32, q: usize, outZp: i32, actMin: i32, actMax: i32,
  lut: usize, y: usize): void {
  tileBody<u16>(x, n, rows, w, m, q, outZp, actMin, actMax, lut, y);
}


