// int8 CONV_2D / DEPTHWISE_CONV_2D kernels of TFLite programs (compiler/ops/conv/wasm.ts lays out their constants),
// bit-exact with executeConvInt (compiler/ops/conv/index.ts):
//   acc(int32, wrapping) = bias[c] + sum over in-image taps w * (x - inZp); v = mbqm(acc, M[c], shift[c]) + outZp; clamp.
//
// All of them multiply with i32x4.dot_i16x8_s so that no horizontal sums are needed: a vector of 8 i16 lanes holds
// 4 outputs x 2 terms of their sums, the weights are laid out the same way at compile time, and each dot gives the
// 4 outputs' 2-term sums in i32 (exact).
//  - conv_dw_s8 (depthwise, depth multiplier 1): the two terms are a PAIR OF TAPS of one channel ([w_a c0, w_b c0,
//    w_a c1, ...], an odd tap count pairs the last tap with a zero weight), the inputs interleaved by a shuffle.
//    Taps outside the image read an int8 copy of the input in the scratch region whose border holds the input zero
//    point; the zero point is folded into the bias at compile time (bias - inZp * sum of the channel's weights), so a
//    border tap adds w * inZp which the folded bias takes back: the same int32 sum mod 2^32 as the oracle's. Without
//    padding the input is read in place.
//  - conv_dw1_s8 (depthwise, one input channel, any depth multiplier, horizontal dilation 1): an i16 copy of x - inZp
//    with a zero border (bias unchanged); the tap pair (kx, kx + 1) is one 32-bit load splat over the lanes.
//  - conv_pw_s8 (1x1, stride 1, no padding): a pair of input channels, splat over the lanes, against 4 outputs' weights.
// Requantization: TFLite's MultiplyByQuantizedMultiplier per lane, in one of two ways chosen per layer (constants per
// block of 4 channels, written by compiler/ops/conv/wasm.ts convRequantConstants):
//  - general (112 bytes per block, the layout of runtime/kernels/dense_q.ts: +0 bias, +16 M, +32 1 << leftShift, +48 mask,
//    +64 mask >> 1, +80 2^(31 - e) (0 where e = 0), +96 -1 where e = 0): x = srdhm(acc + bias, M) in i64 lanes
//    ((acc * M + 2^30) >> 31, exact for M != -2^31), then TFLite's rounding shift by e = -shift as written (per-lane
//    shifts through 64-bit multiplies by 2^(31-e)).
//  - checked f32 (every channel: no left shift, 1 <= e <= 13, M > 2^30; 64 bytes per block: +0 bias, +16 M,
//    +32 f32 m = M / 2^(31+e) rounded, +48 f32 h = 2^-(e+1)). With a = acc + bias (int32), M > 2^30 gives
//    [srdhm(a, M) < 0] = [a < 0], and both roundings compose into one floor (nested floors, TFLite's remainder test
//    case by case):  result = floor(Y),  Y = (a * M + 2^30 + 2^(30+e) - 2^31 [a < 0]) / 2^(31+e) = a * M / 2^(31+e) + 1/2 +- h.
//    The compiler takes this path only where |a| < 2^23 for any input (bias and weights bound it), so a is exact in f32;
//    the kernel computes y' = f32(a) * m +- h in f32, |y' - (Y - 1/2)| <= 2^-24 * (3 |Y| + 3): below 2^-14 wherever the
//    result is not saturated (|Y| <= 257), below 1 everywhere (|Y| < 2^22). floor(Y) = nearest(y') unless y' lies within
//    2^-12 of a half-integer (then no half-integer lies between y' and Y - 1/2); saturated results stay saturated (off by
//    at most one beyond the range). When some lane is that close, the block is requantized exactly instead:
//    x = srdhm(a, M) in i64 lanes, clamped to +-2^22, then floor((x + 2^(e-1) - [x < 0]) / 2^e) in f32 (exact: the
//    operands stay below 2^24). The activation clamp is applied in f32; the bits of v + outZp + 1.5 * 2^23 are
//    0x4B400000 + (v + outZp).
// Parameter block p (i32): 0 batches, 1 inH, 2 inW, 3 inC, 4 outH, 5 outW, 6 outC, 7 strideH, 8 strideW, 9 padH, 10 padW,
//   11 Hp, 12 Wp (padded rows / columns: the rows and columns the taps reach), 13 inZp, 14 outZp, 15 actMin, 16 actMax,
//   17 pairs, 18 padded (0: read the input in place), 19 flags (bit 1: the checked f32 requantization; bit 2, conv_dw1_s8:
//   a 3x3 or 3x4 filter), 20 row bytes of
//   the (padded) input,
//   then per pair two i32 byte offsets from the output pixel's top-left input element (conv_dw1_s8: the second is unused).

