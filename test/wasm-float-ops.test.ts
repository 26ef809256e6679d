/**
 * WASM backend, float (non-dense) steps: every step kind against the TS oracle (executeProgram) on
 * hand-built programs with odd sizes, comparing every buffer a step writes; then both TinyTimeMixer
 * fixtures end to end through the browser runtime against granite-tsfm's forecasts.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { kernelsWasm } from '../compiler/backends/wasm/kernels.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { transposeLoops } from '../compiler/ops/transpose/wasm.js';
import { lowerFloat } from '../compiler/plan/lower.js';
import type { BufferRef, DenseS8Step, Program } from '../compiler/plan/program.js';
import { quantizeMultiplier } from '../compiler/quant/fixedpoint.js';
import { load } from '../runtime/index.js';
import { rng } from './helpers/random-program.js';
import { ArenaProgramBuilder, runRaw } from './helpers/program-builder.js';

const FIX = join(import.meta.dirname, 'fixtures');

/** Builds a one-input, one-output float program over arena buffers it hands out. */
class ProgramBuilder extends ArenaProgramBuilder {
  /** float32 input -> int8 arena buffer (scale 1/16) */
  toInt8(src: BufferRef): BufferRef {
    const q = this.arena('int8', src.length);
    this.add({ op: 'quantize', name: 'q', in: src, out: q, scale: 0.0625, zeroPoint: 3 });
    return q;
  }
  fromInt8(src: BufferRef): this {
    return this.add({ op: 'dequantize', name: 'dq', in: src, out: this.output, scale: 0.0625, zeroPoint: 3 });
  }
}

const randn = (r: () => number, n: number, scale = 1, offset = 0) => Float32Array.from({ length: n }, () => offset + (r() * 2 - 1) * scale);

function view(buf: ArrayBuffer, base: number, ref: BufferRef): Float32Array | Int8Array | Int32Array {
  const at = base + ref.offset;
  return ref.dtype === 'int8' ? new Int8Array(buf, at, ref.length) : ref.dtype === 'int32' ? new Int32Array(buf, at, ref.length) : new Float32Array(buf, at, ref.length);
}

/**
 * Compares every buffer the program's steps write or read (out and aux) between WASM and the oracle:
 * bit for bit when `exact`, else max |difference| / max |oracle| <= 1e-5 per buffer (NaN must meet NaN).
 */
async function expectMatchesOracle(p: Program, xs: Float32Array[], exact: boolean): Promise<void> {
  const bytes = await emitWasm(p);
  expect(WebAssembly.validate(new Uint8Array(bytes))).toBe(true);
  for (const x of xs) {
    let mem: ProgramMemory | undefined;
    const ref = executeProgram(p, x, (_s, m) => { mem = m; });
    const { meta, memory } = await runRaw(bytes, x);
    const bases = { input: meta.inputs[0].address, output: meta.outputs[0].address, arena: meta.arena.address };
    const refs = p.steps.flatMap((s) => [s.out, ...(s.aux ?? [])]);
    for (const r of refs) {
      const got = view(memory, bases[r.space], r), want = view(mem!.spaces[r.space], 0, r);
      if (exact || r.dtype !== 'float32') {
        expect(new Uint8Array(got.buffer, got.byteOffset, got.byteLength), `${r.space}+${r.offset}`).toEqual(new Uint8Array(want.buffer, want.byteOffset, want.byteLength));
        continue;
      }
      let maxRef = 0, maxErr = 0;
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i]) || Number.isNaN(got[i])) { expect(Number.isNaN(got[i]), `NaN at ${i}`).toBe(Number.isNaN(want[i])); continue; }
        if (!Number.isFinite(want[i])) { expect(got[i]).toBe(want[i]); continue; }
        maxRef = Math.max(maxRef, Math.abs(want[i]));
        maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
      }
      const rel = maxRef === 0 ? maxErr : maxErr / maxRef;
      expect(rel, `${r.space}+${r.offset}`).toBeLessThanOrEqual(1e-5);
    }
    // the public runtime returns the same output as the raw run
    const m = await load(bytes);
    expect(Array.from(m.run({ x }).y)).toEqual(Array.from(new Float32Array(memory, meta.outputs[0].address, ref.output.length)));
  }
}

