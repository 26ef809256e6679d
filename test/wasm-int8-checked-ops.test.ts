/**
 * WASM add_s8 / mul_s8 on their checked f32 requantization (add_s8_f / mul_s8_f of runtime/kernels/int8_ops.ts, chosen
 * per step by addS8Checked / mulS8Checked in compiler/ops/elementwise/wasm.ts) against the TS oracle, bit for bit, on
 * every pair of int8 inputs: quantization parameters as the int8 lowering makes them and random ones (multipliers
 * up to 2^30 and below, shifts 0..31), and parameters picked so that some pairs' f32 estimate rounds wrong and only
 * the exact fallback gives the oracle's bits. Broadcast second operands (period < length) too.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import { addS8Checked, mulS8Checked } from '../compiler/ops/elementwise/wasm.js';
import type { AddS8Step, BufferRef, MulS8Step, Program, Step } from '../compiler/plan/program.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../compiler/quant/fixedpoint.js';
import { rng } from './helpers/random-program.js';

const align16 = (n: number) => (n + 15) & ~15;
const f = Math.fround;
const N = 65536;

type Params = Omit<AddS8Step, 'op' | 'name' | 'in' | 'out' | 'aux' | 'length' | 'period'> | Omit<MulS8Step, 'op' | 'name' | 'in' | 'out' | 'aux' | 'length' | 'period'>;

function stepOf(op: 'add_s8' | 'mul_s8', p: Params, length: number, period: number): AddS8Step | MulS8Step {
  const a: BufferRef = { space: 'arena', offset: 0, dtype: 'int8', length };
  const b: BufferRef = { space: 'arena', offset: align16(length), dtype: 'int8', length: period };
  const out: BufferRef = { space: 'arena', offset: align16(length) + align16(period), dtype: 'int8', length };
  return { op, name: op, in: a, aux: [b], out, length, period, ...p } as AddS8Step | MulS8Step;
}

/** a (length values) and b (period values) from the float input (scale 1) -> the step -> dequantized output. */
function program(s: AddS8Step | MulS8Step): Program {
  const { length, period } = s;
  const steps = [
    { op: 'quantize', name: 'qa', in: { space: 'input', offset: 0, dtype: 'float32', length }, out: s.in, scale: 1, zeroPoint: 0 },
    { op: 'quantize', name: 'qb', in: { space: 'input', offset: 4 * length, dtype: 'float32', length: period }, out: s.aux![0], scale: 1, zeroPoint: 0 },
    s,
    { op: 'dequantize', name: 'dq', in: s.out, out: { space: 'output', offset: 0, dtype: 'float32', length }, scale: 1, zeroPoint: 0 },
  ] as unknown as Step[];
  return {
    format: 'tinyforge-program/1', name: s.op, quant: 'int8',
    input: { name: 'x', shape: [length + period], dtype: 'float32' }, output: { name: 'y', shape: [length], dtype: 'float32' },
    arenaBytes: s.out.offset + align16(length), steps,
  };
}

