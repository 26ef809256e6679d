// Newton-Raphson MPC around a float dense forward model. Operation-for-operation port of the reference
// compiler/mpc/solver.ts (precision 'f32'): same order, float32 everywhere, own expf/tanhf, so results are
// bit-identical with it and with the generated C. Everything (sizes, weights, spec constants, state,
// scratch) is described by a config block of 32-bit words at `cfg`, laid out by compiler/mpc/wasm.ts.
// int8 forward models (cfg[QUANT] = 1): the forward pass replays the model's own kernel calls (quantize, the
// int8 dense kernels, dequantize) with the arguments the WASM backend's op emitters chose, from a step table
// (compiler/mpc/wasm.ts records them); derivatives are then finite differences through the int8 network.

import { quantize, dequantize } from './quantize';
import { dense_i8_n8, dense_i8_n16, dense_i8_g } from './dense_q';

// config word indices; must match compiler/mpc/wasm.ts
const NL = 0, M = 1, P = 2, S = 3, NIN = 4, N1 = 5, N2 = 6, NU = 7, N = 8, ITERS = 9, MODE = 10, BOUNDED = 11, NDYN = 12,
  W = 13, HU = 14, HY = 15, EPS = 16, BAR = 17, MAXSTEP = 18, LAYERS = 19, LAYOUT = 20, DYN = 21, QW = 22, LAMBDA = 23,
  HALF = 24, CENTER = 25, FOUR = 26, CLO = 27, CHI = 28, UINIT = 29, UB = 30, UHIST = 31, YHIST = 32, INIT = 33, SENS = 34,
  YPRED = 35, DY = 36, XB = 37, DXB = 38, G = 39, HB = 40, UP = 41, LB = 42, DB = 43, ZZ = 44, DELTA = 45, REF = 46,
  MEAS = 47, REFIN = 48, UOUT = 49, PREVIEW = 50, QUANT = 51, MSTEPS = 52, NMSTEPS = 53, OUTP = 54;

// int8 model step table: MSTEP_WORDS i32 per step = kernel code, then its arguments in order
const MSTEP_WORDS = 14;
const K_QUANTIZE = 0, K_DEQUANTIZE = 1, K_I8_N8 = 2, K_I8_N16 = 3, K_I8_G = 4;

const KIND_U = 0, KIND_Y = 1;
const A_RELU = 1, A_TANH = 2, A_SIGMOID = 3;

const LOG2E: f32 = 1.4426950408889634;
const LN2HI: f32 = 0.693145751953125;
const LN2LO: f32 = 1.428606765330187e-6;
const E0: f32 = 0.001388888888888889, E1: f32 = 0.008333333333333333, E2: f32 = 0.041666666666666664,
  E3: f32 = 0.16666666666666666, E4: f32 = 0.5, E5: f32 = 1;
const T0: f32 = -0.0014558343870513183, T1: f32 = 0.003592128036572481, T2: f32 = -0.008863235529902197,
  T3: f32 = 0.021869488536155203, T4: f32 = -0.05396825396825397, T5: f32 = 0.13333333333333333, T6: f32 = -0.3333333333333333;
const HMIN: f32 = 1e-6;
const LDL_TOL: f32 = 1e-6;

@inline function ci(cfg: usize, k: i32): i32 { return load<i32>(cfg + (<usize>k << 2)); }
@inline function cp(cfg: usize, k: i32): usize { return <usize>load<i32>(cfg + (<usize>k << 2)); }
@inline function cf(cfg: usize, k: i32): f32 { return load<f32>(cfg + (<usize>k << 2)); }
@inline function lf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function sf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
@inline function li(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }

export function mpc_expf(x: f32): f32 {
  if (x != x) return x;
  if (x > 88) x = 88;
  if (x < -87) x = -87;
  const t: f32 = x * LOG2E;
  const k: i32 = t >= 0 ? <i32>(t + <f32>0.5) : <i32>(t - <f32>0.5);
  const kf = <f32>k;
  let r: f32 = x - kf * LN2HI;
  r = r - kf * LN2LO;
  let p: f32 = E0;
  p = p * r + E1;
  p = p * r + E2;
  p = p * r + E3;
  p = p * r + E4;
  p = p * r + E5;
  p = p * r + <f32>1;
  return p * reinterpret<f32>((k + 127) << 23);
}

