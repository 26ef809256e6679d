/**
 * The generated C controller computes the same bits as the WASM controller: on the host (gcc) and in the
 * fixed-rate firmware loop on the emulated Cortex-M4F (QEMU mps2-an386), replaying measurement/reference
 * sequences recorded from the WASM controller (random, and a closed loop on the mass-spring-damper).
 * The paper-size forward model (26 -> 3) meets the budget: >= 2000 steps/s from instruction counts at an
 * assumed 180 MHz with 1 Newton iteration, and <= 2 % of 1 MB of flash.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadPlan } from '../compiler/mpc/model.js';
import { compareRuns, deviceCheck, recordWasmRun } from '../compiler/mpc/device.js';
import { runMpcOnHost } from '../compiler/mpc/run-c.js';
import type { MpcSpec } from '../compiler/mpc/spec.js';
import { ensureSystemTools } from '../compiler/system.js';

const spec26 = JSON.parse(readFileSync('examples/mpc/forward-model.mpc.json', 'utf8')) as MpcSpec;

describe('C controller == WASM controller, bit for bit', () => {
  ensureSystemTools();

  it('host gcc build, exact and finite-difference derivatives, preview', async () => {
    for (const spec of [spec26, { ...spec26, derivatives: 'finite-difference' as const, horizon: { N1: 1, N2: 3, Nu: 2 }, reference_preview: true }]) {
      const plan = loadPlan('examples/forward-model', spec);
      const rec = await recordWasmRun(plan, 30);
      const host = await runMpcOnHost(plan, rec);
      expect(compareRuns(rec.u, host.u)).toEqual({ identical: 30, maxAbsDiff: 0 });
    }
  });

  it('QEMU Cortex-M4F, 26 -> 3 forward model: identical, >= 2 kHz at 180 MHz (instruction counts), <= 2 % flash', async () => {
    const d = await deviceCheck(loadPlan('examples/forward-model', spec26), 40);
    expect(d.identical).toBe(40);
    expect(d.overruns).toBe(0);
    expect(d.stepsPerSecondAt180MHz).toBeGreaterThanOrEqual(2000);
    expect(d.flashPercentOf1MB).toBeLessThanOrEqual(2);
  });

  it('QEMU Cortex-M4F replaying a closed loop on the mass-spring-damper (preview, barrier, 2 iterations)', async () => {
    // 50 Hz loop: each tick busy-waits 20 ms of emulated time, so few ticks keep the test short
    const d = await deviceCheck(loadPlan('examples/mpc/msd-model', 'examples/mpc/msd.mpc.json'), 16, 'msd');
    expect(d.sequence).toBe('closed-loop');
    expect(d.identical).toBe(16);
    expect(d.maxAbsDiff).toBe(0);
  });
});