import { srdhm4, shiftRight4 } from './simd_requant';

const PAIRS: usize = 84; // byte offset of the pair offsets in p

@inline function prm(p: usize, k: i32): i32 { return load<i32>(p + (<usize>k << 2)); }

/** Block bytes of the requantization constants: T = u16 the checked f32 layout, u8 the general one. */
@inline function qs<T>(): usize { return sizeof<T>() == 2 ? 64 : 112; }

/** General requantization of 4 lanes (acc with bias): i32 results in [actMin, actMax]; c0, c1, c2: i32 [actMin - outZp], [actMax - outZp], [outZp]. */
@inline function rqGeneral(acc: v128, q: usize, c0: v128, c1: v128, c2: v128): v128 {
  const x = srdhm4(i32x4.mul(acc, v128.load(q, 32)), v128.load(q, 16));
  const rem = v128.and(x, v128.load(q, 48));
  const thr = i32x4.sub(v128.load(q, 64), i32x4.shr_s(x, 31));
  const v = i32x4.sub(shiftRight4(x, v128.load(q, 80), v128.load(q, 96)), i32x4.gt_s(rem, thr));
  return i32x4.add(i32x4.min_s(i32x4.max_s(v, c0), c1), c2);
}

/** The checked f32 path's estimate y' = y - 1/2 for 4 lanes (a = acc with bias, |a| < 2^23; constants at q). */
@inline function rqApprox(a: v128, q: usize): v128 {
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), v128.load(q, 32)), v128.or(v128.and(a, i32x4.splat(0x80000000)), v128.load(q, 48)));
}

/** Lanes where y' = y - 1/2 lies within 2^-12 of a half-integer, i.e. y within 2^-12 of an integer (n = nearest(y')). */
@inline function unsure(y: v128, n: v128): v128 {
  return f32x4.gt(f32x4.abs(f32x4.sub(y, n)), f32x4.splat(0.5 - 1.0 / 4096));
}

/** The exact f32 floor of the checked path's blocks (srdhm in i64 lanes, then the rounding shift in f32). */
@inline function rqExact(acc: v128, q: usize): v128 {
  let x = srdhm4(acc, v128.load(q, 16));
  x = i32x4.max_s(i32x4.min_s(x, i32x4.splat(1 << 22)), i32x4.splat(-(1 << 22)));
  const h = v128.load(q, 48);
  const half = i32x4.trunc_sat_f32x4_s(f32x4.div(f32x4.splat(0.25), h)); // 2^(e-1)
  const z = i32x4.add(i32x4.add(x, half), i32x4.shr_s(x, 31));
  return f32x4.floor(f32x4.mul(f32x4.convert_i32x4_s(z), f32x4.add(h, h)));
}

const tmp: usize = memory.data(16, 16);

/**
 * Requantizes two blocks of 4 channels (accumulators a, b with bias; constants at q, q + qs) and stores the first
 * cnt (1..8) int8 results at y. c0, c1, c2: checked f32: f32 [actMin - outZp], [actMax - outZp], [1.5 * 2^23 + outZp];
 * general: i32 [actMin - outZp], [actMax - outZp], [outZp].
 */