export function mpc_tanhf(x: f32): f32 {
  const a: f32 = x < 0 ? -x : x;
  let r: f32;
  if (a < <f32>0.5) {
    const x2: f32 = a * a;
    let p: f32 = T0;
    p = p * x2 + T1;
    p = p * x2 + T2;
    p = p * x2 + T3;
    p = p * x2 + T4;
    p = p * x2 + T5;
    p = p * x2 + T6;
    r = a + (a * x2) * p;
  } else if (a < <f32>9) {
    const e = mpc_expf(a + a);
    r = <f32>1 - <f32>2 / (e + <f32>1);
  } else if (a >= <f32>9) r = 1;
  else r = a;
  return x < 0 ? -r : r;
}

@inline function act(a: i32, z: f32): f32 {
  if (a == A_RELU) return z > 0 ? z : <f32>0;
  if (a == A_TANH) return mpc_tanhf(z);
  if (a == A_SIGMOID) return <f32>1 / (<f32>1 + mpc_expf(-z));
  return z;
}

@inline function dact(a: i32, z: f32, h: f32): f32 {
  if (a == A_RELU) return z > 0 ? <f32>1 : <f32>0;
  if (a == A_TANH) return <f32>1 - h * h;
  if (a == A_SIGMOID) return h * (<f32>1 - h);
  return 1;
}

/** The int8 forward model: model input (f32 at cfg[XB]) -> model output (f32 at cfg[OUTP]). */
function forwardInt8(cfg: usize): void {
  const count = ci(cfg, NMSTEPS);
  let s = cp(cfg, MSTEPS);
  for (let k = 0; k < count; k++, s += MSTEP_WORDS << 2) {
    const code = li(s, 0);
    const a1 = li(s, 1), a2 = li(s, 2), a3 = li(s, 3), a4 = li(s, 4), a5 = li(s, 5), a6 = li(s, 6);
    const a7 = li(s, 7), a8 = li(s, 8), a9 = li(s, 9), a10 = li(s, 10), a11 = li(s, 11), a12 = li(s, 12);
    if (code == K_QUANTIZE) quantize(<usize>a1, <usize>a2, a3, reinterpret<f32>(a4), a5);
    else if (code == K_DEQUANTIZE) dequantize(<usize>a1, <usize>a2, a3, reinterpret<f32>(a4), a5);
    else if (code == K_I8_N8) dense_i8_n8(<usize>a1, a2, a3, <usize>a4, a5, <usize>a6, a7, a8, a9, <usize>a10, <usize>a11);
    else if (code == K_I8_N16) dense_i8_n16(<usize>a1, a2, a3, <usize>a4, a5, <usize>a6, a7, a8, a9, <usize>a10, <usize>a11);
    else if (code == K_I8_G) dense_i8_g(<usize>a1, a2, a3, <usize>a4, a5, a6, <usize>a7, a8, a9, a10, <usize>a11, <usize>a12);
  }
}

function forward(cfg: usize, tangents: bool): void {
  if (ci(cfg, QUANT) == 1) { forwardInt8(cfg); return; }
  const nl = ci(cfg, NL), n = ci(cfg, N), w_ = ci(cfg, W), ndyn = ci(cfg, NDYN);
  const layers = cp(cfg, LAYERS), dyn = cp(cfg, DYN), xb = cp(cfg, XB), dxb = cp(cfg, DXB);
  for (let l = 0; l < nl; l++) {
    const L = layers + (<usize>(l * 5) << 2);
    const inF = li(L, 0), outF = li(L, 1), a = li(L, 2);
    const w = <usize>li(L, 3), b = <usize>li(L, 4);
    const x = xb + (<usize>(l * w_) << 2), y = x + (<usize>w_ << 2);
    const dx = dxb + (<usize>(l * w_ * n) << 2), dy = dx + (<usize>(w_ * n) << 2);
    for (let o = 0; o < outF; o++) {
      const row = w + (<usize>(o * inF) << 2);
      let z = lf(b, o);
      for (let e = 0; e < inF; e++) z = z + lf(row, e) * lf(x, e);
      const h = act(a, z);
      sf(y, o, h);
      if (tangents) {
        const d = dact(a, z, h);
        for (let i = 0; i < n; i++) {
          let t: f32 = 0;
          const dxi = dx + (<usize>(i * w_) << 2);
          if (l == 0) {
            for (let q = 0; q < ndyn; q++) { const e = li(dyn, q); t = t + lf(row, e) * lf(dxi, e); }
          } else {
            for (let e = 0; e < inF; e++) t = t + lf(row, e) * lf(dxi, e);
          }
          sf(dy, i * w_ + o, d * t);
        }
      }
    }
  }
}

