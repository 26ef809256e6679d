/**
 * The shared int8 dense path of the Cortex-M4F emission (layers over several input rows with 16-bit
 * multiplier mantissas: tf_q8x2 + tf_rq8x2, and the general C driver for column chunks, activation
 * clamps, n % 4 != 0 and odd m) is bit-identical to the TS oracle on random shapes: on the host (C models
 * of the assembler routines) and on the emulated Cortex-M4F (assembler and -DTF_NO_ASM).
 */
import { describe, expect, it } from 'vitest';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { emitC } from '../compiler/backends/c/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import { planDense8 } from '../compiler/ops/dense/c.js';
import type { BufferRef, DenseS8Step, Program } from '../compiler/plan/program.js';
import { quantizeMultiplier, quantizeMultiplierCompact } from '../compiler/quant/fixedpoint.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { randomInputs, rng } from './helpers/random-program.js';

interface Opts { lut?: boolean; relu?: boolean; z?: number; extreme?: boolean; zp?: number; manyShifts?: boolean; tflite?: boolean; wildLut?: boolean }

/** quantize -> dense_s8 over `rows` rows (n -> m, compact multipliers) -> dequantize. */
function sharedProgram(rows: number, n: number, m: number, seed: number, o: Opts = {}): Program {
  const r = rng(seed);
  const align = (k: number) => (k + 15) & ~15;
  const weights = Int8Array.from({ length: n * m }, (_, i) =>
    (o.extreme ? (i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : 0) : 0) || Math.floor(r() * 255) - 127);
  const z = o.z ?? 0;
  const bias = new Int32Array(m), multiplier = new Int32Array(m), shift = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    let rowsum = 0;
    for (let i = 0; i < n; i++) rowsum += weights[k * n + i];
    bias[k] = z * rowsum + Math.floor(r() * 50000) - 25000; // residual fits int16 only with offset z
    const real = (o.manyShifts ? 0.3 + r() * 2.5 : 0.55 + r() * 0.4) / (n * 60); // > 2 shifts: a byte each
    const q = o.tflite ? quantizeMultiplier(real) : quantizeMultiplierCompact(real); // full 31-bit: the 16-byte table
    multiplier[k] = q.multiplier;
    shift[k] = q.shift;
  }
  const inRef: BufferRef = { space: 'arena', offset: 0, dtype: 'int8', length: rows * n };
  const outRef: BufferRef = { space: 'arena', offset: align(rows * n), dtype: 'int8', length: rows * m };
  const zp = o.zp ?? Math.floor(r() * 60) - 30;
  const d: DenseS8Step = {
    op: 'dense_s8', name: 'dense', in: inRef, out: outRef, rows, inFeatures: n, outFeatures: m, weights, bias, multiplier, shift,
    outZeroPoint: zp, actMin: o.relu ? zp : -128, actMax: 127,
    // smooth tables are stored packed (nibble deltas), wild ones as they are
    lut: o.wildLut ? Int8Array.from({ length: 256 }, () => Math.floor(r() * 256) - 128)
      : o.lut ? Int8Array.from({ length: 256 }, (_, k) => Math.max(-128, Math.min(127, Math.round(127 * Math.tanh((k - 128) / 50))))) : null,
  };
  return {
    format: 'tinyforge-program/1', name: `shared_${rows}_${n}_${m}`, quant: 'int8',
    input: { name: 'input', shape: [rows, n], dtype: 'float32', quant: { scale: 0.05, zeroPoint: 3 } },
    output: { name: 'output', shape: [rows, m], dtype: 'float32', quant: { scale: 1 / 64, zeroPoint: zp } },
    arenaBytes: align(rows * n) + align(rows * m),
    steps: [
      { op: 'quantize', name: 'q', in: { space: 'input', offset: 0, dtype: 'float32', length: rows * n }, out: inRef, scale: 0.05, zeroPoint: 3 },
      d,
      { op: 'dequantize', name: 'dq', in: outRef, out: { space: 'output', offset: 0, dtype: 'float32', length: rows * m }, scale: 1 / 64, zeroPoint: zp },
    ],
    int8Input: inRef,
    int8Output: outRef,
  };
}

// [rows, n, m, options]: fast path (even m, n % 4 == 0, one chunk, full range) and the general C driver
const CASES: Array<[number, number, number, Opts]> = [
  [2, 8, 8, {}], [3, 16, 12, { lut: true, z: 50 }], [8, 60, 36, { z: -40, manyShifts: true }], [5, 4, 2, { lut: true }],
  [4, 192, 20, { z: 100, extreme: true }], [1, 520, 130, { lut: true, manyShifts: true }], [7, 24, 6, { zp: 127 }],
  [3, 13, 7, { relu: true }], [2, 1001, 10, { extreme: true }], [3, 18, 9, { lut: true, z: -70 }], [4, 36, 6, { relu: true, lut: true, manyShifts: true }],
  [2, 16, 8, { wildLut: true }], [3, 20, 6, { wildLut: true, relu: true }], [1, 600, 120, { tflite: true }], [9, 8, 16, { tflite: true, z: 300 }], [6, 32, 12, { tflite: true, lut: true, manyShifts: true }], [3, 20, 5, { tflite: true, relu: true }],
];

function inputsFor(p: Program, seed: number): Float32Array[] {
  const len = p.input.shape[0] * p.input.shape[1];
  return [...randomInputs(2, len, seed, 8), new Float32Array(len).fill(-1e9), new Float32Array(len).fill(1e9)];
}

describe('shared int8 dense kernels: C == TS oracle on random shapes', () => {
  it('every case takes the shared path (fast or general driver) as intended', () => {
    for (const [rows, n, m, o] of CASES) {
      const p = sharedProgram(rows, n, m, rows * 1000 + n + m, o);
      const plan = planDense8(p.steps[1] as DenseS8Step);
      expect(plan).not.toBeNull();
      expect(plan!.full).toBe(!!o.tflite);
      const src = emitC(p, { target: 'cortex-m4f', dspWeights: 'int8' })['model.c'];
      const fast = n % 4 === 0 && m % 2 === 0 && !o.relu && plan!.cb >= Math.ceil(n / 8);
      // one row without an input offset: the quad kernel (tf_dense8s)
      expect(src).toContain(!fast ? 'tf_dense8x(&' : rows === 1 && plan!.z === 0 ? 'tf_dense8s(&' : 'tf_dense8(&');
    }
  });

  it('on the host (C models of the routines, and portable C)', async () => {
    for (const [rows, n, m, o] of CASES) {
      const p = sharedProgram(rows, n, m, rows * 1000 + n + m, o);
      const inputs = inputsFor(p, n + m);
      for (const target of ['cortex-m4f', 'c'] as const) {
        const r = await runOnCHost(p, inputs, { target, dspWeights: 'int8' });
        inputs.forEach((x, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(executeProgram(p, x).outputQ!)));
      }
    }
  });

  it('on the emulated Cortex-M4F (assembler and -DTF_NO_ASM)', async () => {
    for (const [rows, n, m, o] of CASES) {
      const p = sharedProgram(rows, n, m, rows * 1000 + n + m, o);
      const inputs = inputsFor(p, n + m);
      for (const cflags of [[], ['-DTF_NO_ASM']]) {
        const r = await runOnQemu(p, inputs, { dspWeights: 'int8', cflags });
        inputs.forEach((x, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(executeProgram(p, x).outputQ!)));
      }
    }
  }, 300_000);
});
