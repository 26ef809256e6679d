/**
 * WASM attention_s8 (runtime/kernels/seq_ops.ts: 4 queries at a time in the full pass, one at a time below 4) against
 * the TS oracle (executeAttentionS8), bit for bit: random token counts (not multiples of 4 or 8), heads, head
 * dimensions (odd, below and above 32), causal and bidirectional, padding masks (including none attended), zero
 * points, exp bases and output scales.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import type { AttentionS8Step } from '../compiler/ops/attention/index.js';
import type { BufferRef, Program, Step } from '../compiler/plan/program.js';
import { rng } from './helpers/random-program.js';

const align16 = (n: number) => (n + 15) & ~15;

interface Case { step: AttentionS8Step; T: number; D: number }

function randomCase(seed: number, T: number, heads: number, dh: number, causal: boolean): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const D = heads * dh;
  const arena = (offset: number, length: number): BufferRef => ({ space: 'arena', offset, dtype: 'int8', length });
  let at = 0;
  const take = (length: number) => { const ref = arena(at, length); at += align16(length); return ref; };
  const q = take(T * D), k = take(T * D), v = take(T * D), mask = take(T), out = take(T * D);
  const c = 10 ** (-4 + 3 * r());
  const step: AttentionS8Step = {
    op: 'attention_s8', name: `attn${seed}`, in: q, aux: [k, v, mask], out, tokens: T, heads, headDim: dh, causal,
    qZeroPoint: int(-20, 20), kZeroPoint: r() < 0.2 ? -128 : int(-20, 20), vZeroPoint: r() < 0.2 ? 127 : int(-20, 20),
    maskZeroPoint: 0, maskThreshold: 64,
    base: Float32Array.from([Math.exp(-c), Math.exp(-c * 256), Math.exp(-c * 65536)]),
    outRatio: Math.fround(10 ** (-3 + 2.5 * r())), outZeroPoint: int(-128, 127),
  };
  return { step, T, D };
}

function program(c: Case): Program {
  const { step: s, T, D } = c;
  const [k, v, mask] = s.aux!;
  const input = (i: number, length: number): BufferRef => ({ space: 'input', offset: i * T * D * 4, dtype: 'float32', length });
  const steps = [
    { op: 'quantize', name: 'q', in: input(0, T * D), out: s.in, scale: 1, zeroPoint: 0 },
    { op: 'quantize', name: 'k', in: input(1, T * D), out: k, scale: 1, zeroPoint: 0 },
    { op: 'quantize', name: 'v', in: input(2, T * D), out: v, scale: 1, zeroPoint: 0 },
    { op: 'quantize', name: 'mask', in: input(3, T), out: mask, scale: 1, zeroPoint: 0 },
    s,
    { op: 'dequantize', name: 'dq', in: s.out, out: { space: 'output', offset: 0, dtype: 'float32', length: T * D }, scale: 1, zeroPoint: 0 },
  ] as unknown as Step[];
  return {
    format: 'tinyforge-program/1', name: s.name, quant: 'int8',
    input: { name: 'x', shape: [3 * T * D + T], dtype: 'float32' }, output: { name: 'y', shape: [T * D], dtype: 'float32' },
    arenaBytes: s.out.offset + align16(T * D), steps,
  };
}

/** q, k, v (full range or near the zero points) and a mask (all real tokens, random padding, or none). */
function inputs(c: Case, seed: number): Float32Array[] {
  const r = rng(seed);
  const { T, D } = c;
  const xs: Float32Array[] = [];
  for (const kind of ['full', 'small', 'padded', 'none']) {
    const x = new Float32Array(3 * T * D + T);
    for (let i = 0; i < 3 * T * D; i++) x[i] = kind === 'small' ? Math.floor(r() * 9) - 4 : Math.floor(r() * 256) - 128;
    for (let j = 0; j < T; j++) x[3 * T * D + j] = kind === 'none' ? 0 : kind === 'padded' && (r() < 0.3 || j === T - 1) ? 0 : 127;
    xs.push(x);
  }
  return xs;
}

async function expectBitExact(c: Case, seed: number): Promise<void> {
  const p = program(c);
  const module = await WebAssembly.compile(new Uint8Array(await emitWasm(p)));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as { inputs: { address: number }[]; arena: { address: number } };
  const instance = await WebAssembly.instantiate(module, {});
  for (const [i, x] of inputs(c, seed).entries()) {
    let mem: ProgramMemory | undefined;
    executeProgram(p, x, (_s, m) => { mem = m; });
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
    (instance.exports.run as () => void)();
    const o = c.step.out;
    const got = new Int8Array(memory, meta.arena.address + o.offset, o.length);
    const want = new Int8Array(mem!.spaces.arena, o.offset, o.length);
    expect(Array.from(got), `${c.step.name} (T ${c.T}, ${c.step.heads} x ${c.step.headDim}, causal ${c.step.causal}) input ${i}`).toEqual(Array.from(want));
  }
}

describe('WASM attention_s8 matches the oracle bit for bit', () => {
  it('random token counts, heads, head dimensions, masks, causal and not', async () => {
    const r = rng(3);
    const pick = <T>(v: T[]) => v[Math.floor(r() * v.length)];
    for (let i = 0; i < 36; i++) {
      const T = pick([1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 40]);
      const dh = pick([1, 2, 3, 7, 8, 13, 26, 31, 32, 33, 64]);
      const heads = pick([1, 2, 3, 5]);
      await expectBitExact(randomCase(100 + i, T, heads, dh, r() < 0.4), 200 + i);
    }
  }, 120_000);

  it('TinyBERT-sized heads (128 tokens, 12 x 26)', async () => {
    await expectBitExact(randomCase(7, 128, 12, 26, false), 8);
    await expectBitExact(randomCase(9, 128, 12, 26, true), 10);
  }, 60_000);
});
