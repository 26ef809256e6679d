// int8 steps around the dense layers: layer_norm_s8, softmax_s8, add_s8, mul_s8, affine_s8.
// Semantics (and the float32 operation order) are those of compiler/plan/program.ts and the TS oracles in
// compiler/ops/*/index.ts; everything float here is f32 (no f64, no fused multiply-add), so results are
// bit-identical with the oracle and the C backend.
import { requantize } from './dense_s8';

// ---------- shared helpers ----------

/** multiplyByQuantizedMultiplier on 4 lanes with one multiplier / shift (M != INT32_MIN; see dense_q.ts). */
@inline function mbqm4(x: v128, m: v128, left: i32, right: i32, mask: v128, half: v128): v128 {
  return mbqm4r(i32x4.shl(x, left), m, right, mask, half);
}

/** mbqm4 without a left shift. */
@inline function mbqm4r(x: v128, m: v128, right: i32, mask: v128, half: v128): v128 {
  const lo = i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), i64x2.splat(0x40000000)), 31);
  const hi = i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), i64x2.splat(0x40000000)), 31);
  x = i32x4.shuffle(lo, hi, 0, 2, 4, 6);
  const rem = v128.and(x, mask);
  const thr = i32x4.sub(half, i32x4.shr_s(x, 31));
  return i32x4.sub(i32x4.shr_s(x, right), i32x4.gt_s(rem, thr));
}

/** clamp(v + zp, -128, 127) of a scalar requantized value (i64: no wrap-around before the clamp). */
@inline function clampS8(v: i32, zp: i32): i32 {
  let t = i64(v) + i64(zp);
  if (t < -128) t = -128;
  if (t > 127) t = 127;
  return i32(t);
}

/**
 * roundToInt8 on 4 f32 lanes -> i32 lanes in [-128, 128] (the caller's saturating narrow maps 128 to 127):
 * NaN -> 0; trunc(f32(|t| + 0.5)) (== floor, the sum is positive) with t's sign, clamped to 128 first, which
 * gives the oracle's result for every t; the float -> int conversion adds 1.5 * 2^23 and subtracts its bits.
 */
@inline function roundS8x4(t: v128): v128 {
  const z = v128.and(t, f32x4.eq(t, t));
  const r = f32x4.pmin(f32x4.floor(f32x4.add(f32x4.abs(z), f32x4.splat(0.5))), f32x4.splat(128));
  const signed = v128.or(r, v128.and(z, i32x4.splat(0x80000000)));
  return i32x4.sub(f32x4.add(signed, f32x4.splat(12582912)), i32x4.splat(0x4B400000));
}

@inline function roundS8(y: f32): i32 {
  let t = y;
  if (t != t) t = 0;
  if (t > 256) t = 256;
  if (t < -256) t = -256;
  const r: i32 = t >= 0 ? i32(f32.trunc(t + <f32>0.5)) : -i32(f32.trunc(<f32>0.5 - t));
  return r < -128 ? -128 : r > 127 ? 127 : r;
}