function buildInput(cfg: usize, k: i32, Uv: usize, tangents: bool): void {
  const nIn = ci(cfg, NIN), m = ci(cfg, M), p = ci(cfg, P), nu = ci(cfg, NU), n = ci(cfg, N), w_ = ci(cfg, W);
  const layout = cp(cfg, LAYOUT), x = cp(cfg, XB), dx = cp(cfg, DXB);
  const uHist = cp(cfg, UHIST), yHist = cp(cfg, YHIST), ypred = cp(cfg, YPRED), dY = cp(cfg, DY), sens = cp(cfg, SENS);
  for (let e = 0; e < nIn; e++) {
    const kind = li(layout, 3 * e), ch = li(layout, 3 * e + 1), lag = li(layout, 3 * e + 2);
    const j = k - lag;
    if (kind == KIND_U) {
      if (j >= 0) {
        const idx = (j < nu ? j : nu - 1) * m + ch;
        sf(x, e, lf(Uv, idx));
        if (tangents) for (let i = 0; i < n; i++) sf(dx, i * w_ + e, i == idx ? <f32>1 : <f32>0);
      } else {
        sf(x, e, lf(uHist, (-j - 1) * m + ch));
        if (tangents) for (let i = 0; i < n; i++) sf(dx, i * w_ + e, 0);
      }
    } else if (kind == KIND_Y) {
      if (j > 0) {
        sf(x, e, lf(ypred, (j - 1) * p + ch));
        if (tangents) for (let i = 0; i < n; i++) sf(dx, i * w_ + e, lf(dY, ((j - 1) * p + ch) * n + i));
      } else {
        sf(x, e, lf(yHist, -j * p + ch));
        if (tangents) for (let i = 0; i < n; i++) sf(dx, i * w_ + e, 0);
      }
    } else sf(x, e, lf(sens, ch));
  }
}

function rollout(cfg: usize, Uv: usize, tangents: bool): void {
  const n2 = ci(cfg, N2), p = ci(cfg, P), n = ci(cfg, N), w_ = ci(cfg, W), nl = ci(cfg, NL);
  const out = cp(cfg, OUTP), dout = cp(cfg, DXB) + (<usize>(nl * w_ * n) << 2);
  const ypred = cp(cfg, YPRED), dY = cp(cfg, DY);
  for (let k = 0; k < n2; k++) {
    buildInput(cfg, k, Uv, tangents);
    forward(cfg, tangents);
    for (let c = 0; c < p; c++) {
      sf(ypred, k * p + c, lf(out, c));
      if (tangents) for (let i = 0; i < n; i++) sf(dY, (k * p + c) * n + i, lf(dout, i * w_ + c));
    }
  }
}

