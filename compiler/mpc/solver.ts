/**
 * Reference Newton-Raphson MPC solver (TypeScript). It defines the controller's semantics; the generated
 * C (compiler/mpc/c.ts) and the WASM kernel (runtime/kernels/mpc.ts) follow it operation for operation.
 * In 'f32' precision every operation is rounded to float32 (Math.fround) in the same order as C and
 * WASM, with our own expf/tanhf (no libm), so the three agree bit for bit. In 'f64' precision it runs in
 * double with Math.tanh/Math.exp: the "ideal" controller, for measuring float32 error.
 *
 * Per tick (measurement y[t] + sensors, reference r):
 *   U = [u(t) .. u(t+Nu-1)] (m each, warm-started from the last solution, shifted)
 *   J(U) = Σ_{k=N1..N2} Σ_c Q_c (r_c − ŷ_c[t+k])² + Σ_{j<Nu} Σ_c λ_c (u_c(t+j) − u_c(t+j−1))²
 *          + Σ s/(u + r/2 − b) + s/(r/2 + b − u) − 4/r        (Soloway–Haley barrier, s > 0)
 *   ŷ[t+k+1] = model(x[t+k]) rolled out recursively (predicted y fed back for future lags)
 *   repeat `iterations` times: ΔU = −H⁻¹∇J (LDLᵀ), clamped to ±max_step; U += ΔU; clamp to bounds.
 *   derivatives 'exact': forward-mode tangents dŷ/dU through the layers; ∇J exact, H Gauss-Newton
 *     (2 JᵀQJ, plus the exact λ and barrier terms);
 *   derivatives 'finite-difference': central differences of J (gradient, full Hessian; 1 + 2n + 2n(n−1) rollouts).
 *   Fallbacks: a non-finite gradient/Hessian skips the update (status bit 0); a Hessian that is not
 *   positive definite takes a diagonally scaled gradient step (status bit 1).
 */
import { executeProgram } from '../exec/program.js';
import { KIND_U, KIND_Y, type MpcPlan } from './spec.js';
import type { Activation } from '../plan/program.js';

export type Precision = 'f32' | 'f64';
export const STATUS_NONFINITE = 1;
export const STATUS_GRADIENT_STEP = 2;

type Buf = Float32Array | Float64Array;
const fr = Math.fround;
const id = (x: number) => x;

// float32 constants shared with C and WASM (decimal literals; AssemblyScript rounds them the same way).
export const LOG2E = fr(1.4426950408889634), LN2HI = fr(0.693145751953125), LN2LO = fr(1.428606765330187e-6);
export const EXP_C = [0.001388888888888889, 0.008333333333333333, 0.041666666666666664, 0.16666666666666666, 0.5, 1].map(fr);
/** tanh Taylor coefficients of x^15 .. x^3 (Horner order) */
export const TANH_C = [-0.0014558343870513183, 0.003592128036572481, -0.008863235529902197, 0.021869488536155203,
  -0.05396825396825397, 0.13333333333333333, -0.3333333333333333].map(fr);
export const EXP_HI = 88, EXP_LO = -87, TANH_SMALL = 0.5, TANH_BIG = 9, HMIN = fr(1e-6), LDL_TOL = fr(1e-6);

const bits = new Int32Array(1), bitsF = new Float32Array(bits.buffer);

/** expf with float32 operations only (matches C tf_mpc_expf and the WASM kernel). */
export function expf(x: number): number {
  if (x !== x) return x; // NaN in, NaN out (and no float->int conversion of NaN)
  if (x > EXP_HI) x = EXP_HI;
  if (x < EXP_LO) x = EXP_LO;
  const t = fr(x * LOG2E);
  const k = Math.trunc(t >= 0 ? fr(t + 0.5) : fr(t - 0.5));
  let r = fr(x - fr(k * LN2HI));
  r = fr(r - fr(k * LN2LO));
  let p = EXP_C[0];
  for (let i = 1; i < 6; i++) p = fr(fr(p * r) + EXP_C[i]);
  p = fr(fr(p * r) + 1);
  bits[0] = (k + 127) << 23;
  return fr(p * bitsF[0]);
}

