// float dense with f32x4 accumulation and a fused activation evaluated in f64 (GELU two outputs at a time).
import { exp_f64x2 } from './float_math';

// Activation codes; must match compiler/ops/dense/wasm.ts.
export const ACT_LINEAR = 0;
export const ACT_RELU = 1;
export const ACT_TANH = 2;
export const ACT_SIGMOID = 3;
export const ACT_GELU = 4;

// Chebyshev coefficients, fitted offline against a double-precision series/continued-fraction erf.
// A: erf(z)/z as a function of t = z^2 on [0, 1].
const ERF_A: StaticArray<f64> = [
  0.97547693938265401, -0.14226120510371373, 0.010035582187599828, -0.00057687646997656953,
  0.000027419931251992935, -0.0000011043175499444604, 3.8488754865768319e-8, -1.1808582841713440e-9,
  3.2334246391485522e-11, -7.9975708595319311e-13, 1.7327409348614048e-14,
];
// B, C: exp(z^2) * erfc(z) on [1, 2.5] and [2.5, 6].
const ERF_B: StaticArray<f64> = [
  0.30171389024446227, -0.10574990110146142, 0.017104848474473088, -0.0025876822610607490,
  0.00036961452688604281, -0.000050198560518940645, 0.0000065179352577034297, -8.1264488664563450e-7,
  9.7637002725228044e-8, -1.1338023969182326e-8, 1.2759058153445258e-9, -1.3929069009321893e-10,
  1.4897734561132708e-11, -1.5027777002594369e-12,
];
const ERF_C: StaticArray<f64> = [
  0.14016047004976140, -0.056776049432597397, 0.011209463278240432, -0.0021611166170954843,
  0.00040747765264843736, -0.000075237715616874567, 0.000013620051895452123, -0.0000024198114237019363,
  4.2232281338200844e-7, -7.2464995453708727e-8, 1.2233728827950395e-8, -2.0334472691533019e-9,
  3.3298271968023647e-10, -5.3749255046753319e-11, 8.5568383187154246e-12, -1.3442630846844332e-12,
  2.0860838309292004e-13,
];

@inline function clenshaw(c: StaticArray<f64>, a: f64, b: f64, x: f64): f64 {
  const t = (2 * x - a - b) / (b - a);
  let b1: f64 = 0, b2: f64 = 0;
  for (let k = c.length - 1; k >= 1; k--) {
    const tmp = 2 * t * b1 - b2 + unchecked(c[k]);
    b2 = b1;
    b1 = tmp;
  }
  return t * b1 - b2 + unchecked(c[0]);
}

/** erf in double precision to ~1e-11 relative. */
export function erf(x: f64): f64 {
  const z = Math.abs(x);
  let r: f64;
  if (z < 1) r = z * clenshaw(ERF_A, 0, 1, z * z);
  else if (z < 2.5) r = 1 - Math.exp(-z * z) * clenshaw(ERF_B, 1, 2.5, z);
  else if (z < 6) r = 1 - Math.exp(-z * z) * clenshaw(ERF_C, 2.5, 6, z);
  else r = 1;
  return x < 0 ? -r : r;
}

export function activate(act: i32, v: f64): f64 {
  switch (act) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_TANH: return Math.tanh(v);
    case ACT_SIGMOID: return 1 / (1 + Math.exp(-v));
    case ACT_GELU: return 0.5 * v * (1 + erf(v * 0.7071067811865476));
    default: return v;
  }
}

// ---- GELU on f64x2: erf() by the same pieces (|z| < 1 by a shorter polynomial) ----

@inline function clenshaw2(c: StaticArray<f64>, a: f64, b: f64, x: v128): v128 {
  const t = f64x2.mul(f64x2.sub(f64x2.sub(f64x2.add(x, x), f64x2.splat(a)), f64x2.splat(b)), f64x2.splat(1 / (b - a)));
  const t2 = f64x2.add(t, t);
  let b1 = f64x2.splat(0), b2 = f64x2.splat(0);
  for (let k = c.length - 1; k >= 1; k--) {
    const tmp = f64x2.add(f64x2.sub(f64x2.mul(t2, b1), b2), f64x2.splat(unchecked(c[k])));
    b2 = b1;
    b1 = tmp;
  }
  return f64x2.add(f64x2.sub(f64x2.mul(t, b1), b2), f64x2.splat(unchecked(c[0])));
}

