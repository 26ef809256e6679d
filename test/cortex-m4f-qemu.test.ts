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

/** quantize -> one dense_s8 (n -> m) -> dequantize; `extreme` puts -128/127 weights and a ReLU clamp in. */
function denseProgram(n: number, m: number, seed: number, extreme: boolean): Program {
  const p = randomInt8Program(n, m, 1, seed);
  const d = p.steps[1];
  if (d.op !== 'dense_s8') throw new Error('unexpected program');
  if (extreme) {
    for (let i = 0; i < d.weights.length; i++) d.weights[i] = i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : d.weights[i];
    d.actMin = d.outZeroPoint; d.actMax = 127;
  }
  const out = { ...d.out, length: m };
  d.out = out;
  const dq = p.steps[3];
  dq.in = out;
  dq.out = { ...dq.out, length: m };
  p.steps = [p.steps[0], d, dq];
  p.int8Output = out;
  p.output = { ...p.output, shape: [m] };
  return p;
}

describe('cortex-m4f DSP kernels on awkward shapes (QEMU)', () => {
  // rows not a multiple of 4, columns not a multiple of 8, 1 column, several 496-column chunks
  const shapes: Array<[number, number]> = [[1, 7], [13, 6], [9, 5], [1001, 3], [1030, 2], [500, 9]];
  for (const [n, m] of shapes) {
    it(`dense ${n} -> ${m} is bit-identical (int8 + int16 weights${n === 1001 ? ', TF_NO_ASM' : ''})`, async () => {
      for (const extreme of [false, true]) {
        const p = denseProgram(n, m, n + 7 * m + (extreme ? 1 : 0), extreme);
        const inputs = [...randomInputs(2, n, n + m, 6), new Float32Array(n).fill(-1e9), new Float32Array(n).fill(1e9)];
        checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int8' }));
        checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int16' }));
        if (n === 1001) checkInt8(p, inputs, await runOnQemu(p, inputs, { dspWeights: 'int8', cflags: ['-DTF_NO_ASM'] }));
      }
    });
  }
});