export function tanhf(x: number): number {
  const a = x < 0 ? -x : x;
  let r: number;
  if (a < TANH_SMALL) {
    const x2 = fr(a * a);
    let p = TANH_C[0];
    for (let i = 1; i < 7; i++) p = fr(fr(p * x2) + TANH_C[i]);
    r = fr(a + fr(fr(a * x2) * p));
  } else if (a < TANH_BIG) {
    const e = expf(fr(a + a));
    r = fr(1 - fr(2 / fr(e + 1)));
  } else if (a >= TANH_BIG) r = 1;
  else r = a; // NaN
  return x < 0 ? -r : r;
}

export class MpcReference {
  readonly plan: MpcPlan;
  readonly precision: Precision;
  /** decision variables (warm start) */
  readonly U: Buf;
  readonly uHist: Buf;
  readonly yHist: Buf;
  private init = false;
  private readonly R: (x: number) => number;
  private readonly A: new (n: number) => Buf;
  private readonly sens: Buf;
  private readonly ypred: Buf;
  private readonly dY: Buf;
  private readonly x: Buf[];
  private readonly dx: Buf[];
  private readonly g: Buf;
  private readonly H: Buf;
  private readonly Up: Buf;
  /** statistics: Newton updates that used a fallback */
  fallbacks = 0;

  constructor(plan: MpcPlan, precision: Precision = 'f32') {
    this.plan = plan;
    this.precision = precision;
    this.R = precision === 'f32' ? fr : id;
    const A = this.A = precision === 'f32' ? Float32Array : Float64Array;
    const { m, p, n, N2, HU, HY, maxWidth: W } = plan;
    this.U = new A(n); this.Up = new A(n);
    this.uHist = new A(HU * m); this.yHist = new A(HY * p);
    this.sens = new A(Math.max(1, plan.s));
    this.ypred = new A(N2 * p); this.dY = new A(N2 * p * n);
    this.x = plan.layers.map(() => new A(W)).concat([new A(W)]);
    this.dx = plan.layers.map(() => new A(W * n)).concat([new A(W * n)]);
    this.g = new A(n); this.H = new A(n * n);
  }

  reset(): void { this.init = false; }

  private act(a: Activation, z: number): number {
    const R = this.R, f32 = this.precision === 'f32';
    switch (a) {
      case 'relu': return z > 0 ? z : 0;
      case 'tanh': return f32 ? tanhf(z) : Math.tanh(z);
      case 'sigmoid': return R(1 / R(1 + (f32 ? expf(-z) : Math.exp(-z))));
      default: return z;
    }
  }

  private dact(a: Activation, z: number, h: number): number {
    const R = this.R;
    switch (a) {
      case 'relu': return z > 0 ? 1 : 0;
      case 'tanh': return R(1 - R(h * h));
      case 'sigmoid': return R(h * R(1 - h));
      default: return 1;
    }
  }

  /** Model forward pass: x[0] (nIn) -> x[L] (p); with tangents if `tangents`. */
  private forward(tangents: boolean): void {
    const { layers, n, dyn, maxWidth: W } = this.plan;
    const R = this.R;
    if (this.plan.int8) {
      // int8 forward model: the integer oracle (the semantics C and WASM implement); no tangents exist
      if (tangents) throw new Error('internal: an int8 forward model has no exact derivatives');
      this.x[1].set(executeProgram(this.plan.int8, Float32Array.from(this.x[0].subarray(0, this.plan.nIn))).output);
      return;
    }
    for (let l = 0; l < layers.length; l++) {
      const { inF, outF, act, w, b } = layers[l];
      const x = this.x[l], y = this.x[l + 1], dx = this.dx[l], dy = this.dx[l + 1];
      for (let o = 0; o < outF; o++) {
        const row = o * inF;
        let z = b[o];
        for (let e = 0; e < inF; e++) z = R(z + R(w[row + e] * x[e]));
        const h = this.act(act, z);
        y[o] = h;
        if (tangents) {
          const d = this.dact(act, z, h);
          for (let i = 0; i < n; i++) {
            let t = 0;
            if (l === 0) for (let q = 0; q < dyn.length; q++) { const e = dyn[q]; t = R(t + R(w[row + e] * dx[i * W + e])); }
            else for (let e = 0; e < inF; e++) t = R(t + R(w[row + e] * dx[i * W + e]));
            dy[i * W + o] = R(d * t);
          }
        }
      }
    }
  }

