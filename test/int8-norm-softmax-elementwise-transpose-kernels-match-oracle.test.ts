/**
 * The int8 layer norm, softmax, add, mul and transpose kernels of the C emission (assembler on the
 * Cortex-M4F: VLDM'd layer-norm output pass, softmax sum/output passes, table-driven ADD, SIMD MUL, 4x4
 * byte-block transposes; C elsewhere, including rows whose length is not a multiple of 4) are
 * bit-identical to the TS oracle on random shapes, on the host and on the emulated Cortex-M4F.
 */
import { describe, expect, it } from 'vitest';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { AddS8Step, BufferRef, LayerNormS8Step, MulS8Step, Program, SoftmaxS8Step, Step, TransposeStep } from '../compiler/plan/program.js';
import { quantizeMultiplier } from '../compiler/quant/fixedpoint.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { randomInputs, rng } from './helpers/random-program.js';

const f32 = Math.fround;

/**
 * quantize -> layer norm [R, C] -> transpose to [C, R] -> softmax over R -> mul (softmax * transposed norm)
 * -> add (+ a period-`period` slice of the quantized input) -> dequantize.
 */
function chain(R: number, C: number, seed: number, opts: { period: number; unitAdd: boolean; wildNorm: boolean }): Program {
  const r = rng(seed);
  const L = R * C;
  const align = (k: number) => (k + 15) & ~15;
  let off = 0;
  const buf = (len: number): BufferRef => { const b: BufferRef = { space: 'arena', offset: off, dtype: 'int8', length: len }; off += align(len); return b; };
  const X = buf(L), N = buf(L), T = buf(L), S = buf(L), M = buf(L), A = buf(L);
  const zp = () => Math.floor(r() * 200) - 100;
  const inZp = zp();
  const gain = Float32Array.from({ length: C }, () => f32((opts.wildNorm ? 400 : 40) * (r() - 0.3)));
  const offset = Float32Array.from({ length: C }, () => f32(r() * 60 - 30));
  const ln: LayerNormS8Step = {
    op: 'layer_norm_s8', name: 'ln', in: X, out: N, rows: R, features: C, inZeroPoint: inZp,
    inScale: f32(0.02 + r() * 0.05), inScaleSq: 0, eps: f32(1e-5), gain, offset,
  };
  ln.inScaleSq = f32(ln.inScale * ln.inScale);
  const tr: TransposeStep = { op: 'transpose', name: 'tr', in: N, out: T, shape: [R, C], perm: [1, 0] };
  const sm: SoftmaxS8Step = { op: 'softmax_s8', name: 'sm', in: T, out: S, rows: C, features: R, base: f32(Math.exp(-(0.05 + r() * 0.2))) };
  const mq = quantizeMultiplier((1 / 256) * (0.5 + r()));
  const mul: MulS8Step = {
    op: 'mul_s8', name: 'mul', in: T, out: M, aux: [S], length: L, period: L,
    aZeroPoint: zp(), bZeroPoint: -128, multiplier: mq.multiplier, shift: mq.shift, outZeroPoint: zp(),
  };
  const qa = quantizeMultiplier(0.3 + r() * 0.2), qo = quantizeMultiplier((0.5 + r()) / 2 ** 20);
  const aux: BufferRef = { ...X, length: opts.period };
  const add: AddS8Step = {
    op: 'add_s8', name: 'add', in: M, out: A, aux: [aux], length: L, period: opts.period,
    aZeroPoint: zp(), aMultiplier: qa.multiplier, aShift: qa.shift,
    bZeroPoint: inZp, bMultiplier: opts.unitAdd ? 2 ** 30 : quantizeMultiplier(0.45).multiplier, bShift: opts.unitAdd ? 0 : -1,
    outMultiplier: qo.multiplier, outShift: qo.shift, outZeroPoint: zp(),
  };
  const steps: Step[] = [
    { op: 'quantize', name: 'q', in: { space: 'input', offset: 0, dtype: 'float32', length: L }, out: X, scale: 0.05, zeroPoint: inZp },
    ln, tr, sm, mul, add,
    { op: 'dequantize', name: 'dq', in: A, out: { space: 'output', offset: 0, dtype: 'float32', length: L }, scale: 0.1, zeroPoint: add.outZeroPoint },
  ];
  return {
    format: 'tinyforge-program/1', name: `chain_${R}_${C}`, quant: 'int8',
    input: { name: 'input', shape: [R, C], dtype: 'float32', quant: { scale: 0.05, zeroPoint: inZp } },
    output: { name: 'output', shape: [C, R], dtype: 'float32', quant: { scale: 0.1, zeroPoint: add.outZeroPoint } },
    arenaBytes: off, steps, int8Input: X, int8Output: A,
  };
}

// [R, C, period, unit add, wild norm]: multiples of 4 take the assembler paths, the others C
const CASES: Array<[number, number, number, boolean, boolean]> = [
  [8, 12, 96, true, false], [4, 4, 8, true, true], [16, 8, 16, false, false], [12, 20, 240, true, true],
  [5, 7, 35, true, false], [6, 10, 30, false, true], [8, 6, 12, true, false], [3, 16, 48, true, false],
];

function inputsFor(L: number, seed: number): Float32Array[] {
  return [...randomInputs(3, L, seed, 8), new Float32Array(L).fill(-1e9), new Float32Array(L).fill(1e9), new Float32Array(L)];
}

describe('int8 norm / softmax / add / mul / transpose kernels: C == TS oracle', () => {
  it('on the host (cortex-m4f and portable emission)', async () => {
    for (const [R, C, period, unitAdd, wildNorm] of CASES) {
      const p = chain(R, C, R * 100 + C, { period, unitAdd, wildNorm });
      const inputs = inputsFor(R * C, R + C);
      for (const target of ['cortex-m4f', 'c'] as const) {
        const res = await runOnCHost(p, inputs, { target });
        inputs.forEach((x, s) => expect(Array.from(res.outputsQ![s])).toEqual(Array.from(executeProgram(p, x).outputQ!)));
      }
    }
  });

  it('on the emulated Cortex-M4F (assembler and -DTF_NO_ASM)', async () => {
    for (const [R, C, period, unitAdd, wildNorm] of CASES) {
      const p = chain(R, C, R * 100 + C, { period, unitAdd, wildNorm });
      const inputs = inputsFor(R * C, R + C);
      for (const cflags of [[], ['-DTF_NO_ASM']]) {
        const res = await runOnQemu(p, inputs, { cflags });
        inputs.forEach((x, s) => {
          const want = executeProgram(p, x);
          expect(Array.from(res.outputsQ![s])).toEqual(Array.from(want.outputQ!));
          expect(Array.from(res.outputs[s])).toEqual(Array.from(want.output));
        });
      }
    }
  }, 300_000);
});
