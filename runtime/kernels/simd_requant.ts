// SIMD pieces of TFLite's requantization shared by the int8 kernels (dense_q.ts, conv_q.ts).

/** SaturatingRoundingDoublingHighMul per lane, without the saturation case (callers exclude M = -2^31). */
@inline export function srdhm4(x: v128, m: v128): v128 {
  const lo = i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), i64x2.splat(0x40000000)), 31);
  const hi = i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), i64x2.splat(0x40000000)), 31);
  return i32x4.shuffle(lo, hi, 0, 2, 4, 6);
}

/** floor(x / 2^e) per lane, as the low 32 bits of (x * c) >> 31 with c = 2^(31 - e), or x itself where zmask is set (e = 0). */
@inline export function shiftRight4(x: v128, c: v128, zmask: v128): v128 {
  const lo = i64x2.shr_u(i64x2.extmul_low_i32x4_s(x, c), 31);
  const hi = i64x2.shr_u(i64x2.extmul_high_i32x4_s(x, c), 31);
  return v128.or(v128.and(x, zmask), i32x4.shuffle(lo, hi, 0, 2, 4, 6));
}