  /** Model input for horizon step k (and its tangents w.r.t. U when `tangents`). */
  private buildInput(k: number, Uv: Buf, tangents: boolean): void {
    const { layout, nIn, m, p, Nu, n, maxWidth: W } = this.plan;
    const x = this.x[0], dx = this.dx[0];
    for (let e = 0; e < nIn; e++) {
      const kind = layout[3 * e], ch = layout[3 * e + 1], lag = layout[3 * e + 2];
      const j = k - lag;
      if (kind === KIND_U) {
        if (j >= 0) {
          const idx = (j < Nu ? j : Nu - 1) * m + ch;
          x[e] = Uv[idx];
          if (tangents) for (let i = 0; i < n; i++) dx[i * W + e] = i === idx ? 1 : 0;
        } else {
          x[e] = this.uHist[(-j - 1) * m + ch];
          if (tangents) for (let i = 0; i < n; i++) dx[i * W + e] = 0;
        }
      } else if (kind === KIND_Y) {
        if (j > 0) {
          x[e] = this.ypred[(j - 1) * p + ch];
          if (tangents) for (let i = 0; i < n; i++) dx[i * W + e] = this.dY[((j - 1) * p + ch) * n + i];
        } else {
          x[e] = this.yHist[-j * p + ch];
          if (tangents) for (let i = 0; i < n; i++) dx[i * W + e] = 0;
        }
      } else x[e] = this.sens[ch];
    }
  }

  /** Rolls the model out over the horizon for controls Uv; fills ypred (and dY). */
  private rollout(Uv: Buf, tangents: boolean): void {
    const { N2, p, n, layers, maxWidth: W } = this.plan;
    const out = this.x[layers.length], dout = this.dx[layers.length];
    for (let k = 0; k < N2; k++) {
      this.buildInput(k, Uv, tangents);
      this.forward(tangents);
      for (let c = 0; c < p; c++) {
        this.ypred[k * p + c] = out[c];
        if (tangents) for (let i = 0; i < n; i++) this.dY[(k * p + c) * n + i] = dout[i * W + c];
      }
    }
  }

  /** J(Uv) for reference ref. */
  cost(Uv: Buf, ref: ArrayLike<number>): number {
    const { N1, N2, p, m, Nu, Q, lambda, barrier: s, half, center, fourOverR } = this.plan;
    const R = this.R;
    this.rollout(Uv, false);
    let J = 0;
    for (let k = N1 - 1; k < N2; k++) {
      const rk = this.plan.preview ? k * p : 0;
      for (let c = 0; c < p; c++) {
        const e = R(ref[rk + c] - this.ypred[k * p + c]);
        J = R(J + R(Q[c] * R(e * e)));
      }
    }
    for (let j = 0; j < Nu; j++) {
      for (let c = 0; c < m; c++) {
        const prev = j === 0 ? this.uHist[c] : Uv[(j - 1) * m + c];
        const d = R(Uv[j * m + c] - prev);
        J = R(J + R(lambda[c] * R(d * d)));
      }
    }
    if (s > 0) {
      for (let j = 0; j < Nu; j++) {
        for (let c = 0; c < m; c++) {
          const u = Uv[j * m + c];
          const a1 = R(R(u + half[c]) - center[c]), a2 = R(R(half[c] + center[c]) - u);
          J = R(J + R(R(R(s / a1) + R(s / a2)) - fourOverR[c]));
        }
      }
    }
    return J;
  }

  /** Gradient and (lower-triangle) Hessian at U, by forward-mode tangents (Gauss-Newton). */
  private derivativesExact(ref: ArrayLike<number>): void {
    const { N1, N2, p, m, n, Nu, Q, lambda, barrier: s, half, center } = this.plan;
    const R = this.R, g = this.g, H = this.H, U = this.U, dY = this.dY;
    g.fill(0); H.fill(0);
    this.rollout(U, true);
    for (let k = N1 - 1; k < N2; k++) {
      const rk = this.plan.preview ? k * p : 0;
      for (let c = 0; c < p; c++) {
        const e = R(ref[rk + c] - this.ypred[k * p + c]);
        const qe = R(Q[c] * e), tw = R(qe + qe), q2 = R(Q[c] + Q[c]);
        const base = (k * p + c) * n;
        for (let i = 0; i < n; i++) {
          const di = dY[base + i];
          g[i] = R(g[i] - R(tw * di));
          const qd = R(q2 * di);
          for (let j = 0; j <= i; j++) H[i * n + j] = R(H[i * n + j] + R(qd * dY[base + j]));
        }
      }
    }
    for (let j = 0; j < Nu; j++) {
      for (let c = 0; c < m; c++) {
        const idx = j * m + c;
        const prev = j === 0 ? this.uHist[c] : U[idx - m];
        const d = R(U[idx] - prev), l2 = R(lambda[c] + lambda[c]), ld = R(l2 * d);
        g[idx] = R(g[idx] + ld);
        H[idx * n + idx] = R(H[idx * n + idx] + l2);
        if (j > 0) {
          const q = idx - m;
          g[q] = R(g[q] - ld);
          H[q * n + q] = R(H[q * n + q] + l2);
          H[idx * n + q] = R(H[idx * n + q] - l2);
        }
      }
    }
    if (s > 0) {
      const s2 = R(s + s);
      for (let idx = 0; idx < n; idx++) {
        const c = idx % m, u = U[idx];
        const a1 = R(R(u + half[c]) - center[c]), a2 = R(R(half[c] + center[c]) - u);
        const a1s = R(a1 * a1), a2s = R(a2 * a2);
        g[idx] = R(g[idx] - R(s / a1s));
        g[idx] = R(g[idx] + R(s / a2s));
        H[idx * n + idx] = R(H[idx * n + idx] + R(s2 / R(a1s * a1)));
        H[idx * n + idx] = R(H[idx * n + idx] + R(s2 / R(a2s * a2)));
      }
    }
  }

