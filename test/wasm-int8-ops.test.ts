/**
 * WASM backend, int8 steps: quantize / dequantize (also between arena buffers), dense_s8 and dense_s4 over rows
 * (every kernel shape: n <= 8, n <= 16, wider), layer_norm_s8, softmax_s8, add_s8, mul_s8 and affine_s8 on
 * hand-built programs with awkward sizes and extreme values, against the TS oracle (executeProgram): every
 * buffer a step writes, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import { packInt4 } from '../compiler/ops/dense/quantize.js';
import type { BufferRef, DenseS4Step, DenseS8Step, Program } from '../compiler/plan/program.js';
import { quantizeMultiplier, quantizeMultiplierCompact } from '../compiler/quant/fixedpoint.js';
import { load } from '../runtime/index.js';
import { rng } from './helpers/random-program.js';
import { ArenaProgramBuilder, runRaw } from './helpers/program-builder.js';

/** One float input, one float output, arena buffers handed out in order. */
class Builder extends ArenaProgramBuilder {
  protected override readonly quant = 'int8';
  /** float slice of the input -> int8 arena buffer */
  q(src: BufferRef, scale: number, zeroPoint: number, length = src.length, offset = 0): BufferRef {
    const out = this.arena('int8', length);
    this.add({ op: 'quantize', name: `q${this.steps.length}`, in: { ...src, offset: src.offset + offset * 4, length }, out, scale, zeroPoint });
    return out;
  }
  dq(src: BufferRef, scale = 1 / 32, zeroPoint = 0): this {
    return this.add({ op: 'dequantize', name: 'dq', in: src, out: { ...this.output, length: src.length }, scale, zeroPoint });
  }
}

const bytesAt = (buf: ArrayBuffer, at: number, ref: BufferRef) => new Uint8Array(buf, at, ref.length * (ref.dtype === 'int8' ? 1 : 4));

/** Every buffer the steps write (out and aux), bit for bit, for every input; then the runtime's output. */
async function expectBitExact(p: Program, xs: Float32Array[]): Promise<void> {
  const bytes = await emitWasm(p);
  expect(WebAssembly.validate(new Uint8Array(bytes))).toBe(true);
  const m = await load(bytes);
  for (const x of xs) {
    let mem: ProgramMemory | undefined;
    const ref = executeProgram(p, x, (_s, mm) => { mem = mm; });
    const { meta, memory } = await runRaw(bytes, x);
    const bases = { input: meta.inputs[0].address, output: meta.outputs[0].address, arena: meta.arena.address };
    p.steps.forEach((s, i) => {
      for (const r of [s.out, ...(s.aux ?? [])]) {
        expect(bytesAt(memory, bases[r.space] + r.offset, r), `step ${i} (${s.op}) ${r.space}+${r.offset}`).toEqual(bytesAt(mem!.spaces[r.space], r.offset, r));
      }
    });
    const got = m.run({ x }).y;
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(ref.output.buffer));
  }
}

const r = rng(11);
const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
const randInt = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
/** int8 inputs covering the whole range after quantize(scale 1/16, zp): ends hit exactly plus random values */
function int8Inputs(n: number): Float32Array[] {
  const ends = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1e6 : i % 3 === 1 ? -1e6 : 0));
  return [uniform(n, -9, 9), uniform(n, -20, 20), ends];
}

