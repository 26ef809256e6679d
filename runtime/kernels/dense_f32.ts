// float dense with f32x4 accumulation and a fused activation evaluated in f64.

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

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** y = act(W x + b), W row-major [m][n] f32 (unpadded); x is never read past n (the arena may hold NaN bits there). */
export function dense_f32(x: usize, w: usize, n: i32, m: i32, bias: usize, act: i32, y: usize): void {
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