describe('WASM float steps match the TS oracle', () => {
  const r = rng(7);

  it.each([[5, 7, true], [3, 1, true], [4, 33, false], [2, 2, false]] as const)('layer_norm_f32 %i x %i (bias %s)', async (rows, d, bias) => {
    const b = new ProgramBuilder(rows * d, rows * d);
    b.add({ op: 'layer_norm_f32', name: 'ln', in: b.input, out: b.output, rows, features: d, eps: 1e-5, weight: randn(r, d, 1, 1), bias: bias ? randn(r, d) : null });
    await expectMatchesOracle(b.build('ln'), [randn(r, rows * d, 3), randn(r, rows * d, 1, 100), new Float32Array(rows * d).fill(2.5)], false);
  });

  it.each([[3, 5], [7, 1], [2, 6]] as const)('affine_f32 %i x %i', async (rows, d) => {
    const b = new ProgramBuilder(rows * d, rows * d);
    b.add({ op: 'affine_f32', name: 'bn', in: b.input, out: b.output, rows, features: d, scale: randn(r, d, 2), shift: randn(r, d, 5) });
    await expectMatchesOracle(b.build('bn'), [randn(r, rows * d, 10), randn(r, rows * d, 1e-3)], false);
  });

  it.each([[3, 7], [2, 1], [4, 33], [1, 192]] as const)('softmax_f32 %i x %i', async (rows, d) => {
    const b = new ProgramBuilder(rows * d, rows * d);
    b.add({ op: 'softmax_f32', name: 'sm', in: b.input, out: b.output, rows, features: d });
    const edge = randn(r, rows * d, 3);
    edge[0] = -Infinity;
    if (d > 2) { edge[1] = 80; edge[2] = -90; }
    await expectMatchesOracle(b.build('sm'), [randn(r, rows * d, 4), randn(r, rows * d, 100), edge], false);
  });

  it.each([['add_f32', 35, 35], ['mul_f32', 35, 7], ['add_f32', 9, 1], ['mul_f32', 36, 3], ['add_f32', 40, 8]] as const)('%s length %i period %i', async (op, n, period) => {
    const b = new ProgramBuilder(n, n);
    const k = b.arena('float32', period);
    // the second operand is computed in the arena (affine of the input's first `period` values)
    b.add({ op: 'affine_f32', name: 'operand', in: { ...b.input, length: period }, out: k, rows: 1, features: period, scale: randn(r, period, 2), shift: randn(r, period) });
    b.add({ op, name: op, in: b.input, out: b.output, aux: [k], length: n, period });
    await expectMatchesOracle(b.build(op), [randn(r, n, 5), randn(r, n, 1e4)], true);
  });

  const transposes: Array<[number[], number[]]> = [
    [[3, 5, 7], [2, 0, 1]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[1, 32, 48], [0, 2, 1]], [[5], [0]], [[3, 1, 4], [1, 2, 0]], [[2, 3, 5, 7], [0, 1, 3, 2]],
  ];
  it.each(transposes)('transpose float32 %j by %j', async (shape, perm) => {
    const n = shape.reduce((a, c) => a * c, 1);
    const b = new ProgramBuilder(n, n);
    b.add({ op: 'transpose', name: 't', in: b.input, out: b.output, shape, perm });
    await expectMatchesOracle(b.build('t'), [randn(r, n, 9)], true);
  });
  it.each(transposes)('transpose int8 %j by %j', async (shape, perm) => {
    const n = shape.reduce((a, c) => a * c, 1);
    const b = new ProgramBuilder(n, n);
    const q = b.toInt8(b.input), t = b.arena('int8', n);
    b.add({ op: 'transpose', name: 't', in: q, out: t, shape, perm }).fromInt8(t);
    await expectMatchesOracle(b.build('t8'), [randn(r, n, 7)], true);
  });

  it('transpose loops are simplified (unit dims dropped, contiguous dims merged)', () => {
    expect(transposeLoops([1, 32, 48], [0, 2, 1])).toEqual({ extents: [48, 32], strides: [1, 48] });
    expect(transposeLoops([2, 3, 5, 7], [0, 1, 3, 2])).toEqual({ extents: [6, 7, 5], strides: [35, 1, 7] });
    expect(transposeLoops([4, 5], [0, 1])).toEqual({ extents: [20], strides: [1] });
  });

  const gathers: Array<[number[], number, number[]]> = [
    [[4, 5, 3], 1, [4, 0, 2, 2]], [[4, 5, 3], 0, [1, 2]], [[4, 5, 3], 2, [2, 0]], [[7], 0, [6, 0, 3]], [[3, 5], 1, [1, 2, 3]],
  ];
  it.each(gathers)('gather float32 %j axis %i indices %j', async (shape, axis, indices) => {
    const n = shape.reduce((a, c) => a * c, 1), m = (n / shape[axis]) * indices.length;
    const b = new ProgramBuilder(n, m);
    b.add({ op: 'gather', name: 'g', in: b.input, out: b.output, shape, axis, indices });
    await expectMatchesOracle(b.build('g'), [randn(r, n, 9)], true);
  });
  it.each(gathers)('gather int8 %j axis %i indices %j', async (shape, axis, indices) => {
    const n = shape.reduce((a, c) => a * c, 1), m = (n / shape[axis]) * indices.length;
    const b = new ProgramBuilder(n, m);
    const q = b.toInt8(b.input), g = b.arena('int8', m);
    b.add({ op: 'gather', name: 'g', in: q, out: g, shape, axis, indices }).fromInt8(g);
    await expectMatchesOracle(b.build('g8'), [randn(r, n, 7)], true);
  });

  it('copy (float32 and int8)', async () => {
    const b = new ProgramBuilder(13, 13);
    const a = b.arena('float32', 13);
    b.add({ op: 'copy', name: 'c0', in: b.input, out: a });
    const q = b.toInt8(a), q2 = b.arena('int8', 13);
    b.add({ op: 'copy', name: 'c1', in: q, out: q2 }).fromInt8(q2);
    await expectMatchesOracle(b.build('copy'), [randn(r, 13, 4)], true);
  });

  it.each([[23, 3, 5, 3], [25, 3, 5, 3], [64, 1, 8, 8], [30, 2, 4, 7], [9, 1, 9, 1]] as const)('patchify_f32 L=%i C=%i patch %i stride %i', async (L, C, pl, stride) => {
    const np = Math.floor((Math.max(L, pl) - pl) / stride) + 1;
    const b = new ProgramBuilder(L * C, C * np * pl);
    b.add({ op: 'patchify_f32', name: 'p', in: b.input, out: b.output, length: L, channels: C, patchLength: pl, stride, patches: np });
    await expectMatchesOracle(b.build('patch', [L, C], [C, np, pl]), [randn(r, L * C, 3)], true);
  });

  it.each([['std', 13, 3], ['mean', 13, 3], ['none', 5, 2], ['std', 512, 1], ['std', 7, 1]] as const)('scale_series_f32 (%s) %i x %i, then unscale_series_f32', async (kind, L, C) => {
    const b = new ProgramBuilder(L * C, L * C);
    const y = b.arena('float32', L * C), loc = b.arena('float32', C), scale = b.arena('float32', C), z = b.arena('float32', L * C);
    b.add({ op: 'scale_series_f32', name: 's', in: b.input, out: y, aux: [loc, scale], length: L, channels: C, kind });
    b.add({ op: 'affine_f32', name: 'model', in: y, out: z, rows: L, features: C, scale: randn(r, C, 2), shift: randn(r, C) });
    b.add({ op: 'unscale_series_f32', name: 'u', in: z, out: b.output, aux: [loc, scale], rows: L, channels: C });
    const level = randn(r, L * C, 2, 50);
    const zeros = new Float32Array(L * C);
    // float32 in a documented order: bit for bit
    await expectMatchesOracle(b.build('scaler', [L, C], [L, C]), [randn(r, L * C, 3), level, zeros], true);
  });

  // narrow layers (n <= 32, m % 4 == 0) take the transposed-weights kernel, the others the row-dot kernel;
  // inputs up to +-12 put GELU pre-activations in every piece of the erf approximation, lanes mixed
  it.each([
    [5, 7, 9, 'gelu'], [3, 33, 5, 'relu'], [48, 8, 16, 'linear'], [1, 16, 4, 'tanh'], [6, 4, 3, 'sigmoid'],
    [7, 12, 8, 'gelu'], [4, 40, 12, 'gelu'], [9, 32, 20, 'relu'], [2, 64, 36, 'sigmoid'],
  ] as const)('dense_f32 %i rows of %i -> %i (%s)', async (rows, n, m, activation) => {
    const b = new ProgramBuilder(rows * n, rows * m);
    b.add({ op: 'dense_f32', name: 'd', in: b.input, out: b.output, rows, inFeatures: n, outFeatures: m, weights: randn(r, n * m, 1 / Math.sqrt(n)), bias: randn(r, m, 0.1), activation });
    await expectMatchesOracle(b.build('dense'), [randn(r, rows * n, 2), randn(r, rows * n, 12)], false);
  });

  it.each([[5, 7, 9, true], [3, 33, 5, false], [4, 16, 17, false], [2, 1, 3, true]] as const)('dense_s8 %i rows of %i -> %i (lut %s)', async (rows, n, m, lut) => {
    const b = new ProgramBuilder(rows * n, rows * m);
    const q = b.toInt8(b.input), o = b.arena('int8', rows * m);
    const multiplier = new Int32Array(m), shift = new Int32Array(m);
    for (let k = 0; k < m; k++) { const qm = quantizeMultiplier((0.5 + r()) / (n * 40)); multiplier[k] = qm.multiplier; shift[k] = qm.shift; }
    const step: DenseS8Step = {
      op: 'dense_s8', name: 'd8', in: q, out: o, rows, inFeatures: n, outFeatures: m,
      weights: Int8Array.from({ length: n * m }, () => Math.floor(r() * 255) - 127),
      bias: Int32Array.from({ length: m }, () => Math.floor(r() * 20000) - 10000), multiplier, shift,
      outZeroPoint: 3, actMin: -128, actMax: 127,
      lut: lut ? Int8Array.from({ length: 256 }, (_, k) => Math.max(-128, Math.min(127, Math.round(127 * Math.tanh((k - 128) / 40))))) : null,
    };
    b.add(step).fromInt8(o);
    await expectMatchesOracle(b.build('dense8'), [randn(r, rows * n, 6), randn(r, rows * n, 6)], true);
  });
});