describe('WASM quantize / dequantize match the oracle bit for bit', () => {
  it.each([[-128], [127], [0], [-3]])('input -> arena -> arena (zero point %i), NaN / Inf / ties', async (zp) => {
    const specials = [NaN, -NaN, Infinity, -Infinity, 0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, 255.5, -255.5, 256, 1e30, -1e30, 3.4e38, 1e-45, -7.75, 8.25, 7.9999995];
    const n = 37;
    const x = Float32Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i] : (r() * 2 - 1) * 300));
    const b = new Builder(n, n);
    const q1 = b.q(b.input, 1, zp);
    const f = b.arena('float32', n);
    b.add({ op: 'dequantize', name: 'dq_arena', in: q1, out: f, scale: 0.37, zeroPoint: zp });
    // quantize reading an arena float buffer, odd length, writing an arena int8 buffer
    const q2 = b.arena('int8', n - 2);
    b.add({ op: 'quantize', name: 'q_arena', in: { ...f, length: n - 2 }, out: q2, scale: 0.125, zeroPoint: -zp >> 1 });
    b.dq(q2, 0.25, 5);
    await expectBitExact(b.build('quant'), [x, uniform(n, -1e4, 1e4), uniform(n, -0.6, 0.6)]);
  });

  it('tiny scales saturate, huge scales round to zero point', async () => {
    const n = 19;
    const b = new Builder(n, n);
    const a = b.q(b.input, 1e-30, 7), c = b.q(b.input, 1e30, -128);
    const f = b.arena('float32', n);
    b.add({ op: 'dequantize', name: 'dq_a', in: a, out: f, scale: 1e-30, zeroPoint: 7 });
    b.dq(c, 3, -128);
    await expectBitExact(b.build('quant_extreme'), [uniform(n, -1, 1), uniform(n, -1e-29, 1e-29)]);
  });
});

/** A dense step with random per-channel parameters; `extreme`: weights at the int range ends, wrapping biases. */
function denseStep(bits: 4 | 8, rows: number, n: number, m: number, input: BufferRef, out: BufferRef, opts: { lut: boolean; extreme: boolean; relu: boolean; compact: boolean; special?: boolean }): DenseS8Step | DenseS4Step {
  const wmax = bits === 8 ? 127 : 7, wmin = bits === 8 ? -128 : -8;
  const q = Int8Array.from({ length: n * m }, (_, i) => (opts.extreme ? (i % 3 === 0 ? wmin : i % 3 === 1 ? wmax : randInt(wmin, wmax)) : randInt(wmin, wmax)));
  const multiplier = new Int32Array(m), shift = new Int32Array(m), bias = new Int32Array(m);
  for (let o = 0; o < m; o++) {
    // realistic scales; with `special`, some > 1 (left shifts) and some tiny (right shifts up to 31)
    const special = opts.special ?? true;
    const real = special && o % 7 === 3 ? 1 + r() * 300 : special && o % 7 === 5 ? 2 ** -30 * (1 + r()) : (0.5 + r()) / (n * (bits === 8 ? 60 : 4)) * 2 ** (o % 5);
    const qm = opts.compact ? quantizeMultiplierCompact(real) : quantizeMultiplier(real);
    multiplier[o] = qm.multiplier;
    shift[o] = qm.shift;
    bias[o] = opts.extreme && o % 5 === 1 ? 2147483647 - randInt(0, 1000) : opts.extreme && o % 5 === 2 ? -2147483648 + randInt(0, 1000) : randInt(-20000, 20000);
  }
  const zp = opts.extreme ? 127 : randInt(-20, 20);
  const common = {
    name: `dense${bits}`, in: input, out, rows, inFeatures: n, outFeatures: m, bias, multiplier, shift, outZeroPoint: zp,
    actMin: opts.relu ? -100 : -128, actMax: opts.relu ? 120 : 127,
    lut: opts.lut ? Int8Array.from({ length: 256 }, (_, k) => Math.max(-128, Math.min(127, Math.round(127 * Math.tanh((k - 128) / 40))))) : null,
  };
  return bits === 8 ? { op: 'dense_s8', ...common, weights: q } : { op: 'dense_s4', ...common, weights: packInt4(q, m, n) };
}