/** Four i32x4 -> one i8x16, saturating (values outside [-128, 127] clamp). */
@inline function pack16(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

// ---------- add_s8 / mul_s8 (second operand broadcast by i % period) ----------

/** Signed 16-bit digits of a multiplier 0 <= M < 2^31 - 2^15: M = hi * 2^16 + lo, both in [-2^15, 2^15). */
@inline function digitHi(m: i32): i32 {
  return (m >> 16) + ((m & 0x8000) != 0 ? 1 : 0);
}
@inline function digitLo(m: i32): i32 {
  return ((m & 0xffff) ^ 0x8000) - 0x8000;
}

/**
 * srdhm(d << 20, M) for 4 lanes of d (|d| < 2^11, i16 lanes of `d` extended by `lowHalf`): (d*M + 2^10) >> 11
 * computed exactly in i32 from M's 16-bit digits: d*hi*2^5 + ((d*lo + 2^10) >> 11).
 */
@inline function srdhmShift20(p1: v128, p2: v128): v128 {
  return i32x4.add(i32x4.shl(p1, 5), i32x4.shr_s(i32x4.add(p2, i32x4.splat(1024)), 11));
}

/** rounding divide by 2^right (uniform), TFLite RoundingDivideByPOT. */
@inline function rdbpot4(x: v128, right: i32, mask: v128, half: v128): v128 {
  const rem = v128.and(x, mask);
  const thr = i32x4.sub(half, i32x4.shr_s(x, 31));
  return i32x4.sub(i32x4.shr_s(x, right), i32x4.gt_s(rem, thr));
}

/**
 * TFLite ADD: a' = mbqm((a - aZp) << 20, aM, aS), b' likewise, y = clamp(mbqm(a' + b', oM, oS) + oZp).
 * Vectorised over 16 elements within each period block, scalar tails. When neither input shift is positive and
 * the input multipliers have 16-bit digits, a' and b' are computed in i32 (srdhmShift20); otherwise in i64 lanes.
 * (Shift counts that are not constants cost extra instructions per use in V8, hence the shift-free variants.)
 */
export function add_s8(a: usize, b: usize, y: usize, length: i32, period: i32, aZp: i32, aM: i32, aS: i32,
  bZp: i32, bM: i32, bS: i32, oM: i32, oS: i32, oZp: i32): void {
  const aL = aS > 0 ? aS : 0, aR = aS > 0 ? 0 : -aS, bL = bS > 0 ? bS : 0, bR = bS > 0 ? 0 : -bS, oL = oS > 0 ? oS : 0, oR = oS > 0 ? 0 : -oS;
  const aMv = i32x4.splat(aM), bMv = i32x4.splat(bM), oMv = i32x4.splat(oM);
  const aMask = i32x4.splat((1 << aR) - 1), aHalf = i32x4.splat(((1 << aR) - 1) >> 1);
  const bMask = i32x4.splat((1 << bR) - 1), bHalf = i32x4.splat(((1 << bR) - 1) >> 1);
  const oMask = i32x4.splat((1 << oR) - 1), oHalf = i32x4.splat(((1 << oR) - 1) >> 1);
  const aZv = i32x4.splat(aZp), bZv = i32x4.splat(bZp), zp = i32x4.splat(oZp);
  const lo = i32x4.splat(-128 - oZp), hi = i32x4.splat(127 - oZp);
  const fast = aL == 0 && bL == 0 && oL == 0 && aM >= 0 && aM < 0x7fff8000 && bM >= 0 && bM < 0x7fff8000 && aZp >= -1000 && aZp <= 1000 && bZp >= -1000 && bZp <= 1000;
  const aZ16 = i16x8.splat(<i16>aZp), bZ16 = i16x8.splat(<i16>bZp);
  const aH = i16x8.splat(<i16>digitHi(aM)), aLo = i16x8.splat(<i16>digitLo(aM));
  const bH = i16x8.splat(<i16>digitHi(bM)), bLo = i16x8.splat(<i16>digitLo(bM));
  for (let base = 0; base < length; base += period) {
    const ab = a + <usize>base, yb = y + <usize>base;
    let j = 0;
    if (fast) {
      for (; j + 16 <= period; j += 16) {
        const av = v128.load(ab + <usize>j), bv = v128.load(b + <usize>j);
        const da = i16x8.sub(i16x8.extend_low_i8x16_s(av), aZ16), ea = i16x8.sub(i16x8.extend_high_i8x16_s(av), aZ16);
        const db = i16x8.sub(i16x8.extend_low_i8x16_s(bv), bZ16), eb = i16x8.sub(i16x8.extend_high_i8x16_s(bv), bZ16);
        let q0 = i32x4.add(
          rdbpot4(srdhmShift20(i32x4.extmul_low_i16x8_s(da, aH), i32x4.extmul_low_i16x8_s(da, aLo)), aR, aMask, aHalf),
          rdbpot4(srdhmShift20(i32x4.extmul_low_i16x8_s(db, bH), i32x4.extmul_low_i16x8_s(db, bLo)), bR, bMask, bHalf));
        let q1 = i32x4.add(
          rdbpot4(srdhmShift20(i32x4.extmul_high_i16x8_s(da, aH), i32x4.extmul_high_i16x8_s(da, aLo)), aR, aMask, aHalf),
          rdbpot4(srdhmShift20(i32x4.extmul_high_i16x8_s(db, bH), i32x4.extmul_high_i16x8_s(db, bLo)), bR, bMask, bHalf));
        let q2 = i32x4.add(
          rdbpot4(srdhmShift20(i32x4.extmul_low_i16x8_s(ea, aH), i32x4.extmul_low_i16x8_s(ea, aLo)), aR, aMask, aHalf),
          rdbpot4(srdhmShift20(i32x4.extmul_low_i16x8_s(eb, bH), i32x4.extmul_low_i16x8_s(eb, bLo)), bR, bMask, bHalf));
        let q3 = i32x4.add(
          rdbpot4(srdhmShift20(i32x4.extmul_high_i16x8_s(ea, aH), i32x4.extmul_high_i16x8_s(ea, aLo)), aR, aMask, aHalf),
          rdbpot4(srdhmShift20(i32x4.extmul_high_i16x8_s(eb, bH), i32x4.extmul_high_i16x8_s(eb, bLo)), bR, bMask, bHalf));
        q0 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4r(q0, oMv, oR, oMask, oHalf), lo), hi), zp);
        q1 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4r(q1, oMv, oR, oMask, oHalf), lo), hi), zp);
        q2 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4r(q2, oMv, oR, oMask, oHalf), lo), hi), zp);
        q3 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4r(q3, oMv, oR, oMask, oHalf), lo), hi), zp);
        v128.store(yb + <usize>j, pack16(q0, q1, q2, q3));
      }
    }
    for (; j + 16 <= period; j += 16) {
      const av = v128.load(ab + <usize>j), bv = v128.load(b + <usize>j);
      const al = i16x8.extend_low_i8x16_s(av), ah = i16x8.extend_high_i8x16_s(av);
      const bl = i16x8.extend_low_i8x16_s(bv), bh = i16x8.extend_high_i8x16_s(bv);
      let q0 = i32x4.add(mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_low_i16x8_s(al), aZv), 20), aMv, aL, aR, aMask, aHalf),
        mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_low_i16x8_s(bl), bZv), 20), bMv, bL, bR, bMask, bHalf));
      let q1 = i32x4.add(mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_high_i16x8_s(al), aZv), 20), aMv, aL, aR, aMask, aHalf),
        mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_high_i16x8_s(bl), bZv), 20), bMv, bL, bR, bMask, bHalf));
      let q2 = i32x4.add(mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_low_i16x8_s(ah), aZv), 20), aMv, aL, aR, aMask, aHalf),
        mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_low_i16x8_s(bh), bZv), 20), bMv, bL, bR, bMask, bHalf));
      let q3 = i32x4.add(mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_high_i16x8_s(ah), aZv), 20), aMv, aL, aR, aMask, aHalf),
        mbqm4(i32x4.shl(i32x4.sub(i32x4.extend_high_i16x8_s(bh), bZv), 20), bMv, bL, bR, bMask, bHalf));
      q0 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(q0, oMv, oL, oR, oMask, oHalf), lo), hi), zp);
      q1 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(q1, oMv, oL, oR, oMask, oHalf), lo), hi), zp);
      q2 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(q2, oMv, oL, oR, oMask, oHalf), lo), hi), zp);
      q3 = i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(q3, oMv, oL, oR, oMask, oHalf), lo), hi), zp);
      v128.store(yb + <usize>j, pack16(q0, q1, q2, q3));
    }
    for (; j < period; j++) {
      const x1 = requantize((i32(load<i8>(ab + <usize>j)) - aZp) << 20, aM, aS);
      const x2 = requantize((i32(load<i8>(b + <usize>j)) - bZp) << 20, bM, bS);
      store<i8>(yb + <usize>j, clampS8(requantize(x1 + x2, oM, oS), oZp));
    }
  }
}

