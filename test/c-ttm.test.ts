/**
 * TinyTimeMixer through the C backend: float programs on the host match the checkpoint's recorded
 * forecasts, int8 and int4 programs are bit-identical to the TS oracle on the host (portable and
 * Cortex-M4F DSP emission) and on the emulated Cortex-M4F (QEMU mps2-an386).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitC } from '../compiler/backends/c/index.js';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { executeProgram } from '../compiler/exec/program.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { lowerFloat, lowerInt8 } from '../compiler/plan/lower.js';
import type { Program } from '../compiler/plan/program.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { packInt4 } from '../compiler/ops/dense/quantize.js';
import { randomInputs, randomInt8Program } from './helpers/random-program.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';


function fixture(name: string) {
  const dir = join(import.meta.dirname, 'fixtures', name);
  const g = importCheckpoint(dir);
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
  const pred = toFloat32(io.tensors.get('prediction_outputs')!, 'prediction_outputs', 'io');
  const [L, C] = g.inputs[0].shape;
  const per = g.outputs[0].shape[0] * g.outputs[0].shape[1];
  const samples = Array.from({ length: 8 }, (_, b) => x.slice(b * L * C, (b + 1) * L * C));
  const expected = samples.map((_, b) => pred.slice(b * per, (b + 1) * per));
  const calib = calibrate(g, samples, { method: 'minmax', percentile: 99.99 });
  return { g, samples, expected, calib };
}

/** Float outputs compared as bit patterns. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function expectBitIdentical(p: Program, inputs: Float32Array[], outputs: Float32Array[]) {
  expect(outputs.length).toBe(inputs.length);
  inputs.forEach((x, s) => expect(bits(outputs[s])).toEqual(bits(executeProgram(p, x).output)));
}

/** A random int8 MLP with every dense layer turned into dense_s4 (weights squeezed into [-8, 7]). */
function int4Program(a: number, b: number, c: number, seed: number, extreme: boolean): Program {
  const p = randomInt8Program(a, b, c, seed);
  p.steps = p.steps.map((s) => {
    if (s.op !== 'dense_s8') return s;
    const q = Int8Array.from(s.weights, (w, i) => (extreme ? (i % 3 === 0 ? -8 : i % 3 === 1 ? 7 : w >> 4) : w >> 4));
    return { ...s, op: 'dense_s4' as const, weights: packInt4(q, s.outFeatures, s.inFeatures) };
  });
  return p;
}

describe('dense_s4 on awkward shapes: host C (portable + DSP int4 kernel model) is bit-identical', () => {
  for (const [a, b, c] of [[13, 6, 3], [9, 5, 1], [1001, 3, 7], [1, 7, 2], [500, 9, 4]] as [number, number, number][]) {
    it(`${a}->${b}->${c}`, async () => {
      for (const extreme of [false, true]) {
        const p = int4Program(a, b, c, a * 3 + b, extreme);
        const inputs = [...randomInputs(3, a, a + c, 6), new Float32Array(a).fill(-1e9), new Float32Array(a).fill(1e9)];
        for (const target of ['c', 'cortex-m4f'] as const) {
          const r = await runOnCHost(p, inputs, { target });
          inputs.forEach((x, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(executeProgram(p, x).outputQ!)));
        }
      }
    });
  }
});

describe.each(['ttm-mini', 'ttm-r1-512-96'])('%s through the C backend', (name) => {
  const f = fixture(name);
  const programs = { int8: lowerInt8(f.g, f.calib, 8), int4: lowerInt8(f.g, f.calib, 4) };

  it('float program on the host: within 1e-4 of the recorded forecasts', async () => {
    const p = lowerFloat(f.g);
    const r = await runOnCHost(p, f.samples, { target: 'c' });
    let maxErr = 0, maxRef = 0;
    f.expected.forEach((want, s) => {
      for (let i = 0; i < want.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(r.outputs[s][i] - want[i]));
        maxRef = Math.max(maxRef, Math.abs(want[i]));
      }
    });
    expect(maxErr / maxRef).toBeLessThanOrEqual(1e-4);
  });

  it('int8 and int4 programs on the host: bit-identical to the TS oracle (portable and DSP emission)', async () => {
    expect(programs.int4.steps.some((s) => s.op === 'dense_s4')).toBe(true);
    const runs = await Promise.all(Object.values(programs).flatMap((p) =>
      (['c', 'cortex-m4f'] as const).map(async (target) => ({ p, r: await runOnCHost(p, f.samples, { target }) }))));
    for (const { p, r } of runs) {
      expect(r.outputsQ).toBeUndefined(); // ends in unscale_series_f32: no int8 API
      expectBitIdentical(p, f.samples, r.outputs);
    }
  });

  it('programs without a trailing dequantize get tf_model_run only', () => {
    const src = emitC(programs.int8, { target: 'cortex-m4f' });
    expect(src['model.h']).toContain('#define TF_MODEL_INT8 0');
    expect(src['model.h']).not.toContain('tf_model_run_int8');
  });
});

describe('TinyTimeMixer on the emulated Cortex-M4F (QEMU mps2-an386)', () => {
  const mini = fixture('ttm-mini');

  it.each([8, 4] as const)('ttm-mini int%i: bit-identical, within 256 KB flash / 32 KB RAM', async (bitsW) => {
    const p = lowerInt8(mini.g, mini.calib, bitsW);
    const inputs = mini.samples.slice(0, 2);
    const r = await runOnQemu(p, inputs);
    expectBitIdentical(p, inputs, r.outputs);
    expect(r.flashBytes).toBeLessThanOrEqual(256 * 1024);
    expect(r.ramBytes).toBeLessThanOrEqual(32 * 1024);
    console.log(`ttm-mini int${bitsW}: ${r.instructions[0]} instructions, flash ${r.flashBytes} (model ${r.modelFlashBytes}), RAM ${r.ramBytes} (arena ${r.arenaBytes} + stack ${r.stackBytes})`);
  });

  it('dense_s4 asm kernel on awkward shapes (padding, 3 column chunks)', async () => {
    for (const [a, b, c] of [[1001, 3, 7], [13, 6, 3]] as [number, number, number][]) {
      const p = int4Program(a, b, c, a + 5, true);
      const inputs = randomInputs(2, a, a, 6);
      const r = await runOnQemu(p, inputs);
      inputs.forEach((x, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(executeProgram(p, x).outputQ!)));
    }
  });

  it('ttm-r1-512-96 int8: bit-identical on one sample, flash within 850,000 B, RAM within 64 KB', async () => {
    const r1 = fixture('ttm-r1-512-96');
    const p = lowerInt8(r1.g, r1.calib, 8);
    const inputs = r1.samples.slice(0, 1);
    const r = await runOnQemu(p, inputs, { timeoutMs: 120_000 });
    expectBitIdentical(p, inputs, r.outputs);
    // whole image (.text + .rodata + .data, harness and test vectors included) with int8 weights
    expect(r.flashBytes).toBeLessThanOrEqual(850_000);
    expect(r.ramBytes).toBeLessThanOrEqual(65_536);
    console.log(`ttm-r1-512-96 int8: ${r.instructions[0]} instructions (${(r.instructions[0] / 7_806_976).toFixed(3)} per MAC), flash ${r.flashBytes} (model ${r.modelFlashBytes}), RAM ${r.ramBytes} (arena ${r.arenaBytes} + stack ${r.stackBytes})`);
  });
});
