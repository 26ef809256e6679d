// float dense with f32x4 accumulation and a fused activation: GELU in f32x4 (erf to ~1.6e-7 absolute, four
// outputs at a time), the others in f64.

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

// ---- GELU on f32x4: erf() by piecewise polynomials (least-squares fits to erf on Chebyshev nodes; with f32
// Horner evaluation the absolute error is <= 1.6e-7 on [0, 1] (float32 resolution), < 1e-7 above) ----

// erf(z)/z as a polynomial in u = z^2, z in [0, 1]
const EA0: f32 = 1.1283791065216064, EA1: f32 = -0.37612414360046387, EA2: f32 = 0.11280789226293564,
  EA3: f32 = -0.026726989075541496, EA4: f32 = 0.004934519063681364, EA5: f32 = -0.000569671334233135;
// erf(z) as a polynomial in t = z - 1.5, z in [1, 2]
const EB0: f32 = 0.9661051630973816, EB1: f32 = 0.11893007159233093, EB2: f32 = -0.17839542031288147, EB3: f32 = 0.13876348733901978,
  EB4: f32 = -0.04459944739937782, EB5: f32 = -0.015033307485282421, EB6: f32 = 0.019333429634571075, EB7: f32 = -0.0038346820510923862,
  EB8: f32 = -0.0024019302800297737;
// erf(z) as a polynomial in t = z - 3, z in [2, 4] (erf(z) rounds to 1 in float32 above 4)
const EC0: f32 = 0.9999779462814331, EC1: f32 = 0.000139149502501823, EC2: f32 = -0.0004198629467282444, EC3: f32 = 0.0007911855936981738,
  EC4: f32 = -0.0010277964174747467, EC5: f32 = 0.0010047596879303455, EC6: f32 = -0.0007833822746761143, EC7: f32 = 0.0004179115639999509,
  EC8: f32 = -0.00008582937880419195, EC9: f32 = -0.000014137529433355667;

@inline function mad4(p: v128, t: v128, c: f32): v128 {
  return f32x4.add(f32x4.mul(p, t), f32x4.splat(c));
}

/** erf of 4 f32 lanes; each piece present in some lane is evaluated on all lanes and blended in by mask. NaN -> 1 (as erf()). */
function erf4(x: v128): v128 {
  const z = f32x4.abs(x);
  const sign = v128.and(x, i32x4.splat(0x80000000));
  const inA = f32x4.lt(z, f32x4.splat(1));
  const inB = v128.and(f32x4.ge(z, f32x4.splat(1)), f32x4.lt(z, f32x4.splat(2)));
  const inC = v128.and(f32x4.ge(z, f32x4.splat(2)), f32x4.lt(z, f32x4.splat(4)));
  let r = f32x4.splat(1);
  if (v128.any_true(inA)) {
    const u = f32x4.mul(z, z);
    let p = mad4(f32x4.splat(EA5), u, EA4);
    p = mad4(p, u, EA3);
    p = mad4(p, u, EA2);
    p = mad4(p, u, EA1);
    p = mad4(p, u, EA0);
    r = v128.bitselect(f32x4.mul(z, p), r, inA);
  }
  if (v128.any_true(inB)) {
    const t = f32x4.sub(z, f32x4.splat(1.5));
    let p = mad4(f32x4.splat(EB8), t, EB7);
    p = mad4(p, t, EB6);
    p = mad4(p, t, EB5);
    p = mad4(p, t, EB4);
    p = mad4(p, t, EB3);
    p = mad4(p, t, EB2);
    p = mad4(p, t, EB1);
    p = mad4(p, t, EB0);
    r = v128.bitselect(p, r, inB);
  }
  if (v128.any_true(inC)) {
    const t = f32x4.sub(z, f32x4.splat(3));
    let p = mad4(f32x4.splat(EC9), t, EC8);
    p = mad4(p, t, EC7);
    p = mad4(p, t, EC6);
    p = mad4(p, t, EC5);
    p = mad4(p, t, EC4);
    p = mad4(p, t, EC3);
    p = mad4(p, t, EC2);
    p = mad4(p, t, EC1);
    p = mad4(p, t, EC0);
    r = v128.bitselect(p, r, inC);
  }
  return v128.or(r, sign);
}

/** 0.5 v (1 + erf(v / sqrt 2)) on 4 f32 lanes. */
@inline function gelu4(v: v128): v128 {
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), v), f32x4.add(f32x4.splat(1), erf4(f32x4.mul(v, f32x4.splat(0.7071067811865476)))));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** y = act(W x + b), W row-major [m][n] f32 (unpadded); x is never read past n (the arena may hold NaN bits there). */
export function dense_f32(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize): void {
  dense_f32_rows(x, w, n, m, bias, act, y, 1);
}

/**
 * dense_f32 over `rows` consecutive input rows of n floats, writing rows of m floats: blocks of 4 outputs
 * outside (their weights stay in L1 across the rows), two input rows per pass inside.
 */