describe.each([8, 4] as const)('WASM dense_s%i matches the oracle bit for bit', (bits) => {
  // n: 1..8 (two rows per vector), 9..16, wider (int8 16-column / int4 32-column blocks, tails); m: tails of 8-output blocks
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [3, 8, 5], [7, 5, 16], [2, 3, 9], [5, 16, 4], [4, 13, 11], [3, 9, 3], [2, 17, 7], [3, 31, 8], [1, 32, 13],
    [4, 33, 12], [2, 48, 17], [3, 64, 9], [2, 100, 21], [1, 200, 3], [5, 40, 24],
  ];
  it.each(shapes)('%i rows of %i -> %i', async (rows, n, m) => {
    // compact multipliers without special channels take the kernels' i32 requantization, the others the i64 one
    for (const [lut, extreme, relu, compact, special] of [[false, false, false, true, true], [true, false, false, true, false], [false, true, true, false, true],
      [true, true, false, false, true], [false, true, false, true, false], [true, false, true, true, false]]) {
      const b = new Builder(rows * n, rows * m);
      const x = b.q(b.input, 1 / 16, extreme ? -128 : 3);
      const y = b.arena('int8', rows * m);
      b.add(denseStep(bits, rows, n, m, x, y, { lut, extreme, relu, compact, special })).dq(y);
      await expectBitExact(b.build(`dense${bits}`), int8Inputs(rows * n));
    }
  });

  it('two layers back to back (the first one\'s output rows are the second one\'s input)', async () => {
    const b = new Builder(6 * 20, 6 * 9);
    const x = b.q(b.input, 1 / 8, 0), h = b.arena('int8', 6 * 35), y = b.arena('int8', 6 * 9);
    b.add(denseStep(bits, 6, 20, 35, x, h, { lut: true, extreme: false, relu: false, compact: true }));
    b.add(denseStep(bits, 6, 35, 9, h, y, { lut: false, extreme: false, relu: true, compact: true })).dq(y);
    await expectBitExact(b.build('mlp'), int8Inputs(6 * 20));
  });
});

describe('WASM layer_norm_s8 matches the oracle bit for bit', () => {
  const f = Math.fround;
  it.each([[3, 5, 3], [2, 16, -128], [4, 17, 127], [1, 48, 0], [5, 33, -7], [2, 192, 12], [3, 1, 0], [2, 2, -128]] as const)('%i rows x %i features, input zero point %i', async (rows, d, zp) => {
    for (const [inScale, outScale, eps] of [[0.05, 0.02, 1e-5], [1e-3, 0.5, 1e-12], [3, 1e-3, 1e-5]]) {
      const b = new Builder(rows * d, rows * d);
      const x = b.q(b.input, 1 / 16, zp), y = b.arena('int8', rows * d);
      const weight = uniform(d, -2, 2), bias = uniform(d, -1, 1), outZp = randInt(-128, 127);
      b.add({
        op: 'layer_norm_s8', name: 'ln', in: x, out: y, rows, features: d, inZeroPoint: zp, inScale: f(inScale), inScaleSq: f(inScale * inScale), eps: f(eps),
        gain: Float32Array.from(weight, (w) => f(w / outScale)), offset: Float32Array.from(bias, (v) => f(f(v / outScale) + outZp)),
      }).dq(y);
      const constant = new Float32Array(rows * d).fill(1.3); // zero variance rows: inv = 1/sqrt(eps)
      await expectBitExact(b.build('ln8'), [...int8Inputs(rows * d), constant]);
    }
  });
});

describe('WASM softmax_s8 matches the oracle bit for bit', () => {
  it.each([[1, 1], [3, 3], [5, 8], [2, 16], [4, 17], [9, 33], [2, 96], [6, 7], [1, 192]] as const)('%i rows x %i features', async (rows, d) => {
    for (const s of [0.004, 0.05, 0.7, 8]) {
      const b = new Builder(rows * d, rows * d);
      const x = b.q(b.input, 1 / 16, randInt(-3, 3)), y = b.arena('int8', rows * d);
      b.add({ op: 'softmax_s8', name: 'sm', in: x, out: y, rows, features: d, base: Math.fround(Math.exp(-s)) }).dq(y, 1 / 256, -128);
      const equal = new Float32Array(rows * d).fill(0.3);
      await expectBitExact(b.build('sm8'), [...int8Inputs(rows * d), equal]);
    }
  });

  it('two softmax steps with different bases in one program (the table is rebuilt per step)', async () => {
    const b = new Builder(40, 40);
    const x = b.q(b.input, 1 / 16, 0), y1 = b.arena('int8', 40), y2 = b.arena('int8', 40);
    b.add({ op: 'softmax_s8', name: 'a', in: x, out: y1, rows: 5, features: 8, base: Math.fround(Math.exp(-0.1)) });
    b.add({ op: 'softmax_s8', name: 'b', in: x, out: y2, rows: 4, features: 10, base: Math.fround(Math.exp(-0.03)) }).dq(y2, 1 / 256, -128);
    await expectBitExact(b.build('sm2'), int8Inputs(40));
  });
});

