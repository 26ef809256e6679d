// Regenerates examples/forward-model: a 26 -> 32 -> 32 -> 3 tanh MLP trained (Adam, full float64) on a
// synthetic soft-actuator plant, the shape of the nn4mc forward model. Deterministic (seeded).
// Usage: npm run build && node scripts/make-forward-model.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeSafetensors } from '../dist/compiler/io/safetensors.js';

let seed = 12345;
const rand = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

// Plant: 3 chambers; inputs = commanded pressures (3), pressure history (5 steps x 3), previous tip (3),
// bend sensors (5) = 26. Output = next tip position (x, y, z) of a constant-curvature segment.
function sample() {
  const u = [rand(), rand(), rand()];
  const hist = Array.from({ length: 15 }, (_, i) => Math.min(1, Math.max(0, u[i % 3] + 0.3 * gauss() * (1 + Math.floor(i / 3)) / 5)));
  const eff = u.map((v, k) => 0.6 * v + 0.4 * (hist[k] + hist[3 + k] + hist[6 + k] + hist[9 + k] + hist[12 + k]) / 5);
  const bx = eff[0] - 0.5 * eff[1] - 0.5 * eff[2], by = 0.866 * (eff[1] - eff[2]);
  const theta = 1.6 * Math.hypot(bx, by) + 1e-6, phi = Math.atan2(by, bx), L = 1;
  const r = (L / theta) * (1 - Math.cos(theta));
  const tip = [r * Math.cos(phi), r * Math.sin(phi), (L / theta) * Math.sin(theta)];
  const prev = tip.map((v) => v + 0.05 * gauss());
  const sensors = Array.from({ length: 5 }, (_, s) => Math.tanh(theta * (s + 1) / 5) + 0.02 * gauss());
  const x = [...u, ...hist, ...prev, ...sensors];
  const y = tip.map((v, k) => 0.8 * v + 0.2 * prev[k]);
  return { x, y };
}

const sizes = [26, 32, 32, 3];
const acts = ['tanh', 'tanh', 'linear'];
const W = [], B = [];
for (let l = 0; l < 3; l++) {
  W.push(Array.from({ length: sizes[l + 1] * sizes[l] }, () => gauss() / Math.sqrt(sizes[l])));
  B.push(new Array(sizes[l + 1]).fill(0));
}
const params = [...W, ...B];
const m = params.map((p) => new Array(p.length).fill(0)), v = params.map((p) => new Array(p.length).fill(0));

function forward(x) {
  const hs = [x], zs = [];
  for (let l = 0; l < 3; l++) {
    const n = sizes[l], o = sizes[l + 1], z = new Array(o);
    for (let j = 0; j < o; j++) { let s = B[l][j]; for (let i = 0; i < n; i++) s += W[l][j * n + i] * hs[l][i]; z[j] = s; }
    zs.push(z);
    hs.push(acts[l] === 'tanh' ? z.map(Math.tanh) : z);
  }
  return { hs, zs };
}

const steps = 5000, batch = 32, lr = 3e-3;
for (let t = 1; t <= steps; t++) {
  const gW = W.map((w) => new Array(w.length).fill(0)), gB = B.map((b) => new Array(b.length).fill(0));
  let loss = 0;
  for (let s = 0; s < batch; s++) {
    const { x, y } = sample();
    const { hs } = forward(x);
    let d = hs[3].map((p, k) => (2 * (p - y[k])) / (batch * 3));
    loss += hs[3].reduce((a, p, k) => a + (p - y[k]) ** 2, 0) / (batch * 3);
    for (let l = 2; l >= 0; l--) {
      if (acts[l] === 'tanh') d = d.map((g, j) => g * (1 - hs[l + 1][j] ** 2));
      const n = sizes[l], o = sizes[l + 1], dPrev = new Array(n).fill(0);
      for (let j = 0; j < o; j++) { gB[l][j] += d[j]; for (let i = 0; i < n; i++) { gW[l][j * n + i] += d[j] * hs[l][i]; dPrev[i] += W[l][j * n + i] * d[j]; } }
      d = dPrev;
    }
  }
  const grads = [...gW, ...gB];
  params.forEach((p, pi) => {
    for (let i = 0; i < p.length; i++) {
      const g = grads[pi][i];
      m[pi][i] = 0.9 * m[pi][i] + 0.1 * g; v[pi][i] = 0.999 * v[pi][i] + 0.001 * g * g;
      p[i] -= (lr * (m[pi][i] / (1 - 0.9 ** t))) / (Math.sqrt(v[pi][i] / (1 - 0.999 ** t)) + 1e-8);
    }
  });
  if (t % 1000 === 0) console.log(`step ${t} mse ${loss.toExponential(3)}`);
}

const dir = new URL('../examples/forward-model/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const tensors = {};
for (let l = 0; l < 3; l++) {
  tensors[`layers.${l}.weight`] = { dtype: 'F32', shape: [sizes[l + 1], sizes[l]], data: Float32Array.from(W[l]) };
  tensors[`layers.${l}.bias`] = { dtype: 'F32', shape: [sizes[l + 1]], data: Float32Array.from(B[l]) };
}
writeSafetensors(dir + 'model.safetensors', tensors, { format: 'pt' });
writeFileSync(dir + 'config.json', JSON.stringify({ model_type: 'tinyforge-mlp', input_size: 26, layers: sizes.slice(1).map((units, l) => ({ units, activation: acts[l] })) }, null, 2) + '\n');
const N = 256, X = new Float32Array(N * 26), Y = new Float32Array(N * 3);
let mse = 0;
for (let s = 0; s < N; s++) {
  const { x, y } = sample();
  X.set(x, s * 26); Y.set(y, s * 3);
  const p = forward(x).hs[3];
  mse += p.reduce((a, q, k) => a + (q - y[k]) ** 2, 0) / (N * 3);
}
writeSafetensors(dir + 'calib.safetensors', { input: { dtype: 'F32', shape: [N, 26], data: X }, target: { dtype: 'F32', shape: [N, 3], data: Y } });
console.log(`held-out mse ${mse.toExponential(3)}`);
