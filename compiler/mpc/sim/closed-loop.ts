/**
 * Closed-loop simulation: the generated controller (the WASM artifact, or the TypeScript reference solver)
 * tracks step, sine and random-waypoint references on a simulated plant, against a PID tuned on the plant
 * itself. Tracking RMSE = sqrt(mean over ticks of (y[t] − r[t])²), y measured before u[t] is applied.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { loadForwardModel, type ForwardQuant } from '../model.js';
import { MpcReference, type Precision } from '../solver.js';
import { planMpc, readSpec, type MpcPlan, type MpcSpec } from '../spec.js';
import { emitMpcWasm } from '../wasm.js';
import { loadController } from '../../../runtime/controller.js';
import { makePlant, type Plant, type PlantName } from './plants.js';
import { Pid, tunePid, type PidGains } from './pid.js';
import { makeReference, REFERENCE_NAMES, type ReferenceName } from './references.js';
import { plotSvg, type PlotRow } from './svg.js';
import { trainMlp, writeCheckpoint } from './train.js';

/** One-output, one-control controller; gets the whole reference and the tick (MPC with reference_preview looks ahead). */
export interface ScalarController { step(y: number, ref: ArrayLike<number>, t: number): number; reset(): void; fallbacks?: () => number }

export interface Trace { r: Float64Array; y: Float64Array; u: Float64Array; rmse: number }

export function runLoop(plant: Plant, ctl: ScalarController, ref: ArrayLike<number>): Trace {
  plant.reset();
  ctl.reset();
  const T = ref.length;
  const tr: Trace = { r: Float64Array.from(ref), y: new Float64Array(T), u: new Float64Array(T), rmse: 0 };
  let se = 0;
  for (let t = 0; t < T; t++) {
    const y = plant.output();
    const u = ctl.step(y, ref, t);
    tr.y[t] = y; tr.u[t] = u;
    se += (y - ref[t]) ** 2;
    plant.step(u);
  }
  tr.rmse = Math.sqrt(se / T);
  return tr;
}

/** The bundled spec and model folder for a plant (examples/mpc/<plant>.mpc.json, examples/mpc/<plant>-model). */
export function examplePaths(plant: PlantName): { spec: string; model: string } {
  const dir = join(packageRoot(), 'examples', 'mpc');
  return { spec: join(dir, `${plant}.mpc.json`), model: join(dir, `${plant}-model`) };
}

/** Trains the forward model for `plant` with the spec's input layout and writes the checkpoint. */
export function trainForPlant(plantName: PlantName, spec: MpcSpec, out: string, opts: { samples?: number; epochs?: number; seed?: number } = {}) {
  const plant = makePlant(plantName, 1 / (spec.rate_hz ?? 50));
  const mlp = trainMlp(spec, plant, opts);
  writeCheckpoint(out, mlp, { plant: plantName, dt: plant.dt, seed: opts.seed ?? 17 });
  return mlp.report;
}

/** The reference argument at tick t: r[t], or with preview r[t+1] .. r[t+N2] (held at the end). */
export function fillReference(plan: MpcPlan, ref: ArrayLike<number>, t: number, out: Float32Array): void {
  if (!plan.preview) { out[0] = ref[t]; return; }
  for (let k = 0; k < plan.N2; k++) out[k] = ref[Math.min(ref.length - 1, t + k + 1)];
}

export async function wasmScalarController(plan: MpcPlan): Promise<ScalarController & { stepsPerSecond(): number }> {
  const ctl = await loadController(await emitMpcWasm(plan));
  const m = new Float32Array(plan.p + plan.s), r = new Float32Array(plan.refSize);
  let fallbacks = 0, steps = 0, ns = 0;
  return {
    reset() { ctl.reset(); },
    step(y, ref, t) {
      m[0] = y;
      fillReference(plan, ref, t, r);
      const t0 = process.hrtime.bigint();
      const u = ctl.step(m, r)[0];
      ns += Number(process.hrtime.bigint() - t0); steps++;
      if (ctl.lastStatus) fallbacks++;
      return u;
    },
    fallbacks: () => fallbacks,
    stepsPerSecond: () => (steps / ns) * 1e9,
  };
}

export function referenceScalarController(plan: MpcPlan, precision: Precision = 'f32'): ScalarController {
  const ref = new MpcReference(plan, precision);
  const u = new Float32Array(plan.m);
  const r = new Float32Array(plan.refSize);
  return { reset() { ref.reset(); }, step(y, rs, t) { fillReference(plan, rs, t, r); ref.step([y], r, u); return u[0]; }, fallbacks: () => ref.fallbacks };
}

