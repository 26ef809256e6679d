/** The WASM controller computes exactly what the float32 TypeScript reference solver computes, bit for bit. */
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../compiler/mpc/model.js';
import { MpcReference } from '../compiler/mpc/solver.js';
import { emitMpcWasm } from '../compiler/mpc/wasm.js';
import { loadController } from '../runtime/index.js';
import type { MpcSpec } from '../compiler/mpc/spec.js';
import { readFileSync } from 'node:fs';

const bitsOf = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

function lcg(seed: number) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; }; }

async function compare(modelDir: string, spec: MpcSpec, ticks: number) {
  const plan = loadPlan(modelDir, spec);
  const ref = new MpcReference(plan, 'f32');
  const ctl = await loadController(await emitMpcWasm(plan));
  const r = lcg(3);
  const u = new Float32Array(plan.m);
  const statuses: number[] = [];
  for (let t = 0; t < ticks; t++) {
    const meas = Array.from({ length: plan.p + plan.s }, () => r() - 0.5);
    const target = Array.from({ length: plan.refSize }, () => r() - 0.5);
    const st = ref.step(meas, target, u);
    const w = ctl.step(meas, target);
    expect(bitsOf(w), `tick ${t}`).toEqual(bitsOf(u));
    expect(ctl.lastStatus).toBe(st);
    statuses.push(st);
  }
  const x = Array.from({ length: plan.nIn }, () => r() - 0.5);
  expect(bitsOf(ctl.predict(x))).toEqual(bitsOf(ref.predict(x)));
  return statuses;
}

const spec26 = JSON.parse(readFileSync('examples/mpc/forward-model.mpc.json', 'utf8')) as MpcSpec;

describe('WASM controller == TypeScript float32 reference (bit-identical)', () => {
  it('26 -> 3 forward model, exact derivatives, barrier + clamp', async () => {
    await compare('examples/forward-model', spec26, 40);
  });
  it('26 -> 3 forward model, finite differences, Nu = 2, 2 iterations, longer horizon', async () => {
    await compare('examples/forward-model', { ...spec26, derivatives: 'finite-difference', horizon: { N1: 1, N2: 4, Nu: 2 }, iterations: 2 }, 15);
  });
  it('reference preview (N2 rows of targets), Nu = 2', async () => {
    await compare('examples/forward-model', { ...spec26, horizon: { N1: 1, N2: 3, Nu: 2 }, reference_preview: true }, 20);
  });
  it('exact derivatives with N2 = 6, Nu = 2, no barrier', async () => {
    await compare('examples/forward-model', { ...spec26, horizon: { N1: 2, N2: 6, Nu: 2 }, bounds: { lower: [0, 0, 0], upper: [1, 1, 1], clamp: true } }, 30);
  });
});