describe('WASM add_s8 / mul_s8 match the oracle bit for bit', () => {
  const cases: Array<[number, number]> = [[35, 35], [35, 7], [48, 16], [9, 1], [1536, 1536], [51, 17], [64, 32], [17, 17]];
  const zps: Array<[number, number, number]> = [[0, 0, 0], [-128, 127, -128], [127, -128, 127], [5, -9, 3]];
  it.each(cases)('add_s8 length %i period %i', async (n, period) => {
    for (const [za, zb, zo] of zps) {
      for (const [sa, sb, so] of [[0.05, 0.02, 0.06], [0.01, 0.3, 0.001], [1, 1e-3, 4], [0.02, 0.02, 0.02]]) {
        const b = new Builder(n + period, n);
        const a = b.q(b.input, 1 / 16, za, n), c = b.q(b.input, 1 / 16, zb, period, n), y = b.arena('int8', n);
        const twiceMax = 2 * Math.max(sa, sb);
        const qa = quantizeMultiplier(sa / twiceMax), qb = quantizeMultiplier(sb / twiceMax), qo = quantizeMultiplier(twiceMax / (2 ** 20 * so));
        b.add({
          op: 'add_s8', name: 'add', in: a, out: y, aux: [c], length: n, period, aZeroPoint: za, aMultiplier: qa.multiplier, aShift: qa.shift,
          bZeroPoint: zb, bMultiplier: qb.multiplier, bShift: qb.shift, outMultiplier: qo.multiplier, outShift: qo.shift, outZeroPoint: zo,
        }).dq(y);
        await expectBitExact(b.build('add8'), int8Inputs(n + period));
      }
    }
  });

  it.each(cases)('mul_s8 length %i period %i', async (n, period) => {
    for (const [za, zb, zo] of zps) {
      for (const real of [1e-4, 0.013, 0.9, 3.7, 700]) {
        const b = new Builder(n + period, n);
        const a = b.q(b.input, 1 / 16, za, n), c = b.q(b.input, 1 / 16, zb, period, n), y = b.arena('int8', n);
        const q = quantizeMultiplier(real);
        b.add({ op: 'mul_s8', name: 'mul', in: a, out: y, aux: [c], length: n, period, aZeroPoint: za, bZeroPoint: zb, multiplier: q.multiplier, shift: q.shift, outZeroPoint: zo }).dq(y);
        await expectBitExact(b.build('mul8'), int8Inputs(n + period));
      }
    }
  });
});

describe('WASM affine_s8 matches the oracle bit for bit', () => {
  it.each([[3, 5], [1, 1], [7, 16], [2, 33]] as const)('%i rows x %i features', async (rows, d) => {
    for (const [zin, zout] of [[0, 0], [-128, 127], [127, -128]]) {
      const b = new Builder(rows * d, rows * d);
      const x = b.q(b.input, 1 / 16, zin), y = b.arena('int8', rows * d);
      const multiplier = new Int32Array(d), shift = new Int32Array(d);
      for (let c = 0; c < d; c++) { const q = quantizeMultiplierCompact(c % 4 === 0 ? 2 + r() * 50 : (0.2 + r()) / 200); multiplier[c] = q.multiplier; shift[c] = q.shift; }
      b.add({
        op: 'affine_s8', name: 'bn', in: x, out: y, rows, features: d, inZeroPoint: zin,
        weights: Int8Array.from({ length: d }, (_, c) => (c % 3 === 0 ? -128 : c % 3 === 1 ? 127 : randInt(-128, 127))),
        bias: Int32Array.from({ length: d }, (_, c) => (c % 5 === 0 ? 2147483600 : randInt(-50000, 50000))), multiplier, shift, outZeroPoint: zout,
      }).dq(y);
      await expectBitExact(b.build('affine8'), int8Inputs(rows * d));
    }
  });
});
