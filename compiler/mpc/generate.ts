/**
 * `tinyforge mpc` entry points (kept out of the CLI file so tests and the benchmark can call them):
 * generate a controller folder, and prove device == WASM by replaying a closed-loop run on the emulated board.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { emitMpcC } from './c.js';
import { weightBytes } from '../compile.js';
import { loadForwardModel, type ForwardModelOptions, type ForwardQuant } from './model.js';
import { planMpc, readSpec, type MpcPlan, type MpcSpec } from './spec.js';
import { emitMpcWasm } from './wasm.js';

export type MpcTarget = 'c' | 'cortex-m4f' | 'wasm';
export const MPC_TARGETS: readonly MpcTarget[] = ['c', 'cortex-m4f', 'wasm'];

export interface MpcManifest {
  tool: 'tinyforge-mpc';
  model: string;
  source: string;
  target: MpcTarget;
  controls: number; outputs: number; sensors: number; modelInputs: number;
  measurementSize: number; referenceSize: number;
  horizon: { N1: number; N2: number; Nu: number };
  decisionVariables: number;
  iterations: number;
  derivatives: MpcPlan['mode'];
  rateHz: number;
  /** forward model arithmetic: float32, or int8 (quantize -> integer layers -> dequantize, the model's own code) */
  forwardModel: ForwardQuant;
  /** int8: calibration samples and their source (checkpoint models) */
  calibration?: { source: string; samples: number };
  /** decisions taken on the user's behalf (e.g. int8 -> finite-difference derivatives) */
  notes: string[];
  /** constant bytes of the forward model: float32 weights + biases, or int8 weights + int32 biases + requantization constants + tables */
  weightBytes: number;
  /** forward passes per control step: exact = N2 per iteration (each also carrying N tangent directions); finite-difference = (1 + 2N + 2N(N−1)) × N2 per iteration */
  forwardPassesPerStep: number;
  files: string[];
}

export function forwardPasses(plan: MpcPlan): number {
  const rollouts = plan.mode === 'exact' ? 1 : 1 + 2 * plan.n + 2 * plan.n * (plan.n - 1);
  return rollouts * plan.N2 * plan.iterations;
}

export async function generateMpc(modelPath: string, spec: string | MpcSpec, target: MpcTarget, out: string, opts: Omit<ForwardModelOptions, 'spec'> = {}): Promise<{ plan: MpcPlan; manifest: MpcManifest }> {
  if (!MPC_TARGETS.includes(target)) fail(`unknown target '${target}' for mpc (supported: ${MPC_TARGETS.join(', ')})`);
  const specObj = typeof spec === 'string' ? readSpec(spec) : spec;
  const model = loadForwardModel(modelPath, { ...opts, spec: specObj });
  const plan = planMpc(specObj, model.layers, model.name, typeof spec === 'string' ? spec : 'mpc spec', model.int8);
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => { writeFileSync(join(out, name), data); files.push(name); };
  if (target === 'wasm') write('controller.wasm', await emitMpcWasm(plan));
  else {
    const src = emitMpcC(plan, target);
    for (const [name, text] of Object.entries(src)) write(name, text);
  }
  write('mpc.json', JSON.stringify(specObj, null, 2) + '\n');
  const manifest: MpcManifest = {
    tool: 'tinyforge-mpc', model: model.name, source: modelPath, target,
    controls: plan.m, outputs: plan.p, sensors: plan.s, modelInputs: plan.nIn,
    measurementSize: plan.p + plan.s, referenceSize: plan.refSize,
    horizon: { N1: plan.N1, N2: plan.N2, Nu: plan.Nu }, decisionVariables: plan.n, iterations: plan.iterations,
    derivatives: plan.mode, rateHz: plan.rateHz,
    forwardModel: plan.int8 ? 'int8' : 'float32',
    ...(model.calibration ? { calibration: model.calibration } : {}),
    notes: plan.notes,
    weightBytes: plan.int8 ? weightBytes(plan.int8) : plan.layers.reduce((a, l) => a + 4 * (l.w.length + l.b.length), 0),
    forwardPassesPerStep: forwardPasses(plan),
    files: [...files, 'tinyforge-mpc.json'],
  };
  write('tinyforge-mpc.json', JSON.stringify(manifest, null, 2) + '\n');
  return { plan, manifest };
}
