import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiplyByQuantizedMultiplier, quantizeMultiplier, quantizeValue, roundingDivideByPOT, saturatingRoundingDoublingHighMul } from '../compiler/quant/fixedpoint.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { buildProgram } from '../compiler/compile.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReference } from '../compiler/ir/reference.js';
import { readSamples } from '../compiler/io/samples.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

describe('fixed-point requantization matches TFLite rounding', () => {
  it('splits real multipliers into Q31 mantissa and shift', () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 1073741824, shift: 0 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 1073741824, shift: -1 });
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 1610612736, shift: 2 });
    for (const r of [1e-5, 0.0123, 0.7, 1.9]) {
      const { multiplier, shift } = quantizeMultiplier(r);
      expect(multiplier / 2 ** 31 * 2 ** shift).toBeCloseTo(r, 8);
    }
  });
  it('rounds half away from zero in the doubling high multiply and the power-of-two divide', () => {
    expect(saturatingRoundingDoublingHighMul(-2147483648, -2147483648)).toBe(2147483647);
    expect(saturatingRoundingDoublingHighMul(1 << 30, 1 << 30)).toBe(1 << 29);
    expect(roundingDivideByPOT(5, 1)).toBe(3);
    expect(roundingDivideByPOT(-5, 1)).toBe(-3);
    expect(roundingDivideByPOT(-4, 1)).toBe(-2);
    expect(roundingDivideByPOT(7, 2)).toBe(2);
  });
  it('multiplies by a quantized multiplier within one unit of the real product', () => {
    for (const [x, r] of [[1000, 0.3], [-12345, 0.0071], [77, 1.7], [-1, 0.5]] as const) {
      const { multiplier, shift } = quantizeMultiplier(r);
      expect(Math.abs(multiplyByQuantizedMultiplier(x, multiplier, shift) - x * r)).toBeLessThanOrEqual(1);
    }
  });
  it('quantizes floats with saturation and NaN to the zero point', () => {
    expect(quantizeValue(0.5, 0.25, 0)).toBe(2);
    expect(quantizeValue(-0.375, 0.25, 0)).toBe(-2);
    expect(quantizeValue(1e9, 0.1, 0)).toBe(127);
    expect(quantizeValue(-1e9, 0.1, 3)).toBe(-128);
    expect(quantizeValue(NaN, 0.1, 5)).toBe(5);
  });
});

describe('int8 programs track the float reference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-quant-'));
  for (const [name, spec] of Object.entries(PROOF_MODELS)) {
    it(`${name}: int8 output error is small relative to the output range`, () => {
      const model = writeMlp(join(dir, name), spec);
      const calib = writeCalib(join(dir, `${name}-calib.safetensors`), 64, spec.inputSize);
      const g = importCheckpoint(model);
      const samples = readSamples(calib, 'input', [spec.inputSize]);
      for (const method of ['minmax', 'percentile'] as const) {
        const { program, layers } = buildProgram(g, 'int8', samples, { calibMethod: method, percentile: 99.9 });
        expect(layers!.length).toBe(spec.layers.length);
        let se = 0, ss = 0;
        for (const x of samples) {
          const ref = runReference(g, x), got = executeProgram(program, x).output;
          ref.forEach((v, i) => { se += (v - got[i]) ** 2; ss += v * v; });
        }
        // int8 keeps the signal-to-noise ratio above 20 dB end to end on random weights
        expect(10 * Math.log10(ss / se)).toBeGreaterThan(20);
      }
    });
  }
  it('float32 programs equal the reference interpreter exactly', () => {
    const model = writeMlp(join(dir, 'f'), PROOF_MODELS.mixed);
    const g = importCheckpoint(model);
    const { program } = buildProgram(g, 'float32', []);
    const x = Float32Array.from({ length: 13 }, (_, i) => Math.sin(i));
    expect(Array.from(executeProgram(program, x).output)).toEqual(Array.from(runReference(g, x)));
  });
});
