/**
 * The proof of issue 2: three dense models (26 -> 3 forward model, a > 100k-parameter model, one with
 * every activation) compiled from checkpoint folders. int8 outputs are bit-identical across the TS
 * oracle, C on the host (portable and DSP emission), C on the emulated Cortex-M4F and WASM in Node;
 * float outputs are within 1e-5 of the reference interpreter on every target.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { buildProgram } from '../compiler/compile.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReference } from '../compiler/ir/reference.js';
import { readSamples } from '../compiler/io/samples.js';
import { parameterCount } from '../compiler/ir/graph.js';
import { runWasm } from '../compiler/run.js';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

const root = mkdtempSync(join(tmpdir(), 'tf-cross-'));

function maxRelErr(a: Float32Array, ref: Float32Array): number {
  let m = 0;
  ref.forEach((v, i) => { m = Math.max(m, Math.abs(a[i] - v) / Math.max(1, Math.abs(v))); });
  return m;
}

describe.each(Object.entries(PROOF_MODELS))('%s', (name, spec) => {
  const model = writeMlp(join(root, name), spec);
  const calib = writeCalib(join(root, `${name}.calib.safetensors`), 64, spec.inputSize);
  const g = importCheckpoint(model);
  const samples = readSamples(calib, 'input', [spec.inputSize]);
  const inputs = samples.slice(0, 6);
  // include inputs outside the calibration range to exercise saturation
  inputs.push(Float32Array.from({ length: spec.inputSize }, (_, i) => (i % 2 ? 40 : -40)));

  it('has the size the proof needs', () => {
    if (name === 'wide115k') expect(parameterCount(g)).toBeGreaterThan(100_000);
    if (name === 'forward26') expect([spec.inputSize, spec.layers.at(-1)!.units]).toEqual([26, 3]);
  });

  it('int8: WASM, C host (portable + DSP emission) and QEMU Cortex-M4F are bit-identical to the oracle', async () => {
    const { program } = buildProgram(g, 'int8', samples);
    const oracle = inputs.map((x) => executeProgram(program, x).outputQ!);
    const wasm = await runWasm(program, inputs);
    const hostC = await runOnCHost(program, inputs, { target: 'c' });
    const hostDsp = await runOnCHost(program, inputs, { target: 'cortex-m4f' });
    const board = await runOnQemu(program, inputs);
    for (const [target, r] of Object.entries({ wasm, hostC, hostDsp, board })) {
      inputs.forEach((_, i) => expect(Array.from(r.outputsQ![i]), `${target} sample ${i}`).toEqual(Array.from(oracle[i])));
    }
    inputs.forEach((x, i) => expect(Array.from(board.outputs[i])).toEqual(Array.from(executeProgram(program, x).output)));
    expect(board.instructions.every((n) => n > 0)).toBe(true);
  });

  it('float32: every target is within 1e-5 of the reference interpreter', async () => {
    const { program } = buildProgram(g, 'float32', samples);
    const refs = inputs.map((x) => runReference(g, x));
    const results = {
      wasm: await runWasm(program, inputs),
      hostC: await runOnCHost(program, inputs, { target: 'c' }),
      board: await runOnQemu(program, inputs),
    };
    for (const [target, r] of Object.entries(results)) {
      inputs.forEach((_, i) => expect(maxRelErr(r.outputs[i], refs[i]), `${target} sample ${i}`).toBeLessThanOrEqual(1e-5));
    }
  });
});
