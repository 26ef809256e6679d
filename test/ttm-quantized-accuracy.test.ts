/**
 * TinyTimeMixer int8 (and int4-weight) programs, calibrated on the fixture inputs, forecast the true
 * future almost as well as the float model: MSE ratio ≤ 1.02 (int8) and ≤ 1.10 (int4), in the integer oracle.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { lowerInt8 } from '../compiler/plan/lower.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReference } from '../compiler/ir/reference.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';

describe.each(['ttm-mini', 'ttm-r1-512-96'])('%s', (name) => {
  const dir = join(import.meta.dirname, 'fixtures', name);
  const g = importCheckpoint(dir);
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
  const future = toFloat32(io.tensors.get('future_values')!, 'future_values', 'io');
  const [L, C] = g.inputs[0].shape;
  const per = g.outputs[0].shape[0] * g.outputs[0].shape[1];
  const samples = Array.from({ length: 8 }, (_, b) => x.slice(b * L * C, (b + 1) * L * C));
  const calib = calibrate(g, samples, { method: 'minmax', percentile: 99.99 });
  const mse = (run: (s: Float32Array) => Float32Array) => {
    let e = 0;
    samples.forEach((s, b) => { const y = run(s); for (let i = 0; i < per; i++) e += (y[i] - future[b * per + i]) ** 2; });
    return e / (8 * per);
  };
  const floatMse = mse((s) => runReference(g, s));

  it.each([[8, 1.02], [4, 1.1]] as const)('int%i weights: forecast MSE within %f x the float model', (bits, limit) => {
    const program = lowerInt8(g, calib, bits);
    expect(program.steps.some((s) => s.op === (bits === 8 ? 'dense_s8' : 'dense_s4'))).toBe(true);
    expect(mse((s) => executeProgram(program, s).output) / floatMse).toBeLessThanOrEqual(limit);
  });
});
