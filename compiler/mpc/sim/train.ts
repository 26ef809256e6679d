/**
 * Forward-model training for the MPC simulator: excite a plant with an amplitude-modulated pseudo-random
 * binary signal (APRBS), build model inputs with the controller spec's layout, train a small tanh MLP
 * (Adam, float64, seeded) to predict the next output, fold the input/output normalization into the first
 * and last layers, and export a tinyforge-mlp checkpoint (config.json + model.safetensors).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.js';
import { KIND_U, KIND_Y, type MpcSpec } from '../spec.js';
import type { Plant } from './plants.js';
import { rng } from './references.js';

export interface TrainOptions { samples?: number; epochs?: number; hidden?: number[]; seed?: number; lr?: number; batch?: number }
export interface TrainReport { samples: number; epochs: number; hidden: number[]; trainRmse: number; validRmse: number; outputStd: number }

interface Layout { kind: number; ch: number; lag: number }

function layoutOf(spec: MpcSpec): Layout[] {
  const out: Layout[] = [];
  for (const g of spec.model_input) {
    const kind = g.source === 'u' ? KIND_U : g.source === 'y' ? KIND_Y : 2;
    for (const lag of g.lags ?? [0]) for (const ch of g.channels) out.push({ kind, ch, lag });
  }
  return out;
}

/** Runs the plant under APRBS excitation; returns inputs u[t] and outputs y[t] (y measured before u[t] is applied). */
export function collect(plant: Plant, samples: number, seed: number): { u: Float64Array; y: Float64Array } {
  const r = rng(seed);
  const u = new Float64Array(samples), y = new Float64Array(samples + 1);
  plant.reset();
  let level = 0, left = 0;
  for (let t = 0; t < samples; t++) {
    if (left <= 0) { level = plant.uMin + (plant.uMax - plant.uMin) * r(); left = 3 + Math.floor(37 * r()); }
    left--;
    y[t] = plant.output();
    u[t] = level;
    plant.step(level);
  }
  y[samples] = plant.output();
  return { u, y };
}

/** Model input rows (per the layout) and next-output targets from one recorded run. */
export function windows(spec: MpcSpec, u: Float64Array, y: Float64Array): { X: Float64Array[]; Y: number[] } {
  const L = layoutOf(spec);
  const maxLag = Math.max(...L.map((e) => e.lag));
  const X: Float64Array[] = [], Y: number[] = [];
  for (let t = maxLag; t < u.length; t++) {
    X.push(Float64Array.from(L, (e) => (e.kind === KIND_U ? u[t - e.lag] : e.kind === KIND_Y ? y[t - e.lag] : 0)));
    Y.push(y[t + 1]);
  }
  return { X, Y };
}

export interface TrainedMlp { sizes: number[]; W: Float64Array[]; B: Float64Array[]; report: TrainReport }

/** Least squares θ for y ≈ θ·[x, 1] (normal equations, Gaussian elimination with a tiny ridge). */
function leastSquares(X: Float64Array[], Y: number[]): Float64Array {
  const n = X[0].length + 1;
  const A = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let s = 0; s < X.length; s++) {
    const row = [...X[s], 1];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) A[i][j] += row[i] * row[j];
      A[i][n] += row[i] * Y[s];
    }
  }
  for (let i = 0; i < n; i++) A[i][i] += 1e-9 * X.length;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let k = c; k <= n; k++) A[r][k] -= f * A[c][k];
    }
  }
  return Float64Array.from({ length: n }, (_, i) => A[i][n] / A[i][i]);
}

/**
 * Trains the forward model as "linear ARX + MLP residual", exported as one plain tanh MLP: each hidden
 * layer gets one extra unit that carries the ARX prediction through tanh in its linear range
 * (pre-activation ≤ 0.01, so tanh is linear to 3e-5 relative, and the residual net is trained against
 * the exact composed value). Predicting y[k+1] directly with a plain MLP is dominated by its error
 * relative to the small per-tick change; the ARX path keeps dŷ/du right and the MLP learns the nonlinearity.
 */