/** TFLite MUL: y = clamp(mbqm((a - aZp) * (b - bZp), M, S) + oZp). */
export function mul_s8(a: usize, b: usize, y: usize, length: i32, period: i32, aZp: i32, bZp: i32, mult: i32, shift: i32, oZp: i32): void {
  const L = shift > 0 ? shift : 0, R = shift > 0 ? 0 : -shift;
  const Mv = i32x4.splat(mult), mask = i32x4.splat((1 << R) - 1), half = i32x4.splat(((1 << R) - 1) >> 1);
  const aZv = i32x4.splat(aZp), bZv = i32x4.splat(bZp), zp = i32x4.splat(oZp);
  const lo = i32x4.splat(-128 - oZp), hi = i32x4.splat(127 - oZp);
  for (let base = 0; base < length; base += period) {
    const ab = a + <usize>base, yb = y + <usize>base;
    let j = 0;
    for (; j + 16 <= period; j += 16) {
      const av = v128.load(ab + <usize>j), bv = v128.load(b + <usize>j);
      const al = i16x8.extend_low_i8x16_s(av), ah = i16x8.extend_high_i8x16_s(av);
      const bl = i16x8.extend_low_i8x16_s(bv), bh = i16x8.extend_high_i8x16_s(bv);
      const p0 = i32x4.mul(i32x4.sub(i32x4.extend_low_i16x8_s(al), aZv), i32x4.sub(i32x4.extend_low_i16x8_s(bl), bZv));
      const p1 = i32x4.mul(i32x4.sub(i32x4.extend_high_i16x8_s(al), aZv), i32x4.sub(i32x4.extend_high_i16x8_s(bl), bZv));
      const p2 = i32x4.mul(i32x4.sub(i32x4.extend_low_i16x8_s(ah), aZv), i32x4.sub(i32x4.extend_low_i16x8_s(bh), bZv));
      const p3 = i32x4.mul(i32x4.sub(i32x4.extend_high_i16x8_s(ah), aZv), i32x4.sub(i32x4.extend_high_i16x8_s(bh), bZv));
      v128.store(yb + <usize>j, pack16(
        i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(p0, Mv, L, R, mask, half), lo), hi), zp),
        i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(p1, Mv, L, R, mask, half), lo), hi), zp),
        i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(p2, Mv, L, R, mask, half), lo), hi), zp),
        i32x4.add(i32x4.min_s(i32x4.max_s(mbqm4(p3, Mv, L, R, mask, half), lo), hi), zp)));
    }
    for (; j < period; j++) {
      const p = (i32(load<i8>(ab + <usize>j)) - aZp) * (i32(load<i8>(b + <usize>j)) - bZp);
      store<i8>(yb + <usize>j, clampS8(requantize(p, mult, shift), oZp));
    }
  }
}

// ---------- add_s8 / mul_s8 with a checked f32 requantization ----------
//
// compiler/ops/elementwise/wasm.ts takes these where no shift is positive and the multipliers are not negative.
// TFLite's rounding of the output, floor((x M + 2^30 + 2^(30+e) - 2^31 [srdhm(x, M) < 0]) / 2^(31+e)) for the exact
// x, is floor(T + 1/2) with T = x M / 2^(31+e) + sgn h, h = 2^-(e+1) (0 where e = 0; the sign may come from any
// estimate of x: where it differs from srdhm's, both forms floor to 0). The kernels estimate T in f32 as y and take
// nearest(y) (the low bits of y + 1.5 * 2^23 + zp) unless y lies within tau of a half-integer, where |T - y| < 1/2 - tau
// is proven at compile time; such blocks of 16 are requantized exactly (TFLite's integer arithmetic, per element).
//  - mul: x = (a - aZp)(b - bZp) exactly, y = f32(x) m + sgn(x) h (m = f32(M / 2^(31+e))): |T - y| <= 2^-24 (3 |T| + 3),
//    below 2^-14 for every result the int8 range does not saturate, below 1 everywhere (|x M| / 2^(31+e) < 2^21).
//  - add: x = a' + b' with a' = mbqm((a - aZp) 2^20, aM, aS) within 1 of (a - aZp) ka' (ka' = 2^20 aM / 2^(31+aR)),
//    likewise b'; y = t + sgn(t) h, t = f32(a - aZp) ka + f32(b - bZp) kb (ka = f32(ka' M / 2^(31+e)), kb likewise);
//    the bound on |T - y| (f32 roundings and the 2 of a' + b') is computed per step.

/** Lanes of y within tau of a half-integer (z = y + cz rounded, cz = 1.5 * 2^23 + zp). */
@inline function unsureAt(y: v128, z: v128, cz: v128, tau: v128): v128 {
  return f32x4.gt(f32x4.abs(f32x4.sub(y, f32x4.sub(z, cz))), tau);
}