describe('WASM exp kernel', () => {
  it('exp_f64 is within 4 ulp of Math.exp over the softmax range, and handles the edges', async () => {
    const { instance } = await WebAssembly.instantiate(new Uint8Array(await kernelsWasm()), {});
    const exp = instance.exports.exp_f64 as (x: number) => number;
    const r = rng(3);
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const x = i < 10000 ? -r() * 750 : (r() * 2 - 1) * 30;
      const want = Math.exp(x);
      if (want < 2.2250738585072014e-308) continue; // subnormal results are checked below
      worst = Math.max(worst, Math.abs(exp(x) - want) / want);
    }
    expect(worst).toBeLessThan(4 * 2.220446049250313e-16);
    expect(exp(0)).toBe(1);
    expect(exp(-Infinity)).toBe(0);
    expect(exp(Infinity)).toBe(Infinity);
    expect(exp(710)).toBe(Infinity);
    expect(Number.isNaN(exp(NaN))).toBe(true);
    expect(Math.abs(exp(-740) - Math.exp(-740)) / Math.exp(-740)).toBeLessThan(1e-3);
  });
});

describe.each(['ttm-mini', 'ttm-r1-512-96'])('%s through WASM', (name) => {
  it('forecasts the 8 fixture samples like granite-tsfm (1e-4) and the TS oracle (1e-5)', async () => {
    const dir = join(FIX, name);
    const program = lowerFloat(importCheckpoint(dir));
    const m = await load(await emitWasm(program));
    const [L, C] = program.input.shape, [H, C2] = program.output.shape;
    expect(m.inputs).toEqual([{ name: 'past_values', shape: [L, C], dtype: 'float32' }]);
    expect(m.outputs).toEqual([{ name: 'prediction_outputs', shape: [H, C2], dtype: 'float32' }]);
    const io = readSafetensors(join(dir, 'io.safetensors'));
    const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
    const y = toFloat32(io.tensors.get('prediction_outputs')!, 'prediction_outputs', 'io');
    const got = m.run({ past_values: x }).prediction_outputs; // all 8 samples in one call
    expect(got.length).toBe(8 * H * C2);
    const per = H * C2;
    let errRef = 0, maxRef = 0, errOracle = 0, maxOracle = 0;
    for (let b = 0; b < 8; b++) {
      const oracle = executeProgram(program, x.subarray(b * L * C, (b + 1) * L * C)).output;
      for (let i = 0; i < per; i++) {
        const g = got[b * per + i];
        errRef = Math.max(errRef, Math.abs(g - y[b * per + i]));
        maxRef = Math.max(maxRef, Math.abs(y[b * per + i]));
        errOracle = Math.max(errOracle, Math.abs(g - oracle[i]));
        maxOracle = Math.max(maxOracle, Math.abs(oracle[i]));
      }
    }
    console.log(`${name}: WASM vs granite-tsfm ${(errRef / maxRef).toExponential(2)}, vs TS oracle ${(errOracle / maxOracle).toExponential(2)} (max abs error / max |reference|)`);
    expect(errRef / maxRef).toBeLessThanOrEqual(1e-4);
    expect(errOracle / maxOracle).toBeLessThanOrEqual(1e-5);
  });
});
