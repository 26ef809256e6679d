// int8 / int4 dense over rows with vectorised TFLite requantization (semantics: compiler/plan/program.ts).
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

