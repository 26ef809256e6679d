/**
 * Device check: the WASM controller runs a closed loop (a simulated plant, or a seeded random measurement
 * sequence when no plant is given); the recorded measurements and references are compiled into the firmware
 * and replayed by the fixed-rate loop on the emulated Cortex-M4F (QEMU). Same measurements + same controller
 * state machine ⇒ identical controls iff the arithmetic is identical; we compare the bits.
 * Control rate on hardware is estimated from instruction counts at an ASSUMED 180 MHz, 1 instruction/cycle
 * (the Cortex-M4F's FPU ops are mostly single-cycle; loads/stores and divides are not, so this is optimistic).
 */
import { loadController } from '../../runtime/controller.js';
import { emitMpcWasm } from './wasm.js';
import { runMpcOnQemu, type MpcCRun } from './run-c.js';
import { fillReference, runLoop } from './sim/closed-loop.js';
import { makePlant, type PlantName } from './sim/plants.js';
import { makeReference, rng } from './sim/references.js';
import type { MpcPlan } from './spec.js';

export const ASSUMED_CLOCK_HZ = 180e6;
export const FLASH_BYTES = 1 << 20;

export interface DeviceCheck {
  ticks: number;
  identical: number;
  maxAbsDiff: number;
  instructionsPerStep: { min: number; median: number; max: number };
  stepsPerSecondAt180MHz: number;
  controllerFlashBytes: number;
  firmwareFlashBytes: number;
  flashPercentOf1MB: number;
  stackBytes?: number;
  overruns?: number;
  sequence: 'closed-loop' | 'random';
}

/** Measurements/references for the replay, with the WASM controller's outputs for them. */
export async function recordWasmRun(plan: MpcPlan, ticks: number, plant?: PlantName): Promise<{ measurements: Float32Array[]; references: Float32Array[]; u: Float32Array[] }> {
  const ctl = await loadController(await emitMpcWasm(plan));
  const measurements: Float32Array[] = [], references: Float32Array[] = [], u: Float32Array[] = [];
  if (plant) {
    if (plan.p !== 1 || plan.m !== 1 || plan.s !== 0) throw new Error('closed-loop device checks need a 1-control, 1-output spec');
    const pl = makePlant(plant, 1 / plan.rateHz);
    const ref = makeReference('waypoints', ticks, pl.dt, pl.yRange, 21);
    runLoop(pl, {
      reset: () => ctl.reset(),
      step(y, rs, t) {
        const m = Float32Array.of(y), r = new Float32Array(plan.refSize);
        fillReference(plan, rs, t, r);
        const out = ctl.step(m, r);
        measurements.push(m); references.push(r); u.push(out);
        return out[0];
      },
    }, ref);
  } else {
    const r = rng(99);
    for (let t = 0; t < ticks; t++) {
      const m = Float32Array.from({ length: plan.p + plan.s }, () => r() - 0.5);
      const ref = Float32Array.from({ length: plan.refSize }, () => r() - 0.5);
      measurements.push(m); references.push(ref); u.push(ctl.step(m, ref));
    }
  }
  return { measurements, references, u };
}

export function compareRuns(wasm: Float32Array[], dev: Float32Array[]): { identical: number; maxAbsDiff: number } {
  let identical = 0, maxAbsDiff = 0;
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  wasm.forEach((w, t) => {
    const d = dev[t];
    if (bits(w).join() === bits(d).join()) identical++;
    for (let i = 0; i < w.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(w[i] - d[i]));
  });
  return { identical, maxAbsDiff };
}

export async function deviceCheck(plan: MpcPlan, ticks = 100, plant?: PlantName): Promise<DeviceCheck & { run: MpcCRun }> {
  const rec = await recordWasmRun(plan, ticks, plant);
  const run = await runMpcOnQemu(plan, rec);
  const { identical, maxAbsDiff } = compareRuns(rec.u, run.u);
  const ins = [...(run.instructions ?? [])].sort((a, b) => a - b);
  const median = ins[Math.floor(ins.length / 2)];
  return {
    ticks, identical, maxAbsDiff,
    instructionsPerStep: { min: ins[0], median, max: ins[ins.length - 1] },
    stepsPerSecondAt180MHz: ASSUMED_CLOCK_HZ / ins[ins.length - 1],
    controllerFlashBytes: run.controllerFlashBytes!, firmwareFlashBytes: run.firmwareFlashBytes!,
    flashPercentOf1MB: (100 * run.controllerFlashBytes!) / FLASH_BYTES,
    stackBytes: run.stackBytes, overruns: run.overruns,
    sequence: plant ? 'closed-loop' : 'random', run,
  };
}