/** y + sgn(y) h. */
@inline function withHalf(t: v128, h: v128): v128 {
  return f32x4.add(t, v128.or(v128.and(t, i32x4.splat(0x80000000)), h));
}

/** The exact add_s8 of elements j .. j + n - 1 of a block (scalar; TFLite's arithmetic). */
function addExact(ab: usize, b: usize, yb: usize, j: i32, n: i32, aZp: i32, aM: i32, aS: i32, bZp: i32, bM: i32, bS: i32, oM: i32, oS: i32, oZp: i32): void {
  for (let k = j; k < j + n; k++) {
    const x1 = requantize((i32(load<i8>(ab + <usize>k)) - aZp) << 20, aM, aS);
    const x2 = requantize((i32(load<i8>(b + <usize>k)) - bZp) << 20, bM, bS);
    store<i8>(yb + <usize>k, clampS8(requantize(x1 + x2, oM, oS), oZp));
  }
}

/** add_s8 (arguments as there, then the f32 constants ka, kb, h and tau) on the checked f32 path. */
export function add_s8_f(a: usize, b: usize, y: usize, length: i32, period: i32, aZp: i32, aM: i32, aS: i32,
  bZp: i32, bM: i32, bS: i32, oM: i32, oS: i32, oZp: i32, ka: f32, kb: f32, h: f32, tau: f32): void {
  const aZ16 = i16x8.splat(<i16>aZp), bZ16 = i16x8.splat(<i16>bZp);
  const kav = f32x4.splat(ka), kbv = f32x4.splat(kb), hv = f32x4.splat(h), tv = f32x4.splat(tau);
  const cz = f32x4.splat(<f32>(<i32>12582912 + oZp)), magic = i32x4.splat(0x4B400000);
  for (let base = 0; base < length; base += period) {
    const ab = a + <usize>base, yb = y + <usize>base;
    let j = 0;
    for (; j + 16 <= period; j += 16) {
      const av = v128.load(ab + <usize>j), bv = v128.load(b + <usize>j);
      const da = i16x8.sub(i16x8.extend_low_i8x16_s(av), aZ16), ea = i16x8.sub(i16x8.extend_high_i8x16_s(av), aZ16);
      const db = i16x8.sub(i16x8.extend_low_i8x16_s(bv), bZ16), eb = i16x8.sub(i16x8.extend_high_i8x16_s(bv), bZ16);
      const y0 = withHalf(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(da)), kav), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(db)), kbv)), hv);
      const y1 = withHalf(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(da)), kav), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(db)), kbv)), hv);
      const y2 = withHalf(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(ea)), kav), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(eb)), kbv)), hv);
      const y3 = withHalf(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(ea)), kav), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(eb)), kbv)), hv);
      const z0 = f32x4.add(y0, cz), z1 = f32x4.add(y1, cz), z2 = f32x4.add(y2, cz), z3 = f32x4.add(y3, cz);
      const u = v128.or(v128.or(unsureAt(y0, z0, cz, tv), unsureAt(y1, z1, cz, tv)), v128.or(unsureAt(y2, z2, cz, tv), unsureAt(y3, z3, cz, tv)));
      if (v128.any_true(u)) { addExact(ab, b, yb, j, 16, aZp, aM, aS, bZp, bM, bS, oM, oS, oZp); continue; }
      v128.store(yb + <usize>j, pack16(i32x4.sub(z0, magic), i32x4.sub(z1, magic), i32x4.sub(z2, magic), i32x4.sub(z3, magic)));
    }
    addExact(ab, b, yb, j, period - j, aZp, aM, aS, bZp, bM, bS, oM, oS, oZp);
  }
}

/** mul_s8 (arguments as there, then f32 m = M / 2^(31+e) and h) on the checked f32 path. */
export function mul_s8_f(a: usize, b: usize, y: usize, length: i32, period: i32, aZp: i32, bZp: i32, mult: i32, shift: i32, oZp: i32,
  m: f32, h: f32): void {
  const aZ16 = i16x8.splat(<i16>aZp), bZ16 = i16x8.splat(<i16>bZp);
  const mv = f32x4.splat(m), hv = f32x4.splat(h), tv = f32x4.splat(0.5 - 1.0 / 4096);
  const cz = f32x4.splat(<f32>(<i32>12582912 + oZp)), magic = i32x4.splat(0x4B400000);
  for (let base = 0; base < length; base += period) {
    const ab = a + <usize>base, yb = y + <usize>base;
    let j = 0;
    for (; j + 16 <= period; j += 16) {
      const av = v128.load(ab + <usize>j), bv = v128.load(b + <usize>j);
      const da = i16x8.sub(i16x8.extend_low_i8x16_s(av), aZ16), ea = i16x8.sub(i16x8.extend_high_i8x16_s(av), aZ16);
      const db = i16x8.sub(i16x8.extend_low_i8x16_s(bv), bZ16), eb = i16x8.sub(i16x8.extend_high_i8x16_s(bv), bZ16);
      const y0 = withHalf(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extmul_low_i16x8_s(da, db)), mv), hv);
      const y1 = withHalf(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extmul_high_i16x8_s(da, db)), mv), hv);
      const y2 = withHalf(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extmul_low_i16x8_s(ea, eb)), mv), hv);
      const y3 = withHalf(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extmul_high_i16x8_s(ea, eb)), mv), hv);
      const z0 = f32x4.add(y0, cz), z1 = f32x4.add(y1, cz), z2 = f32x4.add(y2, cz), z3 = f32x4.add(y3, cz);
      const u = v128.or(v128.or(unsureAt(y0, z0, cz, tv), unsureAt(y1, z1, cz, tv)), v128.or(unsureAt(y2, z2, cz, tv), unsureAt(y3, z3, cz, tv)));
      if (v128.any_true(u)) { mulExact(ab, b, yb, j, 16, aZp, bZp, mult, shift, oZp); continue; }
      v128.store(yb + <usize>j, pack16(i32x4.sub(z0, magic), i32x4.sub(z1, magic), i32x4.sub(z2, magic), i32x4.sub(z3, magic)));
    }
    mulExact(ab, b, yb, j, period - j, aZp, bZp, mult, shift, oZp);
  }
}