function cost(cfg: usize, Uv: usize): f32 {
  const n1 = ci(cfg, N1), n2 = ci(cfg, N2), p = ci(cfg, P), m = ci(cfg, M), nu = ci(cfg, NU);
  const Q = cp(cfg, QW), lambda = cp(cfg, LAMBDA), half = cp(cfg, HALF), center = cp(cfg, CENTER), four = cp(cfg, FOUR);
  const ref = cp(cfg, REF), ypred = cp(cfg, YPRED), uHist = cp(cfg, UHIST);
  const s = cf(cfg, BAR);
  rollout(cfg, Uv, false);
  let J: f32 = 0;
  const preview = ci(cfg, PREVIEW);
  for (let k = n1 - 1; k < n2; k++) {
    const rk = preview ? k * p : 0;
    for (let c = 0; c < p; c++) {
      const e = lf(ref, rk + c) - lf(ypred, k * p + c);
      J = J + lf(Q, c) * (e * e);
    }
  }
  for (let j = 0; j < nu; j++) {
    for (let c = 0; c < m; c++) {
      const prev = j == 0 ? lf(uHist, c) : lf(Uv, (j - 1) * m + c);
      const d = lf(Uv, j * m + c) - prev;
      J = J + lf(lambda, c) * (d * d);
    }
  }
  if (s > 0) {
    for (let j = 0; j < nu; j++) {
      for (let c = 0; c < m; c++) {
        const u = lf(Uv, j * m + c);
        const a1 = (u + lf(half, c)) - lf(center, c), a2 = (lf(half, c) + lf(center, c)) - u;
        J = J + ((s / a1 + s / a2) - lf(four, c));
      }
    }
  }
  return J;
}

function derivativesExact(cfg: usize): void {
  const n1 = ci(cfg, N1), n2 = ci(cfg, N2), p = ci(cfg, P), m = ci(cfg, M), n = ci(cfg, N), nu = ci(cfg, NU);
  const Q = cp(cfg, QW), lambda = cp(cfg, LAMBDA), half = cp(cfg, HALF), center = cp(cfg, CENTER);
  const ref = cp(cfg, REF), ypred = cp(cfg, YPRED), uHist = cp(cfg, UHIST), dY = cp(cfg, DY);
  const g = cp(cfg, G), H = cp(cfg, HB), U = cp(cfg, UB);
  const s = cf(cfg, BAR);
  for (let i = 0; i < n; i++) sf(g, i, 0);
  for (let i = 0; i < n * n; i++) sf(H, i, 0);
  rollout(cfg, U, true);
  const preview = ci(cfg, PREVIEW);
  for (let k = n1 - 1; k < n2; k++) {
    const rk = preview ? k * p : 0;
    for (let c = 0; c < p; c++) {
      const e = lf(ref, rk + c) - lf(ypred, k * p + c);
      const qe = lf(Q, c) * e, tw = qe + qe, q2 = lf(Q, c) + lf(Q, c);
      const base = (k * p + c) * n;
      for (let i = 0; i < n; i++) {
        const di = lf(dY, base + i);
        sf(g, i, lf(g, i) - tw * di);
        const qd = q2 * di;
        for (let j = 0; j <= i; j++) sf(H, i * n + j, lf(H, i * n + j) + qd * lf(dY, base + j));
      }
    }
  }
  for (let j = 0; j < nu; j++) {
    for (let c = 0; c < m; c++) {
      const idx = j * m + c;
      const prev = j == 0 ? lf(uHist, c) : lf(U, idx - m);
      const d = lf(U, idx) - prev, l2 = lf(lambda, c) + lf(lambda, c), ld = l2 * d;
      sf(g, idx, lf(g, idx) + ld);
      sf(H, idx * n + idx, lf(H, idx * n + idx) + l2);
      if (j > 0) {
        const q = idx - m;
        sf(g, q, lf(g, q) - ld);
        sf(H, q * n + q, lf(H, q * n + q) + l2);
        sf(H, idx * n + q, lf(H, idx * n + q) - l2);
      }
    }
  }
  if (s > 0) {
    const s2 = s + s;
    for (let idx = 0; idx < n; idx++) {
      const c = idx % m, u = lf(U, idx);
      const a1 = (u + lf(half, c)) - lf(center, c), a2 = (lf(half, c) + lf(center, c)) - u;
      const a1s = a1 * a1, a2s = a2 * a2;
      sf(g, idx, lf(g, idx) - s / a1s);
      sf(g, idx, lf(g, idx) + s / a2s);
      sf(H, idx * n + idx, lf(H, idx * n + idx) + s2 / (a1s * a1));
      sf(H, idx * n + idx, lf(H, idx * n + idx) + s2 / (a2s * a2));
    }
  }
}