export function trainMlp(spec: MpcSpec, plant: Plant, opts: TrainOptions = {}): TrainedMlp {
  const samples = opts.samples ?? 6000, epochs = opts.epochs ?? 60, hidden = opts.hidden ?? [16, 16];
  const seed = opts.seed ?? 17, lr0 = opts.lr ?? 3e-3, batch = opts.batch ?? 32;
  const { u, y } = collect(plant, samples, seed);
  const { X, Y } = windows(spec, u, y);
  const nIn = X[0].length;
  // normalization (folded into the weights at the end)
  const mu = new Float64Array(nIn), sd = new Float64Array(nIn);
  for (const x of X) for (let i = 0; i < nIn; i++) mu[i] += x[i] / X.length;
  for (const x of X) for (let i = 0; i < nIn; i++) sd[i] += (x[i] - mu[i]) ** 2 / X.length;
  for (let i = 0; i < nIn; i++) sd[i] = Math.sqrt(sd[i]) || 1;
  const ymu = Y.reduce((a, b) => a + b, 0) / Y.length;
  const ysd = Math.sqrt(Y.reduce((a, b) => a + (b - ymu) ** 2, 0) / Y.length) || 1;
  const Xn = X.map((x) => x.map((v, i) => (v - mu[i]) / sd[i]));
  // linear ARX path, through the tanh chain
  const theta = leastSquares(Xn, Y);
  const lin = (x: Float64Array) => { let s = theta[nIn] - ymu; for (let i = 0; i < nIn; i++) s += theta[i] * x[i]; return s; };
  const zmax = Math.max(1e-6, ...Xn.map((x) => Math.abs(lin(x)))) * 1.5;
  const eps = 0.01 / zmax;
  const skip = (x: Float64Array) => { let h = Math.tanh(eps * lin(x)); for (let l = 1; l < hidden.length; l++) h = Math.tanh(h); return h / eps + ymu; };
  const res = Y.map((v, i) => v - skip(Xn[i]));
  const rmu = res.reduce((a, b) => a + b, 0) / res.length;
  const rsd = Math.sqrt(res.reduce((a, b) => a + (b - rmu) ** 2, 0) / res.length) || 1;
  const Yn = res.map((v) => (v - rmu) / rsd);
  const nValid = Math.floor(Xn.length / 5);
  const trainIdx = Array.from({ length: Xn.length - nValid }, (_, i) => i);
  const validIdx = Array.from({ length: nValid }, (_, i) => Xn.length - nValid + i);

  const sizes = [nIn, ...hidden, 1];
  const r = rng(seed * 7 + 1);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const W = sizes.slice(1).map((o, l) => Float64Array.from({ length: o * sizes[l] }, () => gauss() / Math.sqrt(sizes[l])));
  const B = sizes.slice(1).map((o) => new Float64Array(o));
  const params = [...W, ...B];
  const mom = params.map((p) => new Float64Array(p.length)), vel = params.map((p) => new Float64Array(p.length));
  const grads = params.map((p) => new Float64Array(p.length));
  const L = sizes.length - 1;
  const hs = sizes.map((s) => new Float64Array(s));
  const ds = sizes.map((s) => new Float64Array(s));

  const forward = (x: Float64Array) => {
    hs[0].set(x);
    for (let l = 0; l < L; l++) {
      const n = sizes[l], o = sizes[l + 1], w = W[l], b = B[l], h = hs[l], out = hs[l + 1];
      for (let j = 0; j < o; j++) {
        let s = b[j];
        for (let i = 0; i < n; i++) s += w[j * n + i] * h[i];
        out[j] = l < L - 1 ? Math.tanh(s) : s;
      }
    }
    return hs[L][0];
  };
  const rmse = (idx: number[]) => Math.sqrt(idx.reduce((a, i) => a + (forward(Xn[i]) - Yn[i]) ** 2, 0) / idx.length) * rsd;

  let step = 0;
  const b1 = 0.9, b2 = 0.999;
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = trainIdx.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [trainIdx[i], trainIdx[j]] = [trainIdx[j], trainIdx[i]]; }
    const lr = lr0 * (ep < epochs * 0.6 ? 1 : ep < epochs * 0.85 ? 0.3 : 0.1);
    for (let s0 = 0; s0 < trainIdx.length; s0 += batch) {
      for (const g of grads) g.fill(0);
      const end = Math.min(trainIdx.length, s0 + batch);
      for (let s = s0; s < end; s++) {
        const k = trainIdx[s];
        const pred = forward(Xn[k]);
        ds[L][0] = (2 * (pred - Yn[k])) / (end - s0);
        for (let l = L - 1; l >= 0; l--) {
          const n = sizes[l], o = sizes[l + 1], w = W[l], h = hs[l], d = ds[l + 1];
          const gw = grads[l], gb = grads[L + l];
          if (l < L - 1) for (let j = 0; j < o; j++) d[j] *= 1 - hs[l + 1][j] ** 2;
          const dp = ds[l];
          dp.fill(0);
          for (let j = 0; j < o; j++) {
            gb[j] += d[j];
            for (let i = 0; i < n; i++) { gw[j * n + i] += d[j] * h[i]; dp[i] += d[j] * w[j * n + i]; }
          }
        }
      }
      step++;
      for (let q = 0; q < params.length; q++) {
        const p = params[q], g = grads[q], m = mom[q], v = vel[q];
        for (let i = 0; i < p.length; i++) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
          p[i] -= (lr * (m[i] / (1 - b1 ** step))) / (Math.sqrt(v[i] / (1 - b2 ** step)) + 1e-8);
        }
      }
    }
  }
  const linRmse = Math.sqrt(validIdx.reduce((a, i) => a + (skip(Xn[i]) - Y[i]) ** 2, 0) / validIdx.length);
  const report: TrainReport & { arxValidRmse: number } = { samples, epochs, hidden, trainRmse: rmse(trainIdx), validRmse: rmse(validIdx), arxValidRmse: linRmse, outputStd: ysd };

  // Export: residual net (denormalized) plus one ARX unit per hidden layer, block-diagonal.
  const out = { sizes: [nIn, ...hidden.map((h) => h + 1), 1], W: [] as Float64Array[], B: [] as Float64Array[], report };
  for (let l = 0; l < L; l++) {
    const nI = sizes[l], nO = sizes[l + 1];
    const eI = l === 0 ? nI : nI + 1, eO = l === L - 1 ? 1 : nO + 1;
    const w = new Float64Array(eO * eI), b = new Float64Array(eO);
    for (let j = 0; j < nO; j++) {
      for (let i = 0; i < nI; i++) w[j * eI + i] = W[l][j * nI + i];
      b[j] = B[l][j];
    }
    if (l === 0) {
      // fold input normalization into the residual rows, then the ARX row
      for (let j = 0; j < nO; j++) {
        let shift = 0;
        for (let i = 0; i < nI; i++) { w[j * eI + i] /= sd[i]; shift += w[j * eI + i] * mu[i]; }
        b[j] -= shift;
      }
      let shift = 0;
      for (let i = 0; i < nI; i++) { w[nO * eI + i] = (eps * theta[i]) / sd[i]; shift += w[nO * eI + i] * mu[i]; }
      b[nO] = eps * (theta[nIn] - ymu) - shift;
    } else if (l < L - 1) {
      w[nO * eI + nI] = 1; // tanh(h): the ARX unit passes on
    }
    if (l === L - 1) {
      for (let i = 0; i < nI; i++) w[i] *= rsd;
      b[0] = b[0] * rsd + rmu + ymu;
      w[nI] = 1 / eps;
    }
    out.W.push(w); out.B.push(b);
  }
  return out;
}

export function writeCheckpoint(dir: string, mlp: TrainedMlp, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  const L = mlp.sizes.length - 1;
  for (let l = 0; l < L; l++) {
    tensors[`layers.${l}.weight`] = { dtype: 'F32', shape: [mlp.sizes[l + 1], mlp.sizes[l]], data: Float32Array.from(mlp.W[l]) };
    tensors[`layers.${l}.bias`] = { dtype: 'F32', shape: [mlp.sizes[l + 1]], data: Float32Array.from(mlp.B[l]) };
  }
  const config = {
    model_type: 'tinyforge-mlp', input_size: mlp.sizes[0],
    layers: mlp.sizes.slice(1).map((units, l) => ({ units, activation: l < L - 1 ? 'tanh' : 'linear' })),
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'training.json'), JSON.stringify({ ...mlp.report, ...extra }, null, 2) + '\n');
  return dir;
}