/** The exact mul_s8 of elements j .. j + n - 1 of a block (scalar). */
function mulExact(ab: usize, b: usize, yb: usize, j: i32, n: i32, aZp: i32, bZp: i32, mult: i32, shift: i32, oZp: i32): void {
  for (let k = j; k < j + n; k++) {
    const p = (i32(load<i8>(ab + <usize>k)) - aZp) * (i32(load<i8>(b + <usize>k)) - bZp);
    store<i8>(yb + <usize>k, clampS8(requantize(p, mult, shift), oZp));
  }
}

/** Per-feature affine map: y = clamp(mbqm((x - inZp) * w[c] + bias[c], mult[c], shift[c]) + oZp); w, bias, mult, shift are i32 arrays. */
export function affine_s8(x: usize, y: usize, rows: i32, features: i32, inZp: i32, w: usize, bias: usize, mult: usize, shift: usize, oZp: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * <usize>features, yr = y + <usize>r * <usize>features;
    for (let c = 0; c < features; c++) {
      const k = <usize>c << 2;
      const v = (i32(load<i8>(xr + <usize>c)) - inZp) * load<i32>(w + k) + load<i32>(bias + k);
      store<i8>(yr + <usize>c, clampS8(requantize(v, load<i32>(mult + k), load<i32>(shift + k)), oZp));
    }
  }
}

// ---------- layer_norm_s8 ----------

/**
 * Per row of n int8: S = sum(q - zp), Q = sum((q - zp)^2), num = n*Q - S*S (i64);
 * var = f32(num) / f32(n*n); mean = f32(S) / f32(n); inv = 1 / sqrt(var * inScaleSq + eps); k = inv * inScale;
 * y_i = roundToInt8(((f32(q_i - zp) - mean) * k) * gain[i] + offset[i])   (all f32, in this order).
 * Rows of up to 128 features (a multiple of 16) with an int8 zero point go 4 at a time through the per-row
 * arithmetic, one row per lane: num < n^2 255^2 < 2^31 then, so i32 lanes hold it exactly and convert to f32 with
 * the same rounding; the f32 divisions and square roots are IEEE in either form.
 */
export function layer_norm_s8(x: usize, y: usize, rows: i32, n: i32, inZp: i32, inScale: f32, inScaleSq: f32, eps: f32,
  gain: usize, offset: usize): void {
  const zp16 = i16x8.splat(<i16>inZp), zp32 = i32x4.splat(inZp);
  const nn = <f32>(n * n), nf = <f32>n;
  let r = 0;
  if ((n & 15) == 0 && n <= 128 && inZp >= -128 && inZp <= 127) {
    for (; r + 4 <= rows; r += 4) {
      const x0 = x + <usize>r * <usize>n, nb = <usize>n;
      const S = reduce4(rowSum(x0, n, zp16), rowSum(x0 + nb, n, zp16), rowSum(x0 + 2 * nb, n, zp16), rowSum(x0 + 3 * nb, n, zp16));
      const Q = reduce4(rowSq(x0, n, zp16), rowSq(x0 + nb, n, zp16), rowSq(x0 + 2 * nb, n, zp16), rowSq(x0 + 3 * nb, n, zp16));
      const num = i32x4.sub(i32x4.mul(i32x4.splat(n), Q), i32x4.mul(S, S));
      const variance = f32x4.div(f32x4.convert_i32x4_s(num), f32x4.splat(nn));
      const mean = f32x4.div(f32x4.convert_i32x4_s(S), f32x4.splat(nf));
      const inv = f32x4.div(f32x4.splat(1), f32x4.sqrt(f32x4.add(f32x4.mul(variance, f32x4.splat(inScaleSq)), f32x4.splat(eps))));
      const k = f32x4.mul(inv, f32x4.splat(inScale));
      const y0 = y + <usize>r * <usize>n;
      lnRow(x0, y0, n, inZp, zp32, f32x4.extract_lane(mean, 0), f32x4.extract_lane(k, 0), gain, offset);
      lnRow(x0 + nb, y0 + nb, n, inZp, zp32, f32x4.extract_lane(mean, 1), f32x4.extract_lane(k, 1), gain, offset);
      lnRow(x0 + 2 * nb, y0 + 2 * nb, n, inZp, zp32, f32x4.extract_lane(mean, 2), f32x4.extract_lane(k, 2), gain, offset);
      lnRow(x0 + 3 * nb, y0 + 3 * nb, n, inZp, zp32, f32x4.extract_lane(mean, 3), f32x4.extract_lane(k, 3), gain, offset);
    }
  }
  for (; r < rows; r++) {
    const xr = x + <usize>r * <usize>n, yr = y + <usize>r * <usize>n;
    let sv = i32x4.splat(0), qv = i32x4.splat(0);
    let i = 0;
    for (; i + 16 <= n; i += 16) {
      const v = v128.load(xr + <usize>i);
      const lo = i16x8.sub(i16x8.extend_low_i8x16_s(v), zp16), hi = i16x8.sub(i16x8.extend_high_i8x16_s(v), zp16);
      sv = i32x4.add(sv, i32x4.add(i32x4.extadd_pairwise_i16x8_s(lo), i32x4.extadd_pairwise_i16x8_s(hi)));
      qv = i32x4.add(qv, i32x4.add(i32x4.dot_i16x8_s(lo, lo), i32x4.dot_i16x8_s(hi, hi)));
    }
    let S = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
    let Q = i32x4.extract_lane(qv, 0) + i32x4.extract_lane(qv, 1) + i32x4.extract_lane(qv, 2) + i32x4.extract_lane(qv, 3);
    for (; i < n; i++) {
      const v = i32(load<i8>(xr + <usize>i)) - inZp;
      S += v;
      Q += v * v;
    }
    const num = i64(n) * i64(Q) - i64(S) * i64(S);
    const variance: f32 = <f32>num / nn;
    const mean: f32 = <f32>S / nf;
    const inv: f32 = <f32>1 / f32.sqrt(variance * inScaleSq + eps);
    lnRow(xr, yr, n, inZp, zp32, mean, inv * inScale, gain, offset);
  }
}

