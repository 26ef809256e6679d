/** Generated C on the emulated Cortex-M4F (QEMU mps2-an386): bit-exact int8, close float, counted instructions. */
import { describe, expect, it } from 'vitest';
import { executeProgram } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { runOnQemu, type QemuRunResult } from '../targets/boards/mps2-an386/run.js';
import { randomFloatProgram, randomInputs, randomInt8Program } from './helpers/random-program.js';

function checkInt8(p: Program, inputs: Float32Array[], r: QemuRunResult) {
  inputs.forEach((x, s) => {
    const want = executeProgram(p, x);
    expect(Array.from(r.outputsQ![s])).toEqual(Array.from(want.outputQ!));
    expect(Array.from(r.outputs[s])).toEqual(Array.from(want.output)); // dequantize is exact
  });
  expect(r.instructions.length).toBe(inputs.length);
  expect(r.instructions.every((n) => n > 0)).toBe(true);
  expect(r.instructionsInt8!.every((n) => n > 0)).toBe(true);
  expect(r.flashBytes).toBeGreaterThan(r.modelFlashBytes);
  expect(r.stackBytes).toBeGreaterThan(0);
  expect(r.ramBytes).toBe(r.arenaBytes + r.stackBytes);
}

describe('cortex-m4f on QEMU mps2-an386', () => {
  const shapes: [number, number, number][] = [[26, 64, 3], [7, 5, 1], [300, 200, 17], [33, 10, 9]];
  for (const [a, b, c] of shapes) {
    it(`int8 ${a}->${b}->${c} is bit-identical to the TS oracle (DSP int8 + int16 weights, portable)`, async () => {
      const p = randomInt8Program(a, b, c, 100 + a);
      const inputs = randomInputs(3, a, 7 + c);
      checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int8' }));
      checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int16' }));
      if (a === 26) {
        checkInt8(p, inputs, await runOnQemu(p, inputs, { emit: 'c' }));
        checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int8', cflags: ['-DTF_NO_ASM'] }));
      }
    });
  }

  it('float program within 1e-5 of the oracle', async () => {
    const p = randomFloatProgram(26, 64, 3, 4);
    const inputs = randomInputs(3, 26, 8);
    const r = await runOnQemu(p, inputs);
    expect(r.outputsQ).toBeUndefined();
    inputs.forEach((x, s) => {
      const want = executeProgram(p, x).output;
      for (let i = 0; i < want.length; i++) expect(Math.abs(r.outputs[s][i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
    });
    expect(r.instructions.every((n) => n > 0)).toBe(true);
  });

  it('DSP path is faster than the portable loops', async () => {
    const p = randomInt8Program(128, 128, 8, 5);
    const inputs = randomInputs(1, 128, 1);
    const dsp = await runOnQemu(p, inputs);
    const portable = await runOnQemu(p, inputs, { emit: 'c' });
    expect(dsp.instructionsInt8![0] * 3).toBeLessThan(portable.instructionsInt8![0]);
  });
});