@inline function out8<T>(a: v128, b: v128, q: usize, y: usize, cnt: i32, c0: v128, c1: v128, c2: v128): void {
  let ra: v128, rb: v128;
  if (sizeof<T>() == 2) {
    // floor(y) = nearest(y - 1/2) wherever y is not within 2^-12 of an integer
    const ya = rqApprox(a, q), yb = rqApprox(b, q + 64);
    let fa = f32x4.nearest(ya), fb = f32x4.nearest(yb);
    if (v128.any_true(v128.or(unsure(ya, fa), unsure(yb, fb)))) { fa = rqExact(a, q); fb = rqExact(b, q + 64); }
    // v + outZp + 1.5 * 2^23 has the bits 0x4B400000 + (v + outZp)
    ra = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(fa, c0), c1), c2), i32x4.splat(0x4B400000));
    rb = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(fb, c0), c1), c2), i32x4.splat(0x4B400000));
  } else {
    ra = rqGeneral(a, q, c0, c1, c2);
    rb = rqGeneral(b, q + 112, c0, c1, c2);
  }
  const h = i16x8.narrow_i32x4_s(ra, rb);
  const v = i8x16.narrow_i16x8_s(h, h);
  if (cnt == 8) { v128.store64_lane(y, v, 0); return; }
  v128.store(tmp, v);
  for (let i = 0; i < cnt; i++) store<i8>(y + <usize>i, load<i8>(tmp + <usize>i));
}

/** The three clamp / zero-point vectors of out8<T>. */
@inline function rc0<T>(outZp: i32, actMin: i32): v128 { return sizeof<T>() == 2 ? f32x4.splat(<f32>(actMin - outZp)) : i32x4.splat(actMin - outZp); }
@inline function rc1<T>(outZp: i32, actMax: i32): v128 { return sizeof<T>() == 2 ? f32x4.splat(<f32>(actMax - outZp)) : i32x4.splat(actMax - outZp); }
@inline function rc2<T>(outZp: i32): v128 { return sizeof<T>() == 2 ? f32x4.splat(<f32>(<i32>12582912 + outZp)) : i32x4.splat(outZp); }

/** n bytes from s to d (no overlap). */
@inline function copyBytes(d: usize, s: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(d + i, v128.load(s + i));
  for (; i < n; i++) store<u8>(d + i, load<u8>(s + i));
}

@inline function fillBytes(d: usize, v: v128, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(d + i, v);
  for (; i < n; i++) store<u8>(d + i, i8x16.extract_lane_s(v, 0));
}

/**
 * int8 depthwise convolution, depth multiplier 1, any size / stride / dilation / padding. Weights: per block of 8
 * channels, per tap pair, 16 int8 (channels 0..3 then 4..7, each lane pair (tap a, tap b)); q: requantization blocks
 * with the folded bias; xp: scratch for the padded input (Hp * Wp * C bytes + 16) when p[18] is set.
 */
export function conv_dw_s8(x: usize, y: usize, w: usize, q: usize, p: usize, xp: usize): void {
  if (prm(p, 19) & 2) dwBody<u16>(x, y, w, q, p, xp); else dwBody<u8>(x, y, w, q, p, xp);
}