/** Four i32x4 -> [sum a, sum b, sum c, sum d]. */
@inline function reduce4(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const t1 = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** Lane partial sums of q - zp over a row of n int8 (n a multiple of 16). */
@inline function rowSum(xr: usize, n: i32, zp16: v128): v128 {
  let sv = i32x4.splat(0);
  for (let i = 0; i < n; i += 16) {
    const v = v128.load(xr + <usize>i);
    sv = i32x4.add(sv, i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.sub(i16x8.extend_low_i8x16_s(v), zp16)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.sub(i16x8.extend_high_i8x16_s(v), zp16))));
  }
  return sv;
}

/** Lane partial sums of (q - zp)^2 over a row of n int8 (n a multiple of 16). */
@inline function rowSq(xr: usize, n: i32, zp16: v128): v128 {
  let qv = i32x4.splat(0);
  for (let i = 0; i < n; i += 16) {
    const v = v128.load(xr + <usize>i);
    const lo = i16x8.sub(i16x8.extend_low_i8x16_s(v), zp16), hi = i16x8.sub(i16x8.extend_high_i8x16_s(v), zp16);
    qv = i32x4.add(qv, i32x4.add(i32x4.dot_i16x8_s(lo, lo), i32x4.dot_i16x8_s(hi, hi)));
  }
  return qv;
}

/** One row's outputs: roundToInt8(((f32(q_i - zp) - mean) * k) * gain[i] + offset[i]) (a call: five copies would bloat every module). */
function lnRow(xr: usize, yr: usize, n: i32, inZp: i32, zp32: v128, mean: f32, k: f32, gain: usize, offset: usize): void {
  const mv = f32x4.splat(mean), kv = f32x4.splat(k);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const v = v128.load(xr + <usize>i);
    const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
    const g = gain + (<usize>i << 2), o = offset + (<usize>i << 2);
    const r0 = roundS8x4(f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(lo), zp32)), mv), kv), v128.load(g)), v128.load(o)));
    const r1 = roundS8x4(f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(lo), zp32)), mv), kv), v128.load(g, 16)), v128.load(o, 16)));
    const r2 = roundS8x4(f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(hi), zp32)), mv), kv), v128.load(g, 32)), v128.load(o, 32)));
    const r3 = roundS8x4(f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(hi), zp32)), mv), kv), v128.load(g, 48)), v128.load(o, 48)));
    v128.store(yr + <usize>i, pack16(r0, r1, r2, r3));
  }
  for (; i < n; i++) {
    const d: f32 = <f32>(i32(load<i8>(xr + <usize>i)) - inZp);
    const t: f32 = ((d - mean) * k) * load<f32>(gain + (<usize>i << 2)) + load<f32>(offset + (<usize>i << 2));
    store<i8>(yr + <usize>i, roundS8(t));
  }
}

// ---------- softmax_s8 ----------

// Exp tables of softmax_s8, cached per base (bit pattern): a table depends only on its base, so it is built
// (at run time, by repeated multiplication) the first time a base is seen and reused by later calls.
const TABLE_SLOTS = 16;
const tableKeys: usize = memory.data(TABLE_SLOTS * 4, 16);
const tables: usize = memory.data(TABLE_SLOTS * 1024, 16);
const tableGuard: usize = memory.data<u32>([0x7f7f7f7f]); // keeps the zero buffers inside the data segments
let tableNext = 0;

/** The 256-entry table for `base`: t[0] = 1, t[k] = t[k-1] < 1e-30 ? 0 : t[k-1] * base (f32). */
function expTable(base: f32): usize {
  const key = reinterpret<u32>(base);
  for (let i = 0; i < TABLE_SLOTS; i++) {
    if (load<u32>(tableKeys + (<usize>i << 2)) == key) return tables + (<usize>i << 10);
  }
  const slot = tableNext;
  tableNext = (tableNext + 1) % TABLE_SLOTS;
  const t = tables + (<usize>slot << 10);
  store<f32>(t, 1);
  let p: f32 = 1;
  for (let k = 1; k < 256; k++) {
    p = p < <f32>1e-30 ? 0 : p * base;
    store<f32>(t + (<usize>k << 2), p);
  }
  store<u32>(tableKeys + (<usize>slot << 2), key);
  return t;
}

/**
 * Softmax over rows of n int8 (output scale 1/256, zero point -128). The exp table comes from expTable(base);
 * `scratch` holds 1024 bytes (unused), 4 * n floats (the exponentials of 4 rows), then n 16-byte vectors (the 4
 * rows' 1 / sum per group of 4 outputs). Sums run in element order per row (4 rows interleaved). With n a multiple
 * of 4 the 4 rows' outputs are one contiguous run of 4 n (16 per store whatever n is).
 */
