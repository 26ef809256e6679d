/**
 * MPC benchmark: control steps per second on the Cortex-M4F (from QEMU instruction counts of mpc_step in the
 * fixed-rate firmware loop, at an ASSUMED 180 MHz and 1 instruction per cycle; worst tick), flash of
 * controller + model, WASM steps per second in Node, and closed-loop tracking RMSE of MPC vs a tuned PID.
 * Every M4F row also checks device == WASM bit for bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../compiler/paths.js';
import { deviceCheck, ASSUMED_CLOCK_HZ } from '../compiler/mpc/device.js';
import { loadPlan, type ForwardModelOptions, type ForwardQuant } from '../compiler/mpc/model.js';
import { simulate } from '../compiler/mpc/sim/closed-loop.js';
import type { MpcPlan, MpcSpec } from '../compiler/mpc/spec.js';
import { emitMpcWasm } from '../compiler/mpc/wasm.js';
import { loadController } from '../runtime/controller.js';

export interface MpcSpeedRow {
  kind: 'speed';
  case: string;
  model: string;
  forwardModel: ForwardQuant;
  derivatives: MpcPlan['mode'];
  horizon: string;
  iterations: number;
  decisionVariables: number;
  m4fInstructionsPerStep: number;
  m4fStepsPerSecondAt180MHz: number;
  flashBytes: number;
  flashPercentOf1MB: number;
  stackBytes: number;
  deviceEqualsWasm: boolean;
  wasmStepsPerSecond: number;
}

export interface MpcTrackingRow {
  kind: 'tracking';
  plant: string;
  reference: string;
  preview: boolean;
  forwardModel: ForwardQuant;
  mpcRmse: number;
  pidRmse: number;
}

export type MpcBenchRow = MpcSpeedRow | MpcTrackingRow;

function wasmStepsPerSecond(plan: MpcPlan, ctl: Awaited<ReturnType<typeof loadController>>, budgetMs = 300): number {
  const meas = Float32Array.from({ length: plan.p + plan.s }, (_, i) => 0.3 + 0.01 * i);
  const ref = Float32Array.from({ length: plan.refSize }, (_, i) => 0.5 + 0.001 * i);
  for (let i = 0; i < 50; i++) ctl.step(meas, ref);
  const rates: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || rates.length < 5) {
    const t = performance.now();
    let k = 0;
    while (performance.now() - t < 20) { ctl.step(meas, ref); k++; }
    rates.push((k * 1000) / (performance.now() - t));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

async function speedRow(name: string, modelDir: string, spec: MpcSpec | string, ticks: number, opts: Omit<ForwardModelOptions, 'spec'> = {}): Promise<MpcSpeedRow> {
  const plan = loadPlan(modelDir, spec, opts);
  const d = await deviceCheck(plan, ticks);
  const ctl = await loadController(await emitMpcWasm(plan));
  return {
    kind: 'speed', case: name, model: plan.name, forwardModel: plan.int8 ? 'int8' : 'float32', derivatives: plan.mode, horizon: `N1=${plan.N1} N2=${plan.N2} Nu=${plan.Nu}`,
    iterations: plan.iterations, decisionVariables: plan.n,
    m4fInstructionsPerStep: d.instructionsPerStep.max, m4fStepsPerSecondAt180MHz: Math.round(ASSUMED_CLOCK_HZ / d.instructionsPerStep.max),
    flashBytes: d.controllerFlashBytes, flashPercentOf1MB: d.flashPercentOf1MB, stackBytes: d.stackBytes ?? 0,
    deviceEqualsWasm: d.identical === d.ticks, wasmStepsPerSecond: Math.round(wasmStepsPerSecond(plan, ctl)),
  };
}

export async function runMpcBench(log: (s: string) => void = console.log): Promise<MpcBenchRow[]> {
  const root = packageRoot();
  const fm = join(root, 'examples', 'forward-model');
  const spec26 = JSON.parse(readFileSync(join(root, 'examples', 'mpc', 'forward-model.mpc.json'), 'utf8')) as MpcSpec;
  const rows: MpcBenchRow[] = [];
  const calib = join(fm, 'calib.safetensors');
  const int8 = { quant: 'int8' as const };
  const cases: Array<[string, string, MpcSpec | string, Omit<ForwardModelOptions, 'spec'>?]> = [
    ['paper-size 26->3, exact, 1 iteration', fm, spec26],
    ['paper-size 26->3, finite differences, 1 iteration', fm, { ...spec26, derivatives: 'finite-difference' }],
    ['paper-size 26->3, exact, N2=5 Nu=2', fm, { ...spec26, horizon: { N1: 1, N2: 5, Nu: 2 } }],
    ['mass-spring-damper example', join(root, 'examples', 'mpc', 'msd-model'), join(root, 'examples', 'mpc', 'msd.mpc.json')],
    ['soft actuator example', join(root, 'examples', 'mpc', 'soft-model'), join(root, 'examples', 'mpc', 'soft.mpc.json')],
    // int8 forward models: finite differences through the int8 network (exact derivatives do not exist for it)
    ['int8 paper-size 26->3, finite differences, 1 iteration', fm, { ...spec26, derivatives: 'finite-difference' }, { ...int8, calib }],
    ['int8 paper-size 26->3, finite differences, N2=5 Nu=2', fm, { ...spec26, derivatives: 'finite-difference', horizon: { N1: 1, N2: 5, Nu: 2 } }, { ...int8, calib }],
    ['int8 mass-spring-damper example', join(root, 'examples', 'mpc', 'msd-model'), join(root, 'examples', 'mpc', 'msd.mpc.json'), int8],
    ['int8 soft actuator example', join(root, 'examples', 'mpc', 'soft-model'), join(root, 'examples', 'mpc', 'soft.mpc.json'), int8],
  ];
  for (const [name, model, spec, opts] of cases) {
    log(`mpc bench: ${name} ...`);
    // the examples loop at 50 Hz: each tick busy-waits 20 ms of emulated time, so fewer ticks
    rows.push(await speedRow(name, model, spec, typeof spec === 'string' ? 8 : 40, opts));
  }
  for (const plant of ['msd', 'soft'] as const) {
    for (const [preview, quant] of [[true, 'float32'], [false, 'float32'], [true, 'int8']] as const) {
      log(`mpc bench: closed loop on ${plant}, preview ${preview}, ${quant} forward model ...`);
      const r = await simulate({ plant, preview, quant });
      for (const x of r.rows) rows.push({ kind: 'tracking', plant, reference: x.reference, preview, forwardModel: quant, mpcRmse: x.mpcRmse, pidRmse: x.pidRmse });
    }
  }
  return rows;
}

export function formatMpcBench(rows: MpcBenchRow[]): string {
  const speed = rows.filter((r): r is MpcSpeedRow => r.kind === 'speed');
  const track = rows.filter((r): r is MpcTrackingRow => r.kind === 'tracking');
  const t1 = ['| case | forward model | derivatives | horizon | iterations | M4F instr/step (worst) | steps/s @180 MHz (assumed) | flash bytes (% of 1 MB) | stack bytes | device == WASM | WASM steps/s (Node) |', '|---|---|---|---|---|---|---|---|---|---|---|',
    ...speed.map((r) => `| ${r.case} | ${r.forwardModel} | ${r.derivatives} | ${r.horizon} | ${r.iterations} | ${r.m4fInstructionsPerStep} | ${r.m4fStepsPerSecondAt180MHz} | ${r.flashBytes} (${r.flashPercentOf1MB.toFixed(2)} %) | ${r.stackBytes} | ${r.deviceEqualsWasm ? 'bit-identical' : 'DIFFERS'} | ${r.wasmStepsPerSecond} |`)];
  const t2 = ['| plant | reference | reference preview | forward model | RMSE MPC | RMSE PID | MPC / PID |', '|---|---|---|---|---|---|---|',
    ...track.map((r) => `| ${r.plant} | ${r.reference} | ${r.preview ? 'on' : 'off'} | ${r.forwardModel ?? 'float32'} | ${r.mpcRmse.toPrecision(3)} | ${r.pidRmse.toPrecision(3)} | ${(r.mpcRmse / r.pidRmse).toFixed(2)} |`)];
  return [...t1, '', ...t2].join('\n');
}