function probe(cfg: usize, i: i32, si: i32, j: i32, sj: i32): f32 {
  const n = ci(cfg, N), U = cp(cfg, UB), Up = cp(cfg, UP), eps = cf(cfg, EPS);
  for (let q = 0; q < n; q++) sf(Up, q, lf(U, q));
  sf(Up, i, si > 0 ? lf(U, i) + eps : lf(U, i) - eps);
  if (j >= 0) sf(Up, j, sj > 0 ? lf(U, j) + eps : lf(U, j) - eps);
  return cost(cfg, Up);
}

function derivativesFD(cfg: usize): void {
  const n = ci(cfg, N), g = cp(cfg, G), H = cp(cfg, HB), U = cp(cfg, UB), eps = cf(cfg, EPS);
  const eps2 = eps + eps, epsq = eps * eps, eps4 = epsq * <f32>4;
  const J0 = cost(cfg, U);
  const twoJ0 = J0 + J0;
  for (let i = 0; i < n; i++) {
    const jp = probe(cfg, i, 1, -1, 0), jm = probe(cfg, i, -1, -1, 0);
    sf(g, i, (jp - jm) / eps2);
    sf(H, i * n + i, ((jp + jm) - twoJ0) / epsq);
  }
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const jpp = probe(cfg, i, 1, j, 1), jpm = probe(cfg, i, 1, j, -1), jmp = probe(cfg, i, -1, j, 1), jmm = probe(cfg, i, -1, j, -1);
      sf(H, i * n + j, ((jpp - jpm) - (jmp - jmm)) / eps4);
    }
  }
}

function solve(cfg: usize): bool {
  const n = ci(cfg, N), H = cp(cfg, HB), g = cp(cfg, G), L = cp(cfg, LB), D = cp(cfg, DB), zz = cp(cfg, ZZ), delta = cp(cfg, DELTA);
  let hmax: f32 = 0;
  for (let i = 0; i < n; i++) { const h = lf(H, i * n + i); const a = h < 0 ? -h : h; if (a > hmax) hmax = a; }
  if (!(hmax > 0)) return false;
  const tol = hmax * LDL_TOL;
  for (let j = 0; j < n; j++) {
    let d = lf(H, j * n + j);
    for (let k = 0; k < j; k++) d = d - (lf(L, j * n + k) * lf(L, j * n + k)) * lf(D, k);
    if (!(d > tol)) return false;
    sf(D, j, d);
    for (let i = j + 1; i < n; i++) {
      let v = lf(H, i * n + j);
      for (let k = 0; k < j; k++) v = v - (lf(L, i * n + k) * lf(L, j * n + k)) * lf(D, k);
      sf(L, i * n + j, v / d);
    }
  }
  for (let i = 0; i < n; i++) {
    let v = -lf(g, i);
    for (let k = 0; k < i; k++) v = v - lf(L, i * n + k) * lf(zz, k);
    sf(zz, i, v);
  }
  for (let i = 0; i < n; i++) sf(zz, i, lf(zz, i) / lf(D, i));
  for (let i = n - 1; i >= 0; i--) {
    let v = lf(zz, i);
    for (let k = i + 1; k < n; k++) v = v - lf(L, k * n + i) * lf(delta, k);
    sf(delta, i, v);
  }
  return true;
}