export function softmax_s8(x: usize, y: usize, rows: i32, n: i32, base: f32, scratch: usize): void {
  const t = expTable(base);
  const e = scratch + 1024;
  const nb = <usize>n, eb = <usize>n << 2, iv = e + (eb << 2);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = x + <usize>r * nb, x1 = x0 + nb, x2 = x1 + nb, x3 = x2 + nb;
    const m0 = rowMax(x0, nb), m1 = rowMax(x1, nb), m2 = rowMax(x2, nb), m3 = rowMax(x3, nb);
    const t0 = t + (<usize>m0 << 2), t1 = t + (<usize>m1 << 2), t2 = t + (<usize>m2 << 2), t3 = t + (<usize>m3 << 2);
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (let i: usize = 0; i < nb; i++) {
      // t[m - q] as a byte offset: (m << 2) - (q << 2)
      const e0 = load<f32>(t0 - (<usize>i32(load<i8>(x0 + i)) << 2));
      const e1 = load<f32>(t1 - (<usize>i32(load<i8>(x1 + i)) << 2));
      const e2 = load<f32>(t2 - (<usize>i32(load<i8>(x2 + i)) << 2));
      const e3 = load<f32>(t3 - (<usize>i32(load<i8>(x3 + i)) << 2));
      s0 += e0; s1 += e1; s2 += e2; s3 += e3;
      const k = e + (i << 2);
      store<f32>(k, e0);
      store<f32>(k + eb, e1);
      store<f32>(k + 2 * eb, e2);
      store<f32>(k + 3 * eb, e3);
    }
    if ((n & 3) == 0) {
      const inv = f32x4.div(f32x4.splat(1), f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(s0), 1, s1), 2, s2), 3, s3));
      const q = <usize>(n >> 2);
      for (let g: usize = 0; g < q; g++) {
        v128.store(iv + (g << 4), i32x4.shuffle(inv, inv, 0, 0, 0, 0));
        v128.store(iv + ((q + g) << 4), i32x4.shuffle(inv, inv, 1, 1, 1, 1));
        v128.store(iv + ((2 * q + g) << 4), i32x4.shuffle(inv, inv, 2, 2, 2, 2));
        v128.store(iv + ((3 * q + g) << 4), i32x4.shuffle(inv, inv, 3, 3, 3, 3));
      }
      softmaxOut4(e, iv, y + <usize>r * nb, n);
      continue;
    }
    softmaxOut(e, <f32>1 / s0, y + <usize>r * nb, n);
    softmaxOut(e + eb, <f32>1 / s1, y + <usize>(r + 1) * nb, n);
    softmaxOut(e + 2 * eb, <f32>1 / s2, y + <usize>(r + 2) * nb, n);
    softmaxOut(e + 3 * eb, <f32>1 / s3, y + <usize>(r + 3) * nb, n);
  }
  for (; r < rows; r++) {
    const x0 = x + <usize>r * nb;
    const m0 = rowMax(x0, nb);
    const t0 = t + (<usize>m0 << 2);
    let s0: f32 = 0;
    for (let i: usize = 0; i < nb; i++) {
      const e0 = load<f32>(t0 - (<usize>i32(load<i8>(x0 + i)) << 2));
      s0 += e0;
      store<f32>(e + (i << 2), e0);
    }
    softmaxOut(e, <f32>1 / s0, y + <usize>r * nb, n);
  }
}

/**
 * out = trunc(f32(f32(f32(e * inv) * 256) + 0.5)) - 128 for 4 lanes (e * inv >= 0, so trunc = floor), as i32 in
 * [-128, 128] (the caller's saturating narrow maps 128 to 127): the floor plus 1.5 * 2^23 - 128, less its bits.
 */
@inline function softmax4(e: v128, inv: v128): v128 {
  const u = f32x4.floor(f32x4.add(f32x4.mul(f32x4.mul(e, inv), f32x4.splat(256)), f32x4.splat(0.5)));
  return i32x4.sub(f32x4.add(u, f32x4.splat(12582784)), i32x4.splat(0x4B400000));
}

/** 4 rows of n outputs (n a multiple of 4) as one run of 4 n: exponentials at e, 1 / sum per group of 4 at iv. */
@inline function softmaxOut4(e: usize, iv: usize, y: usize, n: i32): void {
  const total = <usize>n << 2;
  let j: usize = 0;
  for (; j + 16 <= total; j += 16) {
    const p = e + (j << 2), v = iv + (j << 2);
    v128.store(y + j, pack16(softmax4(v128.load(p), v128.load(v)), softmax4(v128.load(p, 16), v128.load(v, 16)),
      softmax4(v128.load(p, 32), v128.load(v, 32)), softmax4(v128.load(p, 48), v128.load(v, 48))));
  }
  for (; j < total; j += 4) {
    const r0 = softmax4(v128.load(e + (j << 2)), v128.load(iv + (j << 2)));
    const h = i16x8.narrow_i32x4_s(r0, r0);
    v128.store32_lane(y + j, i8x16.narrow_i16x8_s(h, h), 0);
  }
}