async function expectBitExact(s: AddS8Step | MulS8Step, x: Float32Array): Promise<void> {
  const p = program(s);
  const module = await WebAssembly.compile(new Uint8Array(await emitWasm(p)));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as { inputs: { address: number }[]; arena: { address: number } };
  const instance = await WebAssembly.instantiate(module, {});
  let mem: ProgramMemory | undefined;
  executeProgram(p, x, (_s, m) => { mem = m; });
  const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
  new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
  (instance.exports.run as () => void)();
  const got = new Int8Array(memory, meta.arena.address + s.out.offset, s.length);
  const want = new Int8Array(mem!.spaces.arena, s.out.offset, s.length);
  let bad = -1;
  for (let i = 0; i < s.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
  expect(bad, `${s.op} ${JSON.stringify({ ...s, in: undefined, out: undefined, aux: undefined })}: first difference at ${bad}: ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

/** Every (a, b) pair: a = i & 255, b = i >> 8 (as int8). */
const allPairs = () => Float32Array.from({ length: 2 * N }, (_, i) => (i < N ? (i & 255) - 128 : ((i - N) >> 8) - 128));

/** The kernels' f32 estimate (no fallback) and the exact result differ for some pair (the fallback matters). */
function estimateWrong(op: 'add_s8' | 'mul_s8', p: Params): boolean {
  const near = (y: number) => { const fl = Math.floor(y), d = y - fl; return d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1; };
  const withHalf = (t: number, h: number) => f(t + (t < 0 || Object.is(t, -0) ? -h : h));
  for (let a = -128; a < 128; a++) {
    for (let b = -128; b < 128; b++) {
      let est: number, exact: number;
      if (op === 'mul_s8') {
        const q = p as MulS8Step, e = -q.shift;
        est = near(withHalf(f(f((a - q.aZeroPoint) * (b - q.bZeroPoint)) * f(q.multiplier / 2 ** (31 + e))), e > 0 ? 2 ** -(e + 1) : 0));
        exact = mbqm((a - q.aZeroPoint) * (b - q.bZeroPoint), q.multiplier, q.shift);
      } else {
        const q = p as AddS8Step, c = addS8Checked(stepOf('add_s8', q, 16, 16) as AddS8Step)!;
        est = near(withHalf(f(f(f(a - q.aZeroPoint) * f(c.ka)) + f(f(b - q.bZeroPoint) * f(c.kb))), c.h));
        exact = mbqm(mbqm((a - q.aZeroPoint) * 2 ** 20, q.aMultiplier, q.aShift) + mbqm((b - q.bZeroPoint) * 2 ** 20, q.bMultiplier, q.bShift), q.outMultiplier, q.outShift);
      }
      if (est !== exact && Math.abs(exact) < 200) return true;
    }
  }
  return false;
}

function addParams(r: () => number, sa: number, sb: number, so: number): Params {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const twiceMax = 2 * Math.max(sa, sb);
  const qa = quantizeMultiplier(sa / twiceMax), qb = quantizeMultiplier(sb / twiceMax), qo = quantizeMultiplier(twiceMax / (2 ** 20 * so));
  return {
    aZeroPoint: int(-128, 127), aMultiplier: qa.multiplier, aShift: qa.shift, bZeroPoint: int(-128, 127), bMultiplier: qb.multiplier, bShift: qb.shift,
    outMultiplier: qo.multiplier, outShift: qo.shift, outZeroPoint: int(-128, 127),
  };
}

function mulParams(r: () => number): Params {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(v: T[]) => v[Math.floor(r() * v.length)];
  const regime = pick(['real', 'real', 'small', 'ties']);
  let multiplier: number, shift: number;
  if (regime === 'real') { const q = quantizeMultiplier(10 ** (-4 + 3.9 * r())); multiplier = q.multiplier; shift = q.shift; }
  else if (regime === 'small') { multiplier = pick([0, 1, int(1, 2 ** 30), 2 ** 30]); shift = -int(0, 20); }
  else { multiplier = 2 ** 30 + pick([0, 2 ** int(10, 29)]); shift = -int(0, 14); }
  return { aZeroPoint: int(-128, 127), bZeroPoint: pick([-128, 0, int(-128, 127)]), multiplier, shift, outZeroPoint: int(-128, 127) };
}

describe('WASM add_s8 / mul_s8 on the checked f32 path, every input pair bit for bit with the oracle', () => {
  it('add_s8: scales as the int8 lowering makes them', async () => {
    const r = rng(21);
    for (let i = 0; i < 12; i++) {
      const sa = 10 ** (-3 + 2 * r()), sb = sa * 10 ** (-1.5 + 3 * r()), so = Math.max(sa, sb) * 10 ** (-0.6 + 1.2 * r());
      const p = addParams(r, sa, sb, so);
      const s = stepOf('add_s8', p, N, N);
      expect(addS8Checked(s as AddS8Step), JSON.stringify(p)).not.toBeNull();
      await expectBitExact(s, allPairs());
    }
  }, 120_000);

  it('mul_s8: real, small and tie-prone multipliers, shifts 0..20', async () => {
    const r = rng(22);
    for (let i = 0; i < 12; i++) {
      const p = mulParams(r), s = stepOf('mul_s8', p, N, N);
      expect(mulS8Checked(s as MulS8Step), JSON.stringify(p)).toBe(true);
      await expectBitExact(s, allPairs());
    }
  }, 120_000);

  it('parameters where the f32 estimate rounds some pairs wrong take the exact fallback', async () => {
    const r = rng(23);
    for (const op of ['add_s8', 'mul_s8'] as const) {
      let found = 0;
      for (let t = 0; t < 400 && found < 3; t++) {
        const p = op === 'mul_s8' ? mulParams(r) : addParams(r, 0.01, 0.01 * 10 ** (-1 + 2 * r()), 0.01 * 10 ** (-0.4 + 0.8 * r()));
        if (op === 'add_s8' && !addS8Checked(stepOf(op, p, 16, 16) as AddS8Step)) continue;
        if (!estimateWrong(op, p)) continue;
        found++;
        await expectBitExact(stepOf(op, p, N, N), allPairs());
      }
      expect(found, `${op}: parameters with wrong estimates found`).toBeGreaterThan(0);
    }
  }, 120_000);

  it('broadcast second operands and the steps left to the integer kernels', async () => {
    const r = rng(24);
    for (const [length, period] of [[96, 16], [153, 17], [1536, 48], [40, 1], [64, 64]]) {
      const x = Float32Array.from({ length: length + period }, () => Math.floor(r() * 256) - 128);
      await expectBitExact(stepOf('add_s8', addParams(r, 0.02, 0.05, 0.04), length, period), x);
      await expectBitExact(stepOf('mul_s8', mulParams(r), length, period), x);
      // a left shift: the integer kernels
      const q = quantizeMultiplier(3.7);
      const mul = stepOf('mul_s8', { aZeroPoint: 3, bZeroPoint: -9, multiplier: q.multiplier, shift: q.shift, outZeroPoint: 1 }, length, period);
      expect(mulS8Checked(mul as MulS8Step)).toBe(false);
      await expectBitExact(mul, x);
    }
  }, 60_000);
});