  /** Gradient and Hessian at U by central finite differences of J. */
  private derivativesFD(ref: ArrayLike<number>): void {
    const { n, epsilon: eps } = this.plan;
    const R = this.R, g = this.g, H = this.H, U = this.U, Up = this.Up;
    const eps2 = R(eps + eps), epsq = R(eps * eps), eps4 = R(epsq * 4);
    const J0 = this.cost(U, ref);
    const twoJ0 = R(J0 + J0);
    const at = (i: number, si: number, j: number, sj: number) => {
      Up.set(U);
      Up[i] = si > 0 ? R(U[i] + eps) : R(U[i] - eps);
      if (j >= 0) Up[j] = sj > 0 ? R(U[j] + eps) : R(U[j] - eps);
      return this.cost(Up, ref);
    };
    for (let i = 0; i < n; i++) {
      const jp = at(i, 1, -1, 0), jm = at(i, -1, -1, 0);
      g[i] = R(R(jp - jm) / eps2);
      H[i * n + i] = R(R(R(jp + jm) - twoJ0) / epsq);
    }
    for (let i = 1; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const jpp = at(i, 1, j, 1), jpm = at(i, 1, j, -1), jmp = at(i, -1, j, 1), jmm = at(i, -1, j, -1);
        H[i * n + j] = R(R(R(jpp - jpm) - R(jmp - jmm)) / eps4);
      }
    }
  }

  /** Solves H Δ = −g (LDLᵀ, lower triangle of H). Returns false if H is not positive definite. */
  private solve(delta: Buf): boolean {
    const { n } = this.plan;
    const R = this.R, H = this.H, g = this.g;
    const L = new this.A(n * n), D = new this.A(n), zz = new this.A(n);
    let hmax = 0;
    for (let i = 0; i < n; i++) { const a = H[i * n + i] < 0 ? -H[i * n + i] : H[i * n + i]; if (a > hmax) hmax = a; }
    if (!(hmax > 0)) return false;
    const tol = R(hmax * LDL_TOL);
    for (let j = 0; j < n; j++) {
      let d = H[j * n + j];
      for (let k = 0; k < j; k++) d = R(d - R(R(L[j * n + k] * L[j * n + k]) * D[k]));
      if (!(d > tol)) return false;
      D[j] = d;
      for (let i = j + 1; i < n; i++) {
        let v = H[i * n + j];
        for (let k = 0; k < j; k++) v = R(v - R(R(L[i * n + k] * L[j * n + k]) * D[k]));
        L[i * n + j] = R(v / d);
      }
    }
    for (let i = 0; i < n; i++) {
      let v = -g[i];
      for (let k = 0; k < i; k++) v = R(v - R(L[i * n + k] * zz[k]));
      zz[i] = v;
    }
    for (let i = 0; i < n; i++) zz[i] = R(zz[i] / D[i]);
    for (let i = n - 1; i >= 0; i--) {
      let v = zz[i];
      for (let k = i + 1; k < n; k++) v = R(v - R(L[k * n + i] * delta[k]));
      delta[i] = v;
    }
    return true;
  }

  /** One Newton iteration; returns status bits. */
  private newton(ref: ArrayLike<number>): number {
    const { n, m, maxStep, clamp, barrier, clo, chi } = this.plan;
    const R = this.R, g = this.g, H = this.H, U = this.U;
    if (this.plan.mode === 'exact') this.derivativesExact(ref); else this.derivativesFD(ref);
    for (let i = 0; i < n; i++) {
      if (R(g[i] - g[i]) !== 0) return STATUS_NONFINITE;
      for (let j = 0; j <= i; j++) if (R(H[i * n + j] - H[i * n + j]) !== 0) return STATUS_NONFINITE;
    }
    const delta = new this.A(n);
    let status = 0;
    if (!this.solve(delta)) {
      status = STATUS_GRADIENT_STEP;
      for (let i = 0; i < n; i++) {
        let a = H[i * n + i] < 0 ? -H[i * n + i] : H[i * n + i];
        if (a < HMIN) a = HMIN;
        delta[i] = R(-g[i] / a);
      }
    }
    const bounded = clamp || barrier > 0;
    for (let i = 0; i < n; i++) {
      let d = delta[i];
      if (d > maxStep) d = maxStep;
      if (d < -maxStep) d = -maxStep;
      let u = R(U[i] + d);
      if (bounded) { const c = i % m; if (u < clo[c]) u = clo[c]; if (u > chi[c]) u = chi[c]; }
      U[i] = u;
    }
    return status;
  }

  /** One control tick. measurement = [y(p), sensors(s)]; reference = [r(p)] (preview: N2 rows); writes u(m) to uOut. Returns status bits. */
  step(measurement: ArrayLike<number>, reference: ArrayLike<number>, uOut: Float32Array | Float64Array | number[]): number {
    const { m, p, s, HU, HY, Nu, iterations, uInit } = this.plan;
    const { U, uHist, yHist } = this;
    if (!this.init) {
      for (let r = 0; r < HY; r++) for (let c = 0; c < p; c++) yHist[r * p + c] = measurement[c];
      for (let r = 0; r < HU; r++) for (let c = 0; c < m; c++) uHist[r * m + c] = uInit[c];
      for (let j = 0; j < Nu; j++) for (let c = 0; c < m; c++) U[j * m + c] = uInit[c];
      this.init = true;
    } else {
      for (let r = HY - 1; r > 0; r--) for (let c = 0; c < p; c++) yHist[r * p + c] = yHist[(r - 1) * p + c];
      for (let c = 0; c < p; c++) yHist[c] = measurement[c];
    }
    for (let c = 0; c < s; c++) this.sens[c] = measurement[p + c];
    const ref = new this.A(this.plan.refSize);
    for (let c = 0; c < this.plan.refSize; c++) ref[c] = reference[c];
    let status = 0;
    for (let it = 0; it < iterations; it++) {
      const st = this.newton(ref);
      status |= st;
      if (st & STATUS_NONFINITE) break;
    }
    if (status) this.fallbacks++;
    for (let c = 0; c < m; c++) uOut[c] = U[c];
    for (let r = HU - 1; r > 0; r--) for (let c = 0; c < m; c++) uHist[r * m + c] = uHist[(r - 1) * m + c];
    for (let c = 0; c < m; c++) uHist[c] = U[c];
    for (let j = 0; j + 1 < Nu; j++) for (let c = 0; c < m; c++) U[j * m + c] = U[(j + 1) * m + c];
    return status;
  }

  /**
   * Gradient and Hessian of J at the current warm start U for `reference`, by `mode` (for comparing the two
   * derivative paths; does not advance the controller). Call after at least one step (the history is set).
   */
  derivatives(reference: ArrayLike<number>, mode: MpcPlan['mode']): { g: Float64Array; H: Float64Array } {
    const ref = new this.A(this.plan.refSize);
    for (let c = 0; c < this.plan.refSize; c++) ref[c] = reference[c];
    if (mode === 'exact') this.derivativesExact(ref); else this.derivativesFD(ref);
    const n = this.plan.n, H = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { H[i * n + j] = this.H[i * n + j]; H[j * n + i] = this.H[i * n + j]; }
    return { g: Float64Array.from(this.g), H };
  }

  /** Model forward pass (same arithmetic as inside the controller). */
  predict(x: ArrayLike<number>): Float32Array {
    const x0 = this.x[0];
    for (let e = 0; e < this.plan.nIn; e++) x0[e] = x[e];
    this.forward(false);
    return Float32Array.from(this.x[this.plan.layers.length].subarray(0, this.plan.p));
  }
}