/** max of n int8 at x (i8x16 chunks, an 8-byte chunk read twice, scalar tail; never reads past x + n). */
@inline function rowMax(x: usize, n: usize): i32 {
  let i: usize = 0;
  let m = -128;
  if (n >= 8) {
    let v = i8x16.splat(-128);
    for (; i + 16 <= n; i += 16) v = i8x16.max_s(v, v128.load(x + i));
    if (i + 8 <= n) { v = i8x16.max_s(v, v128.load64_splat(x + i)); i += 8; }
    v = i8x16.max_s(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    v = i8x16.max_s(v, i8x16.shuffle(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
    v = i8x16.max_s(v, i8x16.shuffle(v, v, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
    v = i8x16.max_s(v, i8x16.shuffle(v, v, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
    m = i8x16.extract_lane_s(v, 0);
  }
  for (; i < n; i++) {
    const v = i32(load<i8>(x + i));
    if (v > m) m = v;
  }
  return m;
}

/** out_j = min(trunc(f32(f32(f32(e_j * inv) * 256) + 0.5)) - 128, 127) (e_j * inv >= 0). */
@inline function softmaxOut(e: usize, inv: f32, y: usize, n: i32): void {
  const iv = f32x4.splat(inv), c256 = f32x4.splat(256), half = f32x4.splat(0.5), c128 = i32x4.splat(128), c127 = i32x4.splat(127);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const p = e + (<usize>j << 2);
    const r0 = i32x4.min_s(i32x4.sub(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.mul(v128.load(p), iv), c256), half)), c128), c127);
    const r1 = i32x4.min_s(i32x4.sub(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.mul(v128.load(p, 16), iv), c256), half)), c128), c127);
    const r2 = i32x4.min_s(i32x4.sub(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.mul(v128.load(p, 32), iv), c256), half)), c128), c127);
    const r3 = i32x4.min_s(i32x4.sub(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.mul(v128.load(p, 48), iv), c256), half)), c128), c127);
    v128.store(y + <usize>j, pack16(r0, r1, r2, r3));
  }
  for (; j + 4 <= n; j += 4) {
    const r0 = i32x4.min_s(i32x4.sub(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.mul(v128.load(e + (<usize>j << 2)), iv), c256), half)), c128), c127);
    const h = i16x8.narrow_i32x4_s(r0, r0);
    v128.store32_lane(y + <usize>j, i8x16.narrow_i16x8_s(h, h), 0);
  }
  for (; j < n; j++) {
    const tj: f32 = (load<f32>(e + (<usize>j << 2)) * inv) * <f32>256;
    const v = i32(f32.trunc(tj + <f32>0.5)) - 128;
    store<i8>(y + <usize>j, v > 127 ? 127 : v);
  }
}

// ---------- transpose_s8 ----------

/**
 * batches x [R][C] int8 -> [C][R]: 8 x 8 blocks in three rounds of byte / 16-bit / 32-bit interleaves (two rows per
 * vector), the rows and columns past the last full block byte by byte.
 */
export function transpose_s8(x: usize, y: usize, batches: i32, R: i32, C: i32): void {
  const rb = <usize>R, cb = <usize>C, plane = rb * cb;
  const R8 = R & ~7, C8 = C & ~7;
  for (let bt = 0; bt < batches; bt++) {
    const xb = x + <usize>bt * plane, yb = y + <usize>bt * plane;
    for (let r = 0; r < R8; r += 8) {
      for (let c = 0; c < C8; c += 8) {
        const s = xb + <usize>r * cb + <usize>c;
        const a = v128.load64_lane(s + cb, v128.load64_zero(s), 1);
        const b = v128.load64_lane(s + 3 * cb, v128.load64_zero(s + 2 * cb), 1);
        const d = v128.load64_lane(s + 5 * cb, v128.load64_zero(s + 4 * cb), 1);
        const e = v128.load64_lane(s + 7 * cb, v128.load64_zero(s + 6 * cb), 1);
        // rows 2k, 2k+1 interleaved by byte: column j's pair at bytes 2j, 2j+1
        const t0 = i8x16.shuffle(a, a, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        const t1 = i8x16.shuffle(b, b, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        const t2 = i8x16.shuffle(d, d, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        const t3 = i8x16.shuffle(e, e, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        // rows 0..3 (4..7) of columns 0..3 and 4..7
        const u0 = i16x8.shuffle(t0, t1, 0, 8, 1, 9, 2, 10, 3, 11), u1 = i16x8.shuffle(t0, t1, 4, 12, 5, 13, 6, 14, 7, 15);
        const u2 = i16x8.shuffle(t2, t3, 0, 8, 1, 9, 2, 10, 3, 11), u3 = i16x8.shuffle(t2, t3, 4, 12, 5, 13, 6, 14, 7, 15);
        // two output rows per vector
        const o = yb + <usize>c * rb + <usize>r;
        const v0 = i32x4.shuffle(u0, u2, 0, 4, 1, 5), v1 = i32x4.shuffle(u0, u2, 2, 6, 3, 7);
        const v2 = i32x4.shuffle(u1, u3, 0, 4, 1, 5), v3 = i32x4.shuffle(u1, u3, 2, 6, 3, 7);
        v128.store64_lane(o, v0, 0); v128.store64_lane(o + rb, v0, 1);
        v128.store64_lane(o + 2 * rb, v1, 0); v128.store64_lane(o + 3 * rb, v1, 1);
        v128.store64_lane(o + 4 * rb, v2, 0); v128.store64_lane(o + 5 * rb, v2, 1);
        v128.store64_lane(o + 6 * rb, v3, 0); v128.store64_lane(o + 7 * rb, v3, 1);
      }
      for (let c = C8; c < C; c++) for (let k = 0; k < 8; k++) store<i8>(yb + <usize>c * rb + <usize>(r + k), load<i8>(xb + <usize>(r + k) * cb + <usize>c));
    }
    for (let r = R8; r < R; r++) for (let c = 0; c < C; c++) store<i8>(yb + <usize>c * rb + <usize>r, load<i8>(xb + <usize>r * cb + <usize>c));
  }
}
