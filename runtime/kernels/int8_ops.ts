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
 */
export function layer_norm_s8(x: usize, y: usize, rows: i32, n: i32, inZp: i32, inScale: f32, inScaleSq: f32, eps: f32,
  gain: usize, offset: usize): void {
  const zp16 = i16x8.splat(<i16>inZp), zp32 = i32x4.splat(inZp);
  const nn = <f32>(n * n), nf = <f32>n;
  for (let r = 0; r < rows; r++) {
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
    const k: f32 = inv * inScale;
    const mv = f32x4.splat(mean), kv = f32x4.splat(k);
    i = 0;
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
 * `scratch` holds 1024 bytes (unused) followed by 4 * n floats (the exponentials of 4 rows). Sums run in element
 * order per row (4 rows interleaved).
 */
export function softmax_s8(x: usize, y: usize, rows: i32, n: i32, base: f32, scratch: usize): void {
  const t = expTable(base);
  const e = scratch + 1024;
  const nb = <usize>n, eb = <usize>n << 2;
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