export function dense_f32_rows(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize, rows: i32): void {
  const xs = <usize>n << 2, ys = <usize>m << 2;
  const n4 = <usize>(n & ~3) << 2;
  const m4 = m & ~3;
  for (let o = 0; o < m4; o += 4) {
    const r0 = w + <usize>o * xs, r1 = r0 + xs, r2 = r1 + xs, r3 = r2 + xs;
    const bo = bias + (<usize>o << 2), yo = y + (<usize>o << 2);
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      const x0 = x + <usize>r * xs, x1 = x0 + xs;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
      for (let i: usize = 0; i < n4; i += 16) {
        const u = v128.load(x0 + i), v = v128.load(x1 + i);
        let wv = v128.load(r0 + i);
        a0 = f32x4.add(a0, f32x4.mul(u, wv)); c0 = f32x4.add(c0, f32x4.mul(v, wv));
        wv = v128.load(r1 + i);
        a1 = f32x4.add(a1, f32x4.mul(u, wv)); c1 = f32x4.add(c1, f32x4.mul(v, wv));
        wv = v128.load(r2 + i);
        a2 = f32x4.add(a2, f32x4.mul(u, wv)); c2 = f32x4.add(c2, f32x4.mul(v, wv));
        wv = v128.load(r3 + i);
        a3 = f32x4.add(a3, f32x4.mul(u, wv)); c3 = f32x4.add(c3, f32x4.mul(v, wv));
      }
      finish4(f32x4.add(reduce4f(a0, a1, a2, a3), tail4(x0, r0, xs, n4)), bo, act, yo + <usize>r * ys);
      finish4(f32x4.add(reduce4f(c0, c1, c2, c3), tail4(x1, r0, xs, n4)), bo, act, yo + <usize>(r + 1) * ys);
    }
    if (r < rows) {
      const x0 = x + <usize>r * xs;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let i: usize = 0; i < n4; i += 16) {
        const u = v128.load(x0 + i);
        a0 = f32x4.add(a0, f32x4.mul(u, v128.load(r0 + i)));
        a1 = f32x4.add(a1, f32x4.mul(u, v128.load(r1 + i)));
        a2 = f32x4.add(a2, f32x4.mul(u, v128.load(r2 + i)));
        a3 = f32x4.add(a3, f32x4.mul(u, v128.load(r3 + i)));
      }
      finish4(f32x4.add(reduce4f(a0, a1, a2, a3), tail4(x0, r0, xs, n4)), bo, act, yo + <usize>r * ys);
    }
  }
  if (m4 < m) {
    // the last m % 4 outputs, row by row
    for (let r = 0; r < rows; r++) {
      denseTail(x + <usize>r * xs, w, n, m4, m, bias, act, y + <usize>r * ys);
    }
  }
}

/** [sum a0, sum a1, sum a2, sum a3] */
@inline function reduce4f(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** The columns n4 .. n (n % 4 of them) of 4 consecutive weight rows (xs bytes each) against x, as a vector. */
@inline function tail4(x: usize, r0: usize, xs: usize, n4: usize): v128 {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  for (let i = n4; i < xs; i += 4) {
    const xv = load<f32>(x + i);
    s0 += xv * load<f32>(r0 + i);
    s1 += xv * load<f32>(r0 + xs + i);
    s2 += xv * load<f32>(r0 + 2 * xs + i);
    s3 += xv * load<f32>(r0 + 3 * xs + i);
  }
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(s0), 1, s1), 2, s2), 3, s3);
}

/** Outputs o0 .. m of one row, one at a time. */
@inline function denseTail(x: usize, w: usize, n: i32, o0: i32, m: i32, bias: usize, act: i32, y: usize): void {
  const rowBytes = <usize>n << 2;
  const n4 = <usize>(n & ~3) << 2;
  for (let o = o0; o < m; o++) {
    const r0 = w + <usize>o * rowBytes;
    let a0 = f32x4.splat(0);
    let i: usize = 0;
    for (; i < n4; i += 16) a0 = f32x4.add(a0, f32x4.mul(v128.load(x + i), v128.load(r0 + i)));
    let s0 = hsum(a0);
    for (; i < rowBytes; i += 4) s0 += load<f32>(x + i) * load<f32>(r0 + i);
    const k = <usize>o << 2;
    if (act == ACT_GELU) store<f32>(y + k, f32x4.extract_lane(gelu4(f32x4.splat(s0 + load<f32>(bias + k))), 0));
    else store<f32>(y + k, <f32>activate(act, <f64>s0 + <f64>load<f32>(bias + k)));
  }
}

/** act(acc + bias) for 4 outputs at y (acc: f32x4 sums; bias added and the activation applied in f64). */
@inline function finish4(acc: v128, bias: usize, act: i32, y: usize): void {
  if (act == ACT_LINEAR) {
    // f32(f64(a) + f64(b)) == a + b in float32 (a double sum of two floats rounds to the float sum)
    v128.store(y, f32x4.add(acc, v128.load(bias)));
    return;
  }
  if (act == ACT_GELU) {
    v128.store(y, gelu4(f32x4.add(acc, v128.load(bias))));
    return;
  }
  const lo = f64x2.add(f64x2.promote_low_f32x4(acc), f64x2.promote_low_f32x4(v128.load64_zero(bias)));
  const hi = f64x2.add(f64x2.promote_low_f32x4(i32x4.shuffle(acc, acc, 2, 3, 0, 1)), f64x2.promote_low_f32x4(v128.load64_zero(bias + 8)));
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
