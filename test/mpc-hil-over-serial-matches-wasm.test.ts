/**
 * Hardware in the loop over a real pty: the generated C controller runs in the fixed-rate loop of
 * firmware/mpc/mpc_hil.c on QEMU mps2-an386 (-serial pty, opened through the serialport package); the host
 * simulates the plant, sends each measurement + reference as a CRC-checked COBS frame, applies the u the board
 * answers, and compares every u with the WASM controller fed the same measurements: bit for bit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runHil } from '../compiler/mpc/hil.js';
import { loadPlan } from '../compiler/mpc/model.js';
import { ensureSystemTools } from '../compiler/system.js';

const started: number[] = [];
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('mpc hil: board over the serial port == WASM controller', () => {
  ensureSystemTools();

  it('float32 mass-spring-damper: closed loop through QEMU, every u bit-identical, tracks better than PID', async () => {
    const plan = loadPlan('examples/mpc/msd-model', 'examples/mpc/msd.mpc.json');
    const r = await runHil(plan, { plant: 'msd', ticks: 30, onQemu: (pid) => started.push(pid) });
    expect(r.startedQemu).toBe(true);
    expect(r.identical).toBe(30);
    expect(r.maxAbsDiff).toBe(0);
    expect(r.trace.u.some((u) => u !== r.trace.u[0])).toBe(true); // the controller really acts
    expect(r.rmse).toBeLessThan(r.pidRmse);
    expect(r.overruns).toBe(0);
    expect(r.instructionsPerStep.max).toBeGreaterThan(0);
    expect(started.every((pid) => !alive(pid))).toBe(true); // QEMU stopped after the run
  });

  it('int8 forward model (finite differences through the int8 network): every u bit-identical', async () => {
    const plan = loadPlan('examples/mpc/soft-model', 'examples/mpc/soft.mpc.json', { quant: 'int8' });
    expect(plan.int8).toBeDefined();
    const r = await runHil(plan, { plant: 'soft', ticks: 12, onQemu: (pid) => started.push(pid) });
    expect(r.forwardModel).toBe('int8');
    expect(r.identical).toBe(12);
    expect(r.maxAbsDiff).toBe(0);
  });
});
