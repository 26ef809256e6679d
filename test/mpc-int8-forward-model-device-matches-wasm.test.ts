/**
 * int8 forward models: compiled int8 (calibrated on the model's training data or on --calib), evaluated exactly
 * as the model's own code (C: its tf_model_run; WASM: its kernel calls; TS: the integer oracle), derivatives by
 * central finite differences through the int8 network. The C controller on the host and on the emulated
 * Cortex-M4F computes the same bits as the WASM controller.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadPlan } from '../compiler/mpc/model.js';
import { compareRuns, deviceCheck, recordWasmRun } from '../compiler/mpc/device.js';
import { runMpcOnHost } from '../compiler/mpc/run-c.js';
import { MpcReference } from '../compiler/mpc/solver.js';
import type { MpcSpec } from '../compiler/mpc/spec.js';
import { ensureSystemTools } from '../compiler/system.js';

const spec26 = JSON.parse(readFileSync('examples/mpc/forward-model.mpc.json', 'utf8')) as MpcSpec;
const calib = 'examples/forward-model/calib.safetensors';

describe('int8 forward models', () => {
  ensureSystemTools();

  it('asks for exact derivatives -> falls back to finite differences with a note; needs calibration data', () => {
    const plan = loadPlan('examples/forward-model', spec26, { quant: 'int8', calib });
    expect(plan.mode).toBe('finite-difference');
    expect(plan.notes.join(' ')).toMatch(/exact.*does not exist for a quantized network/);
    expect(plan.int8!.quant).toBe('int8');
    expect(() => loadPlan('examples/forward-model', spec26, { quant: 'int8' })).toThrow(/needs calibration data; pass --calib/);
    // the bundled plant models calibrate on their training data (training.json)
    expect(loadPlan('examples/mpc/msd-model', 'examples/mpc/msd.mpc.json', { quant: 'int8' }).int8).toBeDefined();
  });

  it('TS integer oracle == WASM == host C, bit for bit (26 -> 3 random sequence, msd closed loop)', async () => {
    for (const [model, spec, plant] of [
      ['examples/forward-model', { ...spec26, derivatives: 'finite-difference' as const, horizon: { N1: 1, N2: 3, Nu: 2 } }, undefined],
      ['examples/mpc/msd-model', 'examples/mpc/msd.mpc.json', 'msd' as const],
    ] as const) {
      const plan = loadPlan(model, spec, { quant: 'int8', ...(model === 'examples/forward-model' ? { calib } : {}) });
      const rec = await recordWasmRun(plan, 25, plant);
      const host = await runMpcOnHost(plan, rec);
      expect(compareRuns(rec.u, host.u)).toEqual({ identical: 25, maxAbsDiff: 0 });
      const ref = new MpcReference(plan);
      const ts = rec.measurements.map((m, t) => { const u = new Float32Array(plan.m); ref.step(m, rec.references[t], u); return u; });
      expect(compareRuns(rec.u, ts)).toEqual({ identical: 25, maxAbsDiff: 0 });
    }
  });

  it('QEMU Cortex-M4F == WASM for the int8 26 -> 3 model; faster and smaller than float32 with finite differences', async () => {
    const fd = { ...spec26, derivatives: 'finite-difference' as const };
    const q = await deviceCheck(loadPlan('examples/forward-model', fd, { quant: 'int8', calib }), 30);
    expect(q.identical).toBe(30);
    expect(q.maxAbsDiff).toBe(0);
    const f = await deviceCheck(loadPlan('examples/forward-model', fd), 10);
    expect(q.instructionsPerStep.max).toBeLessThan(f.instructionsPerStep.max);
    expect(q.controllerFlashBytes).toBeLessThan(f.controllerFlashBytes);
  });
});