@inline function dwBody<T>(x: usize, y: usize, w: usize, q: usize, p: usize, xp: usize): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), C = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5);
  const sH = prm(p, 7), sW = prm(p, 8), padH = prm(p, 9), padW = prm(p, 10), Hp = prm(p, 11), Wp = prm(p, 12);
  const inZp = prm(p, 13), np = <usize>prm(p, 17), padded = prm(p, 18), rs = <usize>prm(p, 20);
  const k0 = rc0<T>(prm(p, 14), prm(p, 15)), k1 = rc1<T>(prm(p, 14), prm(p, 16)), k2 = rc2<T>(prm(p, 14));
  const cb = <usize>C, pixStep = <usize>(sW * C), rowStep = <usize>sH * rs, outRow = <usize>(outW * C);
  const inBatch = <usize>(inH * inW * C), outBatch = <usize>outH * outRow;
  const chunks = (C + 7) >> 3;
  const wChunk = np << 4;
  const zv = i8x16.splat(<i8>inZp);
  const offs = p + PAIRS;
  for (let b = 0; b < B; b++) {
    const xb = x + <usize>b * inBatch, yb = y + <usize>b * outBatch;
    let src = xb;
    if (padded != 0) {
      // rows of Wp pixels: [padW zero points][in-image pixels][zero points up to Wp]
      const pre = <usize>(padW * C), rowBytes = <usize>(Wp * C);
      const inCols = min(inW, Wp - padW), mid = <usize>(inCols * C);
      for (let yy = 0; yy < Hp; yy++) {
        const d = xp + <usize>yy * rowBytes, iy = yy - padH;
        if (iy < 0 || iy >= inH) { fillBytes(d, zv, rowBytes); continue; }
        fillBytes(d, zv, pre);
        copyBytes(d + pre, xb + <usize>(iy * inW * C), mid);
        fillBytes(d + pre + mid, zv, rowBytes - pre - mid);
      }
      src = xp;
    }
    if (np == 5) {
      // 9 or 10 taps (3x3 filters): the five tap pairs unrolled, their offsets in locals
      const o0 = <usize>load<i32>(offs), o1 = <usize>load<i32>(offs, 4), o2 = <usize>load<i32>(offs, 8), o3 = <usize>load<i32>(offs, 12);
      const o4 = <usize>load<i32>(offs, 16), o5 = <usize>load<i32>(offs, 20), o6 = <usize>load<i32>(offs, 24), o7 = <usize>load<i32>(offs, 28);
      const o8 = <usize>load<i32>(offs, 32), o9 = <usize>load<i32>(offs, 36);
      for (let ch = 0; ch < chunks; ch++) {
        const c = <usize>(ch << 3);
        const cnt = C - (ch << 3) < 8 ? C - (ch << 3) : 8;
        const wc = w + <usize>ch * wChunk, q0 = q + <usize>ch * (qs<T>() << 1);
        const w0 = v128.load8x8_s(wc), w1 = v128.load8x8_s(wc, 8), w2 = v128.load8x8_s(wc, 16), w3 = v128.load8x8_s(wc, 24);
        const w4 = v128.load8x8_s(wc, 32), w5 = v128.load8x8_s(wc, 40), w6 = v128.load8x8_s(wc, 48), w7 = v128.load8x8_s(wc, 56);
        const w8 = v128.load8x8_s(wc, 64), w9 = v128.load8x8_s(wc, 72);
        const bias0 = v128.load(q0), bias1 = v128.load(q0 + qs<T>());
        for (let oy = 0; oy < outH; oy++) {
          const rowBase = src + <usize>oy * rowStep + c;
          const yr = yb + <usize>oy * outRow + c;
          for (let ox = 0; ox < outW; ox++) {
            const base = rowBase + <usize>ox * pixStep;
            let va = v128.load8x8_s(base + o0), vb = v128.load8x8_s(base + o1);
            let a0 = i32x4.add(bias0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), w0));
            let a1 = i32x4.add(bias1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), w1));
            va = v128.load8x8_s(base + o2); vb = v128.load8x8_s(base + o3);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), w2));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), w3));
            va = v128.load8x8_s(base + o4); vb = v128.load8x8_s(base + o5);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), w4));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), w5));
            va = v128.load8x8_s(base + o6); vb = v128.load8x8_s(base + o7);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), w6));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), w7));
            va = v128.load8x8_s(base + o8); vb = v128.load8x8_s(base + o9);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), w8));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), w9));
            out8<T>(a0, a1, q0, yr + <usize>ox * cb, cnt, k0, k1, k2);
          }
        }
      }
      continue;
    }
    for (let ch = 0; ch < chunks; ch++) {
      const c = <usize>(ch << 3);
      const cnt = C - (ch << 3) < 8 ? C - (ch << 3) : 8;
      const wc = w + <usize>ch * wChunk, q0 = q + <usize>ch * (qs<T>() << 1);
      for (let oy = 0; oy < outH; oy++) {
        const rowBase = src + <usize>oy * rowStep + c;
        const yr = yb + <usize>oy * outRow + c;
        for (let ox = 0; ox < outW; ox++) {
          const base = rowBase + <usize>ox * pixStep;
          let a0 = v128.load(q0), a1 = v128.load(q0 + qs<T>());
          for (let k: usize = 0; k < np; k++) {
            const o = offs + (k << 3);
            const va = v128.load8x8_s(base + <usize>load<i32>(o)), vb = v128.load8x8_s(base + <usize>load<i32>(o, 4));
            const wk = wc + (k << 4);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11), v128.load8x8_s(wk)));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15), v128.load8x8_s(wk, 8)));
          }
          out8<T>(a0, a1, q0, yr + <usize>ox * cb, cnt, k0, k1, k2);
        }
      }
    }
  }
}

