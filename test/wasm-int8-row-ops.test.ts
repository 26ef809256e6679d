/**
 * WASM layer_norm_s8, softmax_s8 and int8 transposes against the TS oracle, bit for bit, on the paths their kernels
 * take by shape (runtime/kernels/int8_ops.ts): layer norm 4 rows at a time with the per-row arithmetic in the lanes
 * (up to 128 features, a multiple of 16, int8 zero point) or row by row; softmax with the 4 rows' outputs as one run
 * (features a multiple of 4) or row by row; transpose_s8 in 8 x 8 blocks and byte by byte at the edges. Row counts
 * that are not multiples of 4, constant rows (zero variance, equal exponentials), the int8 range ends and scales from
 * tiny to large.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import type { BufferRef, Program, Step } from '../compiler/plan/program.js';
import { rng } from './helpers/random-program.js';

const align16 = (n: number) => (n + 15) & ~15;
const f = Math.fround;

/** float input (integers, scale 1) -> int8 rows -> the step -> dequantized output. */
function program(step: Step, len: number): Program {
  const steps = [
    { op: 'quantize', name: 'q', in: { space: 'input', offset: 0, dtype: 'float32', length: len }, out: step.in, scale: 1, zeroPoint: 0 },
    step,
    { op: 'dequantize', name: 'dq', in: step.out, out: { space: 'output', offset: 0, dtype: 'float32', length: len }, scale: 1, zeroPoint: 0 },
  ] as unknown as Step[];
  return {
    format: 'tinyforge-program/1', name: step.op, quant: 'int8',
    input: { name: 'x', shape: [len], dtype: 'float32' }, output: { name: 'y', shape: [len], dtype: 'float32' },
    arenaBytes: 2 * align16(len), steps,
  };
}

async function expectBitExact(step: Step, len: number, inputs: Float32Array[]): Promise<void> {
  const p = program(step, len);
  const module = await WebAssembly.compile(new Uint8Array(await emitWasm(p)));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as { inputs: { address: number }[]; arena: { address: number } };
  const instance = await WebAssembly.instantiate(module, {});
  for (const [k, x] of inputs.entries()) {
    let mem: ProgramMemory | undefined;
    executeProgram(p, x, (_s, m) => { mem = m; });
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
    (instance.exports.run as () => void)();
    const got = new Int8Array(memory, meta.arena.address + step.out.offset, len);
    const want = new Int8Array(mem!.spaces.arena, step.out.offset, len);
    expect(Array.from(got), `${step.op} ${JSON.stringify({ ...step, gain: undefined, offset: undefined, in: undefined, out: undefined })} input ${k}`).toEqual(Array.from(want));
  }
}

function inputs(r: () => number, rows: number, n: number, zp: number): Float32Array[] {
  const len = rows * n;
  return [
    Float32Array.from({ length: len }, () => Math.floor(r() * 256) - 128),
    Float32Array.from({ length: len }, (_, i) => (i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : zp)),
    // constant rows and rows near the zero point, alternating
    Float32Array.from({ length: len }, (_, i) => (Math.floor(i / n) % 2 === 0 ? Math.max(-128, Math.min(127, zp + 3)) : Math.max(-128, Math.min(127, zp + Math.floor(r() * 7) - 3)))),
  ];
}

const ref = (offset: number, length: number): BufferRef => ({ space: 'arena', offset, dtype: 'int8', length });

describe('WASM layer_norm_s8 / softmax_s8 match the oracle bit for bit on every kernel path', () => {
  const widths = [1, 4, 5, 8, 12, 13, 16, 32, 48, 64, 96, 112, 128, 144, 192];

  it('layer_norm_s8: 4 rows at a time and row by row', async () => {
    const r = rng(31);
    for (const [i, n] of widths.entries()) {
      const rows = [1, 3, 4, 5, 8, 13, 32][i % 7];
      const zp = [0, -128, 127, Math.floor(r() * 256) - 128][i % 4];
      const inScale = [0.05, 1e-3, 3][i % 3], outScale = [0.02, 0.5, 1e-3][i % 3], eps = [1e-5, 1e-12, 1e-5][i % 3];
      const outZp = Math.floor(r() * 256) - 128;
      const gain = Float32Array.from({ length: n }, () => f((r() * 4 - 2) / outScale));
      const offset = Float32Array.from({ length: n }, () => f(f((r() * 2 - 1) / outScale) + outZp));
      const len = rows * n;
      const step = {
        op: 'layer_norm_s8', name: 'ln', in: ref(0, len), out: ref(align16(len), len), rows, features: n, inZeroPoint: zp,
        inScale: f(inScale), inScaleSq: f(inScale * inScale), eps: f(eps), gain, offset,
      } as unknown as Step;
      await expectBitExact(step, len, inputs(r, rows, n, zp));
    }
  }, 60_000);

  it('softmax_s8: 4-row runs and row by row', async () => {
    const r = rng(32);
    for (const [i, n] of widths.entries()) {
      for (const s of [0.004, 0.3, 8]) {
        const rows = [1, 3, 4, 6, 8, 12, 33][(i + Math.round(s)) % 7];
        const len = rows * n;
        const step = { op: 'softmax_s8', name: 'sm', in: ref(0, len), out: ref(align16(len), len), rows, features: n, base: f(Math.exp(-s)) } as unknown as Step;
        await expectBitExact(step, len, inputs(r, rows, n, 0));
      }
    }
  }, 60_000);
});

describe('WASM int8 transpose matches the oracle', () => {
  it('matrices and batches of matrices, 8 x 8 blocks and edges', async () => {
    const r = rng(33);
    const cases: Array<[number[], number[]]> = [
      [[8, 192], [1, 0]], [[1, 192, 8], [0, 2, 1]], [[16, 96], [1, 0]], [[48, 32], [1, 0]], [[24, 40], [1, 0]], [[17, 23], [1, 0]],
      [[3, 16, 9], [0, 2, 1]], [[2, 13, 24], [0, 2, 1]], [[1, 7], [1, 0]], [[9, 1, 8], [2, 1, 0]],
    ];
    for (const [shape, perm] of cases) {
      const len = shape.reduce((a, b) => a * b, 1);
      const step = { op: 'transpose', name: 't', in: ref(0, len), out: ref(align16(len), len), shape, perm } as unknown as Step;
      await expectBitExact(step, len, [Float32Array.from({ length: len }, () => Math.floor(r() * 256) - 128)]);
    }
  });
});
