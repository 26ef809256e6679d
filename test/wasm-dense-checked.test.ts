/**
 * WASM int8 / int4 dense layers on the checked f32 requantization (dense_i8_t / dense_i4_t of runtime/kernels/dense_q.ts,
 * chosen per layer by checkedF32 in compiler/ops/dense/wasm.ts) and on the kernels layers outside it fall back to,
 * against the TS oracle (executeDenseS8), bit for bit: random shapes (rows 1..13 and 64: the 4-row tiles and the
 * single rows; widths 1..700; outputs 1..41), per-channel multipliers of every kind (compact and full 31-bit mantissas,
 * M <= 2^30, M = 0) and right shifts 0..31, zero points, activation ranges and tables; multipliers that put many
 * accumulators exactly on rounding ties; and accumulators next to rounding boundaries where the f32 estimate alone
 * rounds wrong, so only the exact fallback gives the oracle's bits.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import { packInt4 } from '../compiler/ops/dense/quantize.js';
import { checkedF32 } from '../compiler/ops/dense/wasm.js';
import type { BufferRef, DenseS4Step, DenseS8Step, Program, Step } from '../compiler/plan/program.js';
import { multiplyByQuantizedMultiplier } from '../compiler/quant/fixedpoint.js';
import { rng } from './helpers/random-program.js';

const align16 = (n: number) => (n + 15) & ~15;
const f = Math.fround;

interface Layer { bits: 4 | 8; rows: number; n: number; m: number; q: Int8Array; bias: Int32Array; multiplier: Int32Array; shift: Int32Array;
  outZeroPoint: number; actMin: number; actMax: number; lut: Int8Array | null }

function step(l: Layer): DenseS8Step | DenseS4Step {
  const common = {
    name: `dense${l.bits}_${l.rows}x${l.n}x${l.m}`, rows: l.rows, inFeatures: l.n, outFeatures: l.m,
    in: { space: 'arena', offset: 0, dtype: 'int8', length: l.rows * l.n } as BufferRef,
    out: { space: 'arena', offset: align16(l.rows * l.n), dtype: 'int8', length: l.rows * l.m } as BufferRef,
    bias: l.bias, multiplier: l.multiplier, shift: l.shift, outZeroPoint: l.outZeroPoint, actMin: l.actMin, actMax: l.actMax, lut: l.lut,
  };
  return l.bits === 8 ? { op: 'dense_s8', ...common, weights: l.q } : { op: 'dense_s4', ...common, weights: packInt4(l.q, l.m, l.n) };
}

/** float input (integers) -> int8 rows (scale 1) -> the layer -> dequantized output. */
function program(s: DenseS8Step | DenseS4Step): Program {
  const inLen = s.in.length, outLen = s.out.length;
  const steps = [
    { op: 'quantize', name: 'q', in: { space: 'input', offset: 0, dtype: 'float32', length: inLen }, out: s.in, scale: 1, zeroPoint: 0 },
    s,
    { op: 'dequantize', name: 'dq', in: s.out, out: { space: 'output', offset: 0, dtype: 'float32', length: outLen }, scale: 1, zeroPoint: 0 },
  ] as unknown as Step[];
  return {
    format: 'tinyforge-program/1', name: s.name, quant: 'int8',
    input: { name: 'x', shape: [inLen], dtype: 'float32' }, output: { name: 'y', shape: [outLen], dtype: 'float32' },
    arenaBytes: align16(align16(inLen) + outLen), steps,
  };
}

async function expectBitExact(s: DenseS8Step | DenseS4Step, inputs: Float32Array[]): Promise<void> {
  const p = program(s);
  const module = await WebAssembly.compile(new Uint8Array(await emitWasm(p)));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as { inputs: { address: number }[]; arena: { address: number } };
  const instance = await WebAssembly.instantiate(module, {});
  for (const [k, x] of inputs.entries()) {
    let mem: ProgramMemory | undefined;
    executeProgram(p, x, (_s, mm) => { mem = mm; });
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
    (instance.exports.run as () => void)();
    const got = new Int8Array(memory, meta.arena.address + s.out.offset, s.out.length);
    const want = new Int8Array(mem!.spaces.arena, s.out.offset, s.out.length);
    expect(Array.from(got), `${s.name} input ${k}`).toEqual(Array.from(want));
  }
}

type Regime = 'checked' | 'compact' | 'small' | 'ties' | 'fallback';

/** A random layer; every regime but 'fallback' must take the checked f32 path. */
function randomLayer(bits: 4 | 8, regime: Regime, seed: number): Layer {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(v: T[]) => v[Math.floor(r() * v.length)];
  const rows = r() < 0.25 ? 64 : int(1, 13);
  const n = pick([1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48, 63, 64, 100, 257, 700]);
  const m = int(1, 41);
  const wmax = bits === 8 ? 127 : 7;
  const q = Int8Array.from({ length: n * m }, () => (bits === 8 && r() < 0.01 ? -128 : int(-wmax, wmax)));
  // right shifts that keep results in the int8 range: the accumulators' spread is about wmax * 74 * sqrt(n)
  const spread = Math.log2(wmax * 74 * Math.sqrt(n));
  const multiplier = new Int32Array(m), shift = new Int32Array(m), bias = new Int32Array(m);
  for (let o = 0; o < m; o++) {
    const e = Math.max(0, Math.min(31, Math.round(spread - 6 + (r() - 0.5) * 6)));
    let M: number;
    if (regime === 'compact') M = int(2 ** 15, 2 ** 16 - 1) * 2 ** 15;
    else if (regime === 'small') M = pick([0, 1, int(1, 2 ** 30), 2 ** 30, int(2 ** 20, 2 ** 29)]);
    else if (regime === 'ties') M = 2 ** 30 + pick([0, 2 ** int(18, 29), 2 ** 29 + 2 ** int(20, 28)]);
    else M = int(2 ** 30, 2 ** 31 - 1);
    multiplier[o] = M;
    shift[o] = regime === 'fallback' && o % 3 === 0 ? int(1, 4) : -e;
    bias[o] = regime === 'fallback' && o % 3 === 1 ? int(2 ** 23, 2 ** 30) : int(-30000, 30000);
  }
  if (regime === 'fallback' && m < 3) shift[0] = 1;
  const outZeroPoint = pick([0, -128, 127, int(-128, 127)]);
  const actMin = r() < 0.5 ? -128 : int(-128, 0), actMax = r() < 0.5 ? 127 : int(Math.max(actMin, 0), 127);
  const lut = r() < 0.3 ? Int8Array.from({ length: 256 }, () => int(-128, 127)) : null;
  return { bits, rows, n, m, q, bias, multiplier, shift, outZeroPoint, actMin, actMax, lut };
}