/**
 * int8 depthwise convolution of a one-channel input (depth multiplier = output channels), horizontal dilation 1.
 * Tap pairs (kx, kx + 1) of one filter row; weights laid out as in conv_dw_s8; q with the file's bias; xp: scratch
 * for the i16 padded input (Hp rows of p[20] bytes, + 32). p[20] is the padded row length in bytes (Wp + 1 columns).
 */
export function conv_dw1_s8(x: usize, y: usize, w: usize, q: usize, p: usize, xp: usize): void {
  if (prm(p, 19) & 2) dw1Body<u16>(x, y, w, q, p, xp); else dw1Body<u8>(x, y, w, q, p, xp);
}

@inline function dw1Body<T>(x: usize, y: usize, w: usize, q: usize, p: usize, xp: usize): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), outH = prm(p, 4), outW = prm(p, 5), C = prm(p, 6);
  const sH = prm(p, 7), sW = prm(p, 8), padH = prm(p, 9), padW = prm(p, 10), Hp = prm(p, 11);
  const inZp = prm(p, 13), np = <usize>prm(p, 17), rs = <usize>prm(p, 20);
  const k0 = rc0<T>(prm(p, 14), prm(p, 15)), k1 = rc1<T>(prm(p, 14), prm(p, 16)), k2 = rc2<T>(prm(p, 14));
  const cb = <usize>C, pixStep = <usize>(sW << 1), rowStep = <usize>sH * rs, outRow = <usize>(outW * C);
  const outBatch = <usize>outH * outRow;
  const chunks = (C + 7) >> 3;
  const wChunk = np << 4;
  const offs = p + PAIRS;
  const zero = i32x4.splat(0), zpv = i16x8.splat(<i16>inZp);
  const pre = <usize>(padW << 1), inCols = min(inW, (<i32>(rs >> 1)) - padW), mid = <usize>(inCols << 1);
  // 3x3 and 3x4 filters (flag bit 2: pairs (0, 1), (2, 3) per row): the rows' byte offsets
  const rows3 = (prm(p, 19) & 4) != 0;
  const r0 = <usize>load<i32>(offs), r1 = <usize>load<i32>(offs, 16), r2 = <usize>load<i32>(offs, 32);
  for (let b = 0; b < B; b++) {
    const xb = x + <usize>(b * inH * inW), yb = y + <usize>b * outBatch;
    // rows of i16 x - inZp: [padW zeros][in-image columns][zeros]; the widening copy writes whole blocks of 8
    // columns, the zeros after it are written afterwards (rows in address order; the last overrun lands in the slack)
    for (let yy = 0; yy < Hp; yy++) {
      const d = xp + <usize>yy * rs, iy = yy - padH;
      if (iy < 0 || iy >= inH) { fillBytes(d, zero, rs); continue; }
      fillBytes(d, zero, pre);
      const xr = xb + <usize>(iy * inW);
      for (let j: usize = 0; j < mid; j += 16) v128.store(d + pre + j, i16x8.sub(v128.load8x8_s(xr + (j >> 1)), zpv));
      fillBytes(d + pre + mid, zero, rs - pre - mid);
    }
    for (let ch = 0; ch < chunks; ch++) {
      const c = <usize>(ch << 3);
      const cnt = C - (ch << 3) < 8 ? C - (ch << 3) : 8;
      const wc = w + <usize>ch * wChunk, q0 = q + <usize>ch * (qs<T>() << 1);
      for (let oy = 0; oy < outH; oy++) {
        const rowBase = xp + <usize>oy * rowStep;
        const yr = yb + <usize>oy * outRow + c;
        for (let ox = 0; ox < outW; ox++) {
          const base = rowBase + <usize>ox * pixStep;
          let a0 = v128.load(q0), a1 = v128.load(q0 + qs<T>());
          if (rows3) {
            // 3x3 / 3x4 filters: three rows of two pairs, unrolled
            let v = v128.load32_splat(base + r0);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 8)));
            v = v128.load32_splat(base + r0, 4);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 16))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 24)));
            v = v128.load32_splat(base + r1);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 32))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 40)));
            v = v128.load32_splat(base + r1, 4);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 48))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 56)));
            v = v128.load32_splat(base + r2);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 64))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 72)));
            v = v128.load32_splat(base + r2, 4);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 80))); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wc, 88)));
          } else {
            for (let k: usize = 0; k < np; k++) {
              const v = v128.load32_splat(base + <usize>load<i32>(offs + (k << 3)));
              const wk = wc + (k << 4);
              a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wk)));
              a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wk, 8)));
            }
          }
          out8<T>(a0, a1, q0, yr + <usize>ox * cb, cnt, k0, k1, k2);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- 1x1 convolution (pointwise), stride 1, no padding