/**
 * erf of both lanes, piece by piece like erf(): each piece present in either lane is evaluated on both lanes
 * and blended in by lane mask (lanes outside a piece compute throwaway values). |z| >= 6 and NaN give 1, as erf().
 */
function erf2(x: v128): v128 {
  const z = f64x2.abs(x);
  const sign = v128.and(x, i64x2.splat(i64.MIN_VALUE));
  const inA = f64x2.lt(z, f64x2.splat(1));
  const inB = v128.and(f64x2.ge(z, f64x2.splat(1)), f64x2.lt(z, f64x2.splat(2.5)));
  const inC = v128.and(f64x2.ge(z, f64x2.splat(2.5)), f64x2.lt(z, f64x2.splat(6)));
  let r = f64x2.splat(1);
  if (v128.any_true(inA)) {
    // erf(z)/z as a degree-9 polynomial in u = z^2 on [0, 1] (least squares at Chebyshev nodes, 2.2e-14
    // relative): a shorter dependency chain than the Clenshaw recurrence, and this piece holds most inputs
    const u = f64x2.mul(z, z);
    let p = f64x2.splat(-1.0473412545564109e-07);
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(1.5308326199170441e-06));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(-1.4795400847991691e-05));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(0.0001204629896186249));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(-0.0008547935978197446));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(0.00522396727189349));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(-0.02686616906599741));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(0.11283791658700709));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(-0.37612638902814377));
    p = f64x2.add(f64x2.mul(p, u), f64x2.splat(1.128379167095494));
    r = v128.bitselect(f64x2.mul(z, p), r, inA);
  }
  if (v128.any_true(v128.or(inB, inC))) {
    // exp(-z^2) clamped into exp_f64x2's range; lanes where that matters are masked out below
    const e = exp_f64x2(f64x2.max(f64x2.neg(f64x2.mul(z, z)), f64x2.splat(-700)));
    if (v128.any_true(inB)) r = v128.bitselect(f64x2.sub(f64x2.splat(1), f64x2.mul(e, clenshaw2(ERF_B, 1, 2.5, z))), r, inB);
    if (v128.any_true(inC)) r = v128.bitselect(f64x2.sub(f64x2.splat(1), f64x2.mul(e, clenshaw2(ERF_C, 2.5, 6, z))), r, inC);
  }
  return v128.or(r, sign);
}

/** 0.5 v (1 + erf(v / sqrt 2)) on both lanes, in the scalar activate()'s operation order. */
@inline function gelu2(v: v128): v128 {
  return f64x2.mul(f64x2.mul(f64x2.splat(0.5), v), f64x2.add(f64x2.splat(1), erf2(f64x2.mul(v, f64x2.splat(0.7071067811865476)))));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** y = act(W x + b), W row-major [m][n] f32 (unpadded); x is never read past n (the arena may hold NaN bits there). */
export function dense_f32(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize): void {
  denseRow(x, w, n, m, bias, act, y);
}

/** dense_f32 over `rows` consecutive input rows of n floats, writing rows of m floats. */
export function dense_f32_rows(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize, rows: i32): void {
  const xs = <usize>n << 2, ys = <usize>m << 2;
  for (let r = 0; r < rows; r++) denseRow(x + <usize>r * xs, w, n, m, bias, act, y + <usize>r * ys);
}

/** act(acc + bias) for 4 outputs at y (acc: f32x4 sums; bias added and the activation applied in f64). */
@inline function finish4(acc: v128, bias: usize, act: i32, y: usize): void {
  if (act == ACT_LINEAR) {
    // f32(f64(a) + f64(b)) == a + b in float32 (a double sum of two floats rounds to the float sum)
    v128.store(y, f32x4.add(acc, v128.load(bias)));
    return;
  }
  const lo = f64x2.add(f64x2.promote_low_f32x4(acc), f64x2.promote_low_f32x4(v128.load64_zero(bias)));
  const hi = f64x2.add(f64x2.promote_low_f32x4(i32x4.shuffle(acc, acc, 2, 3, 0, 1)), f64x2.promote_low_f32x4(v128.load64_zero(bias + 8)));
  if (act == ACT_GELU) {
    v128.store64_lane(y, f32x4.demote_f64x2_zero(gelu2(lo)), 0);
    v128.store64_lane(y + 8, f32x4.demote_f64x2_zero(gelu2(hi)), 0);
    return;
  }
  store<f32>(y, <f32>activate(act, f64x2.extract_lane(lo, 0)));
  store<f32>(y + 4, <f32>activate(act, f64x2.extract_lane(lo, 1)));
  store<f32>(y + 8, <f32>activate(act, f64x2.extract_lane(hi, 0)));
  store<f32>(y + 12, <f32>activate(act, f64x2.extract_lane(hi, 1)));
}

/**
 * Narrow layers (few inputs, many rows): weights transposed to wt [n][m] (m a multiple of 4), each output
 * quadruple accumulated as sum_i x[i] * wt[i][o..o+3] in f32x4 (no horizontal sums), 8 outputs per pass.
 */
export function dense_f32_t(x: usize, wt: usize, n: i32, m: i32, bias: usize, act: i32, y: usize, rows: i32): void {
  const mb = <usize>m << 2, nb = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * nb, yr = y + <usize>r * mb;
    let o: usize = 0;
    for (; o + 32 <= mb; o += 32) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let wp = wt + o;
      for (let i: usize = 0; i < nb; i += 4) {
        const xv = v128.load32_splat(xr + i);
        a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(wp)));
        a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(wp + 16)));
        wp += mb;
      }
      finish4(a0, bias + o, act, yr + o);
      finish4(a1, bias + o + 16, act, yr + o + 16);
    }
    for (; o < mb; o += 16) {
      let a0 = f32x4.splat(0);
      let wp = wt + o;
      for (let i: usize = 0; i < nb; i += 4) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(xr + i), v128.load(wp)));
        wp += mb;
      }
      finish4(a0, bias + o, act, yr + o);
    }
  }
}