function randomInputs(l: Layer, seed: number): Float32Array[] {
  const r = rng(seed);
  const len = l.rows * l.n;
  // full range, the range ends, small values
  return [
    Float32Array.from({ length: len }, () => Math.floor(r() * 256) - 128),
    Float32Array.from({ length: len }, (_, i) => ((i * 7) % 3 === 0 ? -128 : (i * 7) % 3 === 1 ? 127 : 0)),
    Float32Array.from({ length: len }, () => Math.floor(r() * 9) - 4),
  ];
}

/** round half to even (f32 -> nearest integer, as the magic-number conversion does) */
function nearestEven(y: number): number {
  const fl = Math.floor(y), d = y - fl;
  return d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
}

/** The kernel's f32 estimate of the requantized value of a (no fallback). */
function estimate(a: number, M: number, e: number): number {
  const m = f(M / 2 ** (31 + e)), h = e > 0 ? 2 ** -(e + 1) : 0;
  return nearestEven(f(f(f(a) * m) + (a < 0 ? -h : h)));
}

describe.each([8, 4] as const)('WASM dense_s%i: checked f32 requantization, bit for bit with the oracle', (bits) => {
  for (const regime of ['checked', 'compact', 'small', 'ties', 'fallback'] as Regime[]) {
    it(`${regime}: random shapes and quantization`, async () => {
      for (let i = 0; i < 14; i++) {
        const seed = 100 * bits + 1000 * regime.length + i;
        const l = randomLayer(bits, regime, seed);
        const s = step(l);
        expect(checkedF32(s, l.q), `${s.name}: the ${regime} regime ${regime === 'fallback' ? 'leaves' : 'takes'} the checked path`).toBe(regime !== 'fallback');
        await expectBitExact(s, randomInputs(l, seed + 1));
      }
    }, 120_000);
  }

  it('accumulators where the f32 estimate rounds wrong take the exact fallback (4-row tiles and single rows)', async () => {
    // per channel a multiplier, a shift and accumulators a next to a rounding boundary whose estimate differs from the
    // exact result: a 1-input layer with weight 1 and bias a - 5, so rows with input 5 hit a (the others random)
    const r = rng(7 + bits);
    const N = 13, hard = new Int32Array(N * 3);
    const multiplier = new Int32Array(N), shift = new Int32Array(N), bias = new Int32Array(N);
    for (let c = 0; c < N; c++) {
      let found = 0;
      while (found === 0) {
        // without a right shift (every 5th channel) only exact ties round wrong: M = 2^30 + 2^j makes some
        const e = c % 5 === 4 ? 0 : 1 + Math.floor(r() * 14);
        const M = e === 0 ? 2 ** 30 + 2 ** (10 + Math.floor(r() * 20)) : c % 4 === 3 ? Math.floor(r() * 2 ** 30) : 2 ** 30 + Math.floor(r() * 2 ** 30);
        const mu = M / 2 ** (31 + e), h = e > 0 ? 2 ** -(e + 1) : 0;
        const tried = new Set<number>();
        for (let t = 0; t < 4000 && found < 3; t++) {
          // near Y - 1/2 = k + 1/2, i.e. a mu + sgn(a) h = k + 1/2
          const k = Math.floor(r() * 200) - 100;
          const a = Math.round((k + 0.5 - (k < 0 ? -h : h)) / mu) + Math.floor(r() * 5) - 2;
          if (tried.has(a) || Math.abs(a) >= 2 ** 22) continue;
          tried.add(a);
          const exact = multiplyByQuantizedMultiplier(a, M, -e);
          if (estimate(a, M, e) !== exact && Math.abs(exact) < 100) hard[c * 3 + found++] = a;
        }
        if (found > 0) { multiplier[c] = M; shift[c] = -e; bias[c] = hard[c * 3] - 5; for (let k = found; k < 3; k++) hard[c * 3 + k] = hard[c * 3]; }
      }
    }
    for (const rows of [64, 3]) {
      const l: Layer = { bits, rows, n: 1, m: N, q: new Int8Array(N).fill(1), bias, multiplier, shift, outZeroPoint: 0, actMin: -128, actMax: 127, lut: null };
      const s = step(l);
      expect(checkedF32(s, l.q)).toBe(true);
      // rows with input 5 hit the first hard accumulator of every channel
      const x = Float32Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 5 : Math.floor(r() * 256) - 128));
      await expectBitExact(s, [x]);
      // the other hard accumulators, one channel at a time (bias moved so that input 5 hits them)
      for (const k of [1, 2]) {
        const moved = Int32Array.from(bias, (b, c) => b + hard[c * 3 + k] - hard[c * 3]);
        await expectBitExact(step({ ...l, bias: moved }), [x]);
      }
    }
  });
});