export interface SimulateOptions {
  plant: PlantName;
  /** forward model folder (default: the bundled example for the plant, trained on first use) */
  model?: string;
  spec?: string;
  references?: ReferenceName[];
  steps?: number;
  controller?: 'wasm' | 'reference';
  /** override the spec's reference_preview */
  preview?: boolean;
  plot?: string;
  log?: (s: string) => void;
  /** forward model arithmetic (int8: calibrated on the training data or `calib`) */
  quant?: ForwardQuant;
  calib?: string;
}

export interface SimulateRow { reference: ReferenceName; mpcRmse: number; pidRmse: number; mpcFallbacks: number }
export interface SimulateResult {
  plant: PlantName; model: string; spec: string; dt: number; steps: number; pid: PidGains;
  preview: boolean; derivatives: MpcPlan['mode']; forwardModel: ForwardQuant; notes: string[];
  rows: SimulateRow[]; wasmStepsPerSecond?: number; svg: string;
}

export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  const log = opts.log ?? (() => {});
  const ex = examplePaths(opts.plant);
  const specPath = opts.spec ?? ex.spec;
  const spec = readSpec(specPath);
  if (opts.preview !== undefined) spec.reference_preview = opts.preview;
  const modelPath = opts.model ?? ex.model;
  if (!existsSync(join(modelPath, 'config.json')) && !existsSync(join(modelPath, 'program.safetensors'))) {
    if (opts.model) fail(`${modelPath}: no forward model there; train one with 'tinyforge mpc train --plant ${opts.plant} --out ${modelPath}'`);
    log(`training the ${opts.plant} forward model into ${modelPath} ...`);
    trainForPlant(opts.plant, spec, modelPath);
  }
  const model = loadForwardModel(modelPath, { quant: opts.quant, calib: opts.calib, spec });
  const plan = planMpc(spec, model.layers, model.name, specPath, model.int8);
  for (const n of plan.notes) log(`note: ${n}`);
  if (plan.p !== 1 || plan.m !== 1 || plan.s !== 0) fail(`${specPath}: the simulator's plants have one control and one output and no extra sensors; the spec has ${plan.m} controls, ${plan.p} outputs, ${plan.s} sensors`);
  const dt = 1 / plan.rateHz;
  const plant = makePlant(opts.plant, dt);
  const steps = opts.steps ?? Math.round(12 / dt);
  log(`tuning the PID on the ${opts.plant} plant ...`);
  const gains = tunePid(plant, Math.min(steps, Math.round(12 / dt)));
  const wasm = (opts.controller ?? 'wasm') === 'wasm' ? await wasmScalarController(plan) : undefined;
  const mpc = wasm ?? referenceScalarController(plan);
  const rows: SimulateRow[] = [];
  const plotRows: PlotRow[] = [];
  for (const name of opts.references ?? REFERENCE_NAMES) {
    const ref = makeReference(name, steps, dt, plant.yRange);
    const f0 = mpc.fallbacks?.() ?? 0;
    const a = runLoop(plant, mpc, ref);
    const pid = new Pid(gains, dt, plant.uMin, plant.uMax);
    const b = runLoop(plant, { step: (y, r, t) => pid.step(y, r[t]), reset: () => pid.reset() }, ref);
    rows.push({ reference: name, mpcRmse: a.rmse, pidRmse: b.rmse, mpcFallbacks: (mpc.fallbacks?.() ?? 0) - f0 });
    plotRows.push({
      title: `${name}: RMSE MPC ${a.rmse.toPrecision(3)}, PID ${b.rmse.toPrecision(3)}`, dt,
      panels: [
        { title: 'output', yLabel: opts.plant === 'msd' ? 'position (m)' : 'bend angle (rad)', series: [
          { label: 'reference', color: '#000', values: a.r, dash: '5 3' },
          { label: 'MPC', color: '#1f77b4', values: a.y },
          { label: 'PID', color: '#ff7f0e', values: b.y }] },
        { title: 'input', yLabel: opts.plant === 'msd' ? 'force (N)' : 'motor command', series: [
          { label: 'MPC', color: '#1f77b4', values: a.u },
          { label: 'PID', color: '#ff7f0e', values: b.u }] },
      ],
    });
  }
  const svg = plotSvg(plotRows, `tinyforge MPC (${plan.int8 ? 'int8 forward model, ' : ''}${plan.mode} derivatives, N2=${plan.N2}, Nu=${plan.Nu}${plan.preview ? ', reference preview' : ''}) vs tuned PID on the ${opts.plant} plant`);
  if (opts.plot) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(opts.plot, svg);
  }
  return { plant: opts.plant, model: modelPath, spec: specPath, dt, steps, pid: gains, preview: plan.preview, derivatives: plan.mode, forwardModel: plan.int8 ? 'int8' : 'float32', notes: plan.notes, rows, wasmStepsPerSecond: wasm?.stepsPerSecond(), svg };
}

/** Reads a spec file without a model (for training a model with its layout). */
export function readSpecFile(path: string): MpcSpec {
  return readSpec(path);
}
