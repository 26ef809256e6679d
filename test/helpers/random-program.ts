/**
 * Hand-built Programs for backend tests that must not depend on the frontend/quantizer:
 * quantize -> dense_s8 (relu) -> dense_s8 (tanh via LUT) -> dequantize, and a float equivalent.
 */
import type { BufferRef, DenseF32Step, DenseS8Step, Program } from '../../compiler/plan/program.js';
import { quantizeMultiplier } from '../../compiler/quant/fixedpoint.js';

export { xorshift as rng } from '../../bench/models.js';
import { xorshift as rng } from '../../bench/models.js';

const arena = (offset: number, dtype: BufferRef['dtype'], length: number): BufferRef => ({ space: 'arena', offset, dtype, length });
const align = (n: number) => (n + 15) & ~15;

export function randomInt8Program(inF: number, hidden: number, outF: number, seed = 1): Program {
  const r = rng(seed);
  const i8 = (n: number) => Int8Array.from({ length: n }, () => Math.floor(r() * 255) - 127);
  const mkDense = (name: string, n: number, m: number, input: BufferRef, output: BufferRef, tanh: boolean): DenseS8Step => {
    const multiplier = new Int32Array(m), shift = new Int32Array(m);
    for (let o = 0; o < m; o++) { const q = quantizeMultiplier((0.5 + r()) / (n * 40)); multiplier[o] = q.multiplier; shift[o] = q.shift; }
    return {
      op: 'dense_s8', name, in: input, out: output, inFeatures: n, outFeatures: m,
      weights: i8(n * m), bias: Int32Array.from({ length: m }, () => Math.floor(r() * 20000) - 10000),
      multiplier, shift, outZeroPoint: tanh ? 3 : -128, actMin: -128, actMax: 127,
      lut: tanh ? Int8Array.from({ length: 256 }, (_, k) => Math.max(-128, Math.min(127, Math.round(127 * Math.tanh((k - 128) / 40))))) : null,
    };
  };
  const aIn = arena(0, 'int8', inF);
  const aH = arena(align(inF), 'int8', hidden);
  const aOut = arena(0, 'int8', outF);
  return {
    format: 'tinyforge-program/1', name: `rand_${inF}_${hidden}_${outF}`, quant: 'int8',
    input: { name: 'input', shape: [inF], dtype: 'float32', quant: { scale: 0.03125, zeroPoint: -5 } },
    output: { name: 'output', shape: [outF], dtype: 'float32', quant: { scale: 1 / 127, zeroPoint: 3 } },
    arenaBytes: align(inF) + align(hidden),
    steps: [
      { op: 'quantize', name: 'quantize_input', in: { space: 'input', offset: 0, dtype: 'float32', length: inF }, out: aIn, scale: 0.03125, zeroPoint: -5 },
      mkDense('dense_0', inF, hidden, aIn, aH, false),
      mkDense('dense_1', hidden, outF, aH, aOut, true),
      { op: 'dequantize', name: 'dequantize_output', in: aOut, out: { space: 'output', offset: 0, dtype: 'float32', length: outF }, scale: 1 / 127, zeroPoint: 3 },
    ],
    int8Input: aIn,
    int8Output: aOut,
  };
}

export function randomFloatProgram(inF: number, hidden: number, outF: number, seed = 2): Program {
  const r = rng(seed);
  const f = (n: number, s: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * s);
  const h = arena(0, 'float32', hidden);
  const d0: DenseF32Step = { op: 'dense_f32', name: 'dense_0', in: { space: 'input', offset: 0, dtype: 'float32', length: inF }, out: h, inFeatures: inF, outFeatures: hidden, weights: f(inF * hidden, 1 / Math.sqrt(inF)), bias: f(hidden, 0.1), activation: 'gelu' };
  const d1: DenseF32Step = { op: 'dense_f32', name: 'dense_1', in: h, out: { space: 'output', offset: 0, dtype: 'float32', length: outF }, inFeatures: hidden, outFeatures: outF, weights: f(hidden * outF, 1 / Math.sqrt(hidden)), bias: f(outF, 0.1), activation: 'sigmoid' };
  return {
    format: 'tinyforge-program/1', name: `randf_${inF}_${hidden}_${outF}`, quant: 'float32',
    input: { name: 'input', shape: [inF], dtype: 'float32' },
    output: { name: 'output', shape: [outF], dtype: 'float32' },
    arenaBytes: align(hidden * 4),
    steps: [d0, d1],
  };
}

export function randomInputs(n: number, features: number, seed = 3, scale = 2): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: features }, () => (r() * 2 - 1) * scale));
}
