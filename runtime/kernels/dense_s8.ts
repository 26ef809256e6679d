// int8 dense: SIMD dot products + TFLite fixed-point requantization (semantics: compiler/plan/program.ts).

/** multiplyByQuantizedMultiplier from compiler/quant/fixedpoint.ts, with the same i32 wrap-around. */
export function requantize(x: i32, multiplier: i32, shift: i32): i32 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const a = x << left;
  let r: i32;
  if (a == i32.MIN_VALUE && multiplier == i32.MIN_VALUE) {
    r = i32.MAX_VALUE;
  } else {
    const ab = i64(a) * i64(multiplier);
    const nudge: i64 = ab >= 0 ? (1 << 30) : 1 - (1 << 30);
    r = i32((ab + nudge) / (i64(1) << 31)); // truncating division, like C
  }
  if (right == 0) return r;
  const mask = (1 << right) - 1;
  const remainder = r & mask;
  const threshold = (mask >> 1) + (r < 0 ? 1 : 0);
  return (r >> right) + (remainder > threshold ? 1 : 0);
}

@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

@inline function finish(acc: i32, o: i32, bias: usize, mult: usize, shift: usize, outZp: i32,
  actMin: i32, actMax: i32, lut: usize, y: usize): void {
  const k = <usize>o << 2;
  // i64 so that a saturated requantized value plus the zero point cannot wrap before clamping
  let v = i64(requantize(acc + load<i32>(bias + k), load<i32>(mult + k), load<i32>(shift + k))) + i64(outZp);
  if (v < i64(actMin)) v = i64(actMin);
  if (v > i64(actMax)) v = i64(actMax);
  let r = i32(v);
  if (lut != 0) r = i32(load<i8>(lut + <usize>(r + 128)));
  store<i8>(y + <usize>o, r);
}

/**
 * y[o] = requant(bias[o] + sum_i w[o,i] x[i]). Rows of `w` are `stride` bytes (a multiple of 16, zero padded),
 * so x is read up to `stride` bytes: the padding weights are zero, the caller keeps that memory readable.
 * x and y must not overlap.
 */
export function dense_s8(x: usize, w: usize, stride: i32, m: i32, bias: usize, mult: usize, shift: usize,
  outZp: i32, actMin: i32, actMax: i32, lut: usize, y: usize): void {
  denseS8Row(x, w, stride, m, bias, mult, shift, outZp, actMin, actMax, lut, y);
}

/**
 * dense_s8 over `rows` consecutive input rows of n int8 (unpadded), writing rows of m int8. Row r reads
 * x + r*n up to `stride` bytes: the next row's values meet zero padding weights; after the last row the
 * caller keeps stride - n bytes readable (the backend's 16-byte slack).
 */
export function dense_s8_rows(x: usize, n: i32, w: usize, stride: i32, m: i32, bias: usize, mult: usize, shift: usize,
  outZp: i32, actMin: i32, actMax: i32, lut: usize, y: usize, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    denseS8Row(x + <usize>r * <usize>n, w, stride, m, bias, mult, shift, outZp, actMin, actMax, lut, y + <usize>r * <usize>m);
  }
}

@inline function denseS8Row(x: usize, w: usize, stride: i32, m: i32, bias: usize, mult: usize, shift: usize,
  outZp: i32, actMin: i32, actMax: i32, lut: usize, y: usize): void {
  const s = <usize>stride;
  let o = 0;
  for (; o + 4 <= m; o += 4) {
    const r0 = w + <usize>o * s;
    const r1 = r0 + s, r2 = r1 + s, r3 = r2 + s;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let i: usize = 0; i < s; i += 16) {
      const xv = v128.load(x + i);
      const xl = i16x8.extend_low_i8x16_s(xv);
      const xh = i16x8.extend_high_i8x16_s(xv);
      let wv = v128.load(r0 + i);
      a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(wv)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(wv))));
      wv = v128.load(r1 + i);
      a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(wv)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(wv))));
      wv = v128.load(r2 + i);
      a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(wv)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(wv))));
      wv = v128.load(r3 + i);
      a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(wv)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(wv))));
    }
    finish(hsum(a0), o, bias, mult, shift, outZp, actMin, actMax, lut, y);
    finish(hsum(a1), o + 1, bias, mult, shift, outZp, actMin, actMax, lut, y);
    finish(hsum(a2), o + 2, bias, mult, shift, outZp, actMin, actMax, lut, y);
    finish(hsum(a3), o + 3, bias, mult, shift, outZp, actMin, actMax, lut, y);
  }
  for (; o < m; o++) {
    const r0 = w + <usize>o * s;
    let a0 = i32x4.splat(0);
    for (let i: usize = 0; i < s; i += 16) {
      const xv = v128.load(x + i);
      const wv = v128.load(r0 + i);
      a0 = i32x4.add(a0, i32x4.add(
        i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(xv), i16x8.extend_low_i8x16_s(wv)),
        i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(xv), i16x8.extend_high_i8x16_s(wv))));
    }
    finish(hsum(a0), o, bias, mult, shift, outZp, actMin, actMax, lut, y);
  }
}