function newton(cfg: usize): i32 {
  const n = ci(cfg, N), m = ci(cfg, M), bounded = ci(cfg, BOUNDED);
  const g = cp(cfg, G), H = cp(cfg, HB), U = cp(cfg, UB), delta = cp(cfg, DELTA), clo = cp(cfg, CLO), chi = cp(cfg, CHI);
  const maxStep = cf(cfg, MAXSTEP);
  if (ci(cfg, MODE) == 1) derivativesExact(cfg); else derivativesFD(cfg);
  for (let i = 0; i < n; i++) {
    if (lf(g, i) - lf(g, i) != 0) return 1;
    for (let j = 0; j <= i; j++) if (lf(H, i * n + j) - lf(H, i * n + j) != 0) return 1;
  }
  let status = 0;
  if (!solve(cfg)) {
    status = 2;
    for (let i = 0; i < n; i++) {
      const h = lf(H, i * n + i);
      let a: f32 = h < 0 ? -h : h;
      if (a < HMIN) a = HMIN;
      sf(delta, i, -lf(g, i) / a);
    }
  }
  for (let i = 0; i < n; i++) {
    let d = lf(delta, i);
    if (d > maxStep) d = maxStep;
    if (d < -maxStep) d = -maxStep;
    let u = lf(U, i) + d;
    if (bounded) {
      const c = i % m;
      if (u < lf(clo, c)) u = lf(clo, c);
      if (u > lf(chi, c)) u = lf(chi, c);
    }
    sf(U, i, u);
  }
  return status;
}

/** One control tick: reads measurement/reference at cfg[MEAS]/cfg[REFIN], writes u to cfg[UOUT]. Returns status bits. */
export function mpc_step(cfg: usize): i32 {
  const m = ci(cfg, M), p = ci(cfg, P), s = ci(cfg, S), hu = ci(cfg, HU), hy = ci(cfg, HY), nu = ci(cfg, NU), iters = ci(cfg, ITERS);
  const U = cp(cfg, UB), uHist = cp(cfg, UHIST), yHist = cp(cfg, YHIST), initp = cp(cfg, INIT), uInit = cp(cfg, UINIT);
  const meas = cp(cfg, MEAS), refIn = cp(cfg, REFIN), uOut = cp(cfg, UOUT), sens = cp(cfg, SENS), ref = cp(cfg, REF);
  if (load<i32>(initp) == 0) {
    for (let r = 0; r < hy; r++) for (let c = 0; c < p; c++) sf(yHist, r * p + c, lf(meas, c));
    for (let r = 0; r < hu; r++) for (let c = 0; c < m; c++) sf(uHist, r * m + c, lf(uInit, c));
    for (let j = 0; j < nu; j++) for (let c = 0; c < m; c++) sf(U, j * m + c, lf(uInit, c));
    store<i32>(initp, 1);
  } else {
    for (let r = hy - 1; r > 0; r--) for (let c = 0; c < p; c++) sf(yHist, r * p + c, lf(yHist, (r - 1) * p + c));
    for (let c = 0; c < p; c++) sf(yHist, c, lf(meas, c));
  }
  for (let c = 0; c < s; c++) sf(sens, c, lf(meas, p + c));
  const refSize = ci(cfg, PREVIEW) ? ci(cfg, N2) * p : p;
  for (let c = 0; c < refSize; c++) sf(ref, c, lf(refIn, c));
  let status = 0;
  for (let it = 0; it < iters; it++) {
    const st = newton(cfg);
    status |= st;
    if (st & 1) break;
  }
  for (let c = 0; c < m; c++) sf(uOut, c, lf(U, c));
  for (let r = hu - 1; r > 0; r--) for (let c = 0; c < m; c++) sf(uHist, r * m + c, lf(uHist, (r - 1) * m + c));
  for (let c = 0; c < m; c++) sf(uHist, c, lf(U, c));
  for (let j = 0; j + 1 < nu; j++) for (let c = 0; c < m; c++) sf(U, j * m + c, lf(U, (j + 1) * m + c));
  return status;
}

export function mpc_reset(cfg: usize): void {
  store<i32>(cp(cfg, INIT), 0);
}

/** Forward model on x (nIn floats at xp) -> y (p floats at yp), the controller's own arithmetic. */
export function mpc_predict(cfg: usize, xp: usize, yp: usize): void {
  const nIn = ci(cfg, NIN), p = ci(cfg, P);
  const x = cp(cfg, XB);
  for (let e = 0; e < nIn; e++) sf(x, e, lf(xp, e));
  forward(cfg, false);
  const out = cp(cfg, OUTP);
  for (let c = 0; c < p; c++) sf(yp, c, lf(out, c));
}

/** Bumped whenever the config layout or the arithmetic changes; compiler/mpc/wasm.ts checks it. */
export function mpc_kernel_version(): i32 {
  return 4;
}