@inline function denseRow(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize): void {
  const rowBytes = <usize>n << 2;
  const n4 = <usize>(n & ~3) << 2;
  let o = 0;
  for (; o + 4 <= m; o += 4) {
    const r0 = w + <usize>o * rowBytes;
    const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let i: usize = 0;
    for (; i < n4; i += 16) {
      const xv = v128.load(x + i);
      a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(r0 + i)));
      a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(r1 + i)));
      a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(r2 + i)));
      a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(r3 + i)));
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; i < rowBytes; i += 4) {
      const xs = load<f32>(x + i);
      s0 += xs * load<f32>(r0 + i);
      s1 += xs * load<f32>(r1 + i);
      s2 += xs * load<f32>(r2 + i);
      s3 += xs * load<f32>(r3 + i);
    }
    const k = <usize>o << 2;
    if (act == ACT_GELU) {
      const lo = f64x2.add(f64x2.promote_low_f32x4(f32x4.replace_lane(f32x4.splat(s0), 1, s1)), f64x2.promote_low_f32x4(v128.load64_zero(bias + k)));
      const hi = f64x2.add(f64x2.promote_low_f32x4(f32x4.replace_lane(f32x4.splat(s2), 1, s3)), f64x2.promote_low_f32x4(v128.load64_zero(bias + k + 8)));
      v128.store64_lane(y + k, f32x4.demote_f64x2_zero(gelu2(lo)), 0);
      v128.store64_lane(y + k + 8, f32x4.demote_f64x2_zero(gelu2(hi)), 0);
      continue;
    }
    store<f32>(y + k, <f32>activate(act, <f64>s0 + <f64>load<f32>(bias + k)));
    store<f32>(y + k + 4, <f32>activate(act, <f64>s1 + <f64>load<f32>(bias + k + 4)));
    store<f32>(y + k + 8, <f32>activate(act, <f64>s2 + <f64>load<f32>(bias + k + 8)));
    store<f32>(y + k + 12, <f32>activate(act, <f64>s3 + <f64>load<f32>(bias + k + 12)));
  }
  for (; o < m; o++) {
    const r0 = w + <usize>o * rowBytes;
    let a0 = f32x4.splat(0);
    let i: usize = 0;
    for (; i < n4; i += 16) a0 = f32x4.add(a0, f32x4.mul(v128.load(x + i), v128.load(r0 + i)));
    let s0 = hsum(a0);
    for (; i < rowBytes; i += 4) s0 += load<f32>(x + i) * load<f32>(r0 + i);
    const k = <usize>o << 2;
    store<f32>(y + k, <f32>activate(act, <f64>s0 + <f64>load<f32>(bias + k)));
  }
}
