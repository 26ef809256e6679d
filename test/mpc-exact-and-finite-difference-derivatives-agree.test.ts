/**
 * The two derivative paths agree: the compiler's forward-mode (exact) gradient matches central finite
 * differences through the network, and the Gauss-Newton Hessian matches the finite-difference Hessian where
 * the model is near-linear (mass-spring-damper); both controllers track. Fallbacks: a NaN measurement skips
 * the Newton update (status bit 0) and keeps the last solution; a singular Hessian takes a gradient step (bit 1).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadPlan } from '../compiler/mpc/model.js';
import { MpcReference, STATUS_GRADIENT_STEP, STATUS_NONFINITE } from '../compiler/mpc/solver.js';
import type { MpcSpec } from '../compiler/mpc/spec.js';
import { referenceScalarController, runLoop } from '../compiler/mpc/sim/closed-loop.js';
import { makePlant } from '../compiler/mpc/sim/plants.js';
import { makeReference } from '../compiler/mpc/sim/references.js';

const msd = JSON.parse(readFileSync('examples/mpc/msd.mpc.json', 'utf8')) as MpcSpec;
const spec26 = JSON.parse(readFileSync('examples/mpc/forward-model.mpc.json', 'utf8')) as MpcSpec;

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-300));
};

describe('exact (forward-mode) vs finite-difference derivatives', () => {
  it('26 -> 3 tanh model: gradients agree to 1e-4 (float64), Hessians are symmetric and positive on the diagonal', () => {
    const plan = loadPlan('examples/forward-model', { ...spec26, horizon: { N1: 1, N2: 3, Nu: 2 }, epsilon: 1e-4 });
    const ref = new MpcReference(plan, 'f64');
    const u = new Float64Array(plan.m);
    const meas = [0.1, 0.2, 0.9, 0.3, 0.1, 0.5, 0.6, 0.2], target = [0.2, 0.1, 0.8];
    for (let t = 0; t < 3; t++) ref.step(meas, target, u);
    const ex = ref.derivatives(target, 'exact'), fd = ref.derivatives(target, 'finite-difference');
    expect(relErr(ex.g, fd.g)).toBeLessThan(1e-4);
    for (let i = 0; i < plan.n; i++) expect(ex.H[i * plan.n + i]).toBeGreaterThan(0);
  });

  it('mass-spring-damper model: Gauss-Newton Hessian == finite-difference Hessian (near-linear model)', () => {
    const plan = loadPlan('examples/mpc/msd-model', { ...msd, epsilon: 1e-2, bounds: { lower: [-10], upper: [10], clamp: true } });
    const ref = new MpcReference(plan, 'f64');
    const u = new Float64Array(1);
    const target = Array.from({ length: plan.refSize }, (_, k) => 0.5 + 0.01 * k);
    for (let t = 0; t < 5; t++) ref.step([0.1 * t], target, u);
    const ex = ref.derivatives(target, 'exact'), fd = ref.derivatives(target, 'finite-difference');
    expect(relErr(ex.g, fd.g)).toBeLessThan(1e-3);
    expect(relErr(ex.H, fd.H)).toBeLessThan(1e-2);
  });

  it('both derivative modes track the mass-spring-damper in float32; FD needs a large epsilon there', () => {
    const plant = makePlant('msd', 0.02);
    const ref = makeReference('sine', 300, 0.02, plant.yRange);
    const run = (mode: 'exact' | 'finite-difference', epsilon: number) => {
      const c = referenceScalarController(loadPlan('examples/mpc/msd-model', { ...msd, derivatives: mode, epsilon }), 'f32');
      return { rmse: runLoop(plant, c, ref).rmse, fallbacks: c.fallbacks!() };
    };
    const exact = run('exact', 0.1), fd = run('finite-difference', 0.1), fdSmall = run('finite-difference', 0.01);
    expect(exact.fallbacks).toBe(0);
    expect(Math.abs(fd.rmse - exact.rmse) / exact.rmse).toBeLessThan(0.1);
    // float32 central differences of J with a small step are noise-dominated: Hessian fallbacks appear
    expect(fdSmall.fallbacks).toBeGreaterThan(exact.fallbacks);
  });
});

describe('fallbacks', () => {
  it('a NaN measurement skips the update and keeps the warm start; the next good tick recovers', () => {
    const plan = loadPlan('examples/mpc/msd-model', msd);
    const ref = new MpcReference(plan, 'f32');
    const u = new Float32Array(1), target = new Float32Array(plan.refSize).fill(0.5);
    ref.step([0], target, u);
    const before = ref.U[0];
    expect(ref.step([NaN], target, u)).toBe(STATUS_NONFINITE);
    expect(u[0]).toBe(before);
    expect(Number.isFinite(u[0])).toBe(true);
    // the NaN stays in the y history for HY ticks, then clean steps resume
    let st = 0;
    for (let t = 0; t < plan.HY + 1; t++) st = ref.step([0.01], target, u);
    expect(st).toBe(0);
    expect(Number.isFinite(u[0])).toBe(true);
  });

  it('a singular Hessian (no output weight, no input weight, no barrier) takes a bounded gradient step', () => {
    const plan = loadPlan('examples/mpc/msd-model', { ...msd, Q: [0], lambda: 0, bounds: { lower: [-10], upper: [10], clamp: true } });
    const ref = new MpcReference(plan, 'f32');
    const u = new Float32Array(1);
    const st = ref.step([0.3], new Float32Array(plan.refSize).fill(1), u);
    expect(st & STATUS_GRADIENT_STEP).toBe(STATUS_GRADIENT_STEP);
    expect(Number.isFinite(u[0])).toBe(true);
  });
});