const PW_BUF_BYTES: usize = 16384;
const pwbuf: usize = memory.data(<i32>PW_BUF_BYTES + 64, 16);

/** Largest input depth conv_pw_s8 takes (its pairs, rounded up to a multiple of 4, as 16-byte groups in its buffer). */
export const PW_MAX_K: i32 = <i32>(PW_BUF_BYTES / 8);

/**
 * Four rows of input pairs (int8 at s0 + r * kb, pairs j = 0 .. kp rounded up to 4) widened to i16 and interleaved:
 * pair j of row r at pwbuf + 16 j + 4 r. Reads up to 7 bytes past each row (the next row or the backend's slack).
 */
@inline function widen4(s0: usize, s1: usize, s2: usize, s3: usize, kp: usize): void {
  for (let j: usize = 0; j < kp; j += 4) {
    const o = j << 1;
    const v0 = v128.load8x8_s(s0 + o), v1 = v128.load8x8_s(s1 + o), v2 = v128.load8x8_s(s2 + o), v3 = v128.load8x8_s(s3 + o);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    const d = pwbuf + (j << 4);
    v128.store(d, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
    v128.store(d, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
    v128.store(d, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
    v128.store(d, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
  }
}

/**
 * P pixels of K int8 channels -> N int8 channels (y: P rows of N), bias folded with the input zero point.
 * Weights per block of 8 outputs, per input pair (k, k + 1): 16 int8, outputs 0..3 then 4..7, lanes (w[o][k], w[o][k+1])
 * (an odd K pairs its last input with zero weights; outputs past N have zero weights). Four pixels at a
 * time are widened to i16 and each input pair splat over the lanes, so a dot gives 4 outputs' 2-input sums: a tile of
 * 4 pixels x 8 outputs keeps 8 accumulators and needs no horizontal sums.
 */
export function conv_pw_s8(x: usize, y: usize, w: usize, q: usize, P: i32, K: i32, N: i32, outZp: i32, actMin: i32, actMax: i32, flags: i32): void {
  if (flags & 2) pwBody<u16>(x, y, w, q, P, K, N, outZp, actMin, actMax); else pwBody<u8>(x, y, w, q, P, K, N, outZp, actMin, actMax);
}

@inline function pwBody<T>(x: usize, y: usize, w: usize, q: usize, P: i32, K: i32, N: i32, outZp: i32, actMin: i32, actMax: i32): void {
  const k0 = rc0<T>(outZp, actMin), k1 = rc1<T>(outZp, actMax), k2 = rc2<T>(outZp);
  const kp = <usize>((K + 1) >> 1), kb = <usize>K, nb = <usize>N;
  const blocks = (N + 7) >> 3;
  const wBlock = kp << 4, bend = pwbuf + (kp << 4);
  const P4 = P & ~3;
  for (let p0 = 0; p0 < P4; p0 += 4) {
    const s0 = x + <usize>p0 * kb;
    widen4(s0, s0 + kb, s0 + 2 * kb, s0 + 3 * kb, kp);
    const yp = y + <usize>p0 * nb;
    for (let ob = 0; ob < blocks; ob++) {
      const q0 = q + <usize>ob * (qs<T>() << 1);
      let a0 = v128.load(q0), a1 = v128.load(q0 + qs<T>()), c0 = a0, c1 = a1, d0 = a0, d1 = a1, e0 = a0, e1 = a1;
      let wp = w + <usize>ob * wBlock;
      for (let bp = pwbuf; bp < bend; bp += 16) {
        const wa = v128.load8x8_s(wp), wv = v128.load8x8_s(wp, 8);
        let s = v128.load32_splat(bp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s, wa)); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s, wv));
        s = v128.load32_splat(bp, 4);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(s, wa)); c1 = i32x4.add(c1, i32x4.dot_i16x8_s(s, wv));
        s = v128.load32_splat(bp, 8);
        d0 = i32x4.add(d0, i32x4.dot_i16x8_s(s, wa)); d1 = i32x4.add(d1, i32x4.dot_i16x8_s(s, wv));
        s = v128.load32_splat(bp, 12);
        e0 = i32x4.add(e0, i32x4.dot_i16x8_s(s, wa)); e1 = i32x4.add(e1, i32x4.dot_i16x8_s(s, wv));
        wp += 16;
      }
      const o = ob << 3, cnt = N - o < 8 ? N - o : 8;
      const yo = yp + <usize>o;
      out8<T>(a0, a1, q0, yo, cnt, k0, k1, k2);
      out8<T>(c0, c1, q0, yo + nb, cnt, k0, k1, k2);
      out8<T>(d0, d1, q0, yo + 2 * nb, cnt, k0, k1, k2);
      out8<T>(e0, e1, q0, yo + 3 * nb, cnt, k0, k1, k2);
    }
  }
  // the last P % 4 pixels one at a time (as row 0 of the buffer)
  for (let p0 = P4; p0 < P; p0++) {
    const s0 = x + <usize>p0 * kb;
    widen4(s0, s0, s0, s0, kp);
    const yp = y + <usize>p0 * nb;
    for (let ob = 0; ob < blocks; ob++) {
      const q0 = q + <usize>ob * (qs<T>() << 1);
      let a0 = v128.load(q0), a1 = v128.load(q0 + qs<T>());
      let wp = w + <usize>ob * wBlock;
      for (let bp = pwbuf; bp < bend; bp += 16) {
        const s = v128.load32_splat(bp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s, v128.load8x8_s(wp)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s, v128.load8x8_s(wp, 8)));
        wp += 16;
      }
      const o = ob << 3;
      out8<T>(a0, a1, q0, yp + <usize>o, N - o < 8 ? N - o : 8, k0, k1, k2);
    }
  }
}
