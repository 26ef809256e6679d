/**
 * WASM int8 convolution kernels (runtime/kernels/conv_q.ts: depthwise with depth multiplier 1, one-channel depthwise,
 * pointwise; and the generic paths they leave to runtime/kernels/tflite.ts) against the TS oracle (executeConvInt),
 * bit for bit, on random geometries: batches, odd channel counts, kernel sizes, strides, dilations, SAME / VALID
 * padding, depth multipliers, per-channel multipliers and shifts of every kind the requantization distinguishes
 * (right shifts 1..13 with M > 2^30: the checked f32 path, including multipliers that put results exactly on rounding
 * ties; M = 2^30, no shift, left shifts, large right shifts: the general path), zero points and activation ranges.
 */
import { describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { ProgramMemory } from '../compiler/exec/memory.js';
import type { ConvIntStep } from '../compiler/ops/conv/index.js';
import type { PoolStep } from '../compiler/ops/pool/index.js';
import { convOutSize, convPadding } from '../compiler/ops/tflite.js';
import type { BufferRef, Program, Step } from '../compiler/plan/program.js';
import { rng } from './helpers/random-program.js';

const align16 = (n: number) => (n + 15) & ~15;

type Kind = 'depthwise' | 'depthwise1' | 'depthwiseMult' | 'pointwise' | 'conv';

interface Case { kind: Kind | 'pool'; step: ConvIntStep | PoolStep; inLen: number }

/** A random int8 convolution step of the given kind (buffers: input at arena 0, output after it). */
function randomCase(kind: Kind, seed: number): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(v: T[]) => v[Math.floor(r() * v.length)];
  const batches = int(1, 2);
  let inC: number, outC: number, filterC: number, kH: number, kW: number, strideH: number, strideW: number, dilH: number, dilW: number;
  const padding = pick(['SAME', 'VALID'] as const);
  const depthwise = kind.startsWith('depthwise');
  if (kind === 'pointwise') {
    inC = pick([1, 3, 8, 16, 17, 32, 40, 64]); outC = pick([1, 2, 5, 8, 16, 24, 33]); filterC = inC;
    kH = kW = 1; strideH = strideW = 1; dilH = dilW = 1;
  } else {
    kH = int(1, 5); kW = int(1, 5);
    strideH = int(1, 3); strideW = int(1, 3);
    dilH = r() < 0.25 ? 2 : 1; dilW = r() < 0.25 ? 2 : 1;
    if (kind === 'depthwise') { inC = pick([1, 3, 4, 7, 8, 9, 16, 20, 32]); filterC = 1; outC = inC; }
    else if (kind === 'depthwise1') { inC = 1; filterC = pick([1, 2, 5, 8, 12, 16]); outC = filterC; }
    else if (kind === 'depthwiseMult') { inC = int(2, 5); filterC = int(2, 3); outC = inC * filterC; }
    else { inC = pick([1, 2, 3, 8, 12]); filterC = inC; outC = pick([1, 4, 8, 9]); }
    if (r() < 0.3) { kH = kW = 3; dilH = dilW = 1; } else if (kind === 'depthwise1' && r() < 0.3) { kH = 3; kW = 4; }
  }
  const inH = int(Math.max(1, (kH - 1) * dilH + (padding === 'VALID' ? 1 : 0)), 11), inW = int(Math.max(1, (kW - 1) * dilW + (padding === 'VALID' ? 1 : 0)), 11);
  const outH = convOutSize(padding, strideH, dilH, inH, kH), outW = convOutSize(padding, strideW, dilW, inW, kW);
  const padH = convPadding(padding, strideH, dilH, inH, kH, outH), padW = convPadding(padding, strideW, dilW, inW, kW, outW);
  const wLen = depthwise ? kH * kW * outC : outC * kH * kW * filterC;
  const weights = Int8Array.from({ length: wLen }, () => (r() < 0.02 ? -128 : int(-127, 127)));
  const bias = r() < 0.15 ? null : Int32Array.from({ length: outC }, () => (r() < 0.05 ? int(-(2 ** 31), 2 ** 31 - 1) : int(-40000, 40000)));
  // one requantization regime per layer (the kernels pick theirs per layer), channels varied within it
  const regime = pick(['checked', 'checked', 'ties', 'general']);
  const multiplier = new Int32Array(outC), shift = new Int32Array(outC);
  for (let c = 0; c < outC; c++) {
    if (regime === 'general') {
      shift[c] = pick([0, 1, 3, -14, -20, -31, -5]);
      multiplier[c] = pick([2 ** 30, int(2 ** 30, 2 ** 31 - 1), int(1, 2 ** 31 - 1)]);
    } else {
      shift[c] = -int(1, 13);
      // ties: M = 2^30 + 2^j, so many accumulators land exactly on a rounding boundary (the exact fallback)
      multiplier[c] = regime === 'ties' ? 2 ** 30 + 2 ** int(20, 29) : int(2 ** 30 + 1, 2 ** 31 - 1);
    }
  }
  const actMin = r() < 0.5 ? -128 : int(-128, 0), actMax = r() < 0.5 ? 127 : int(Math.max(actMin, 0), 127);
  const inLen = batches * inH * inW * inC, outLen = batches * outH * outW * outC;
  const step: ConvIntStep = {
    op: depthwise ? 'depthwise_s8' : 'conv_s8', name: `${kind}${seed}`,
    in: { space: 'arena', offset: 0, dtype: 'int8', length: inLen } as BufferRef,
    out: { space: 'arena', offset: align16(inLen), dtype: 'int8', length: outLen } as BufferRef,
    batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH: dilH, dilationW: dilW, padH, padW, filterC,
    weights, bias, bias64: null, multiplier, shift, inZeroPoint: int(-128, 127), outZeroPoint: int(-128, 127), actMin, actMax,
  };
  return { kind, step, inLen };
}

/** float input (integer values) -> int8 arena input (scale 1) -> the convolution -> dequantized float output. */
function program(c: Case): Program {
  const s = c.step;
  const outLen = s.out.length;
  const steps = [
    { op: 'quantize', name: 'q', in: { space: 'input', offset: 0, dtype: 'float32', length: c.inLen }, out: s.in, scale: 1, zeroPoint: 0 },
    s,
    { op: 'dequantize', name: 'dq', in: s.out, out: { space: 'output', offset: 0, dtype: 'float32', length: outLen }, scale: 1, zeroPoint: 0 },
  ] as unknown as Step[];
  return {
    format: 'tinyforge-program/1', name: s.name, quant: 'int8',
    input: { name: 'x', shape: [c.inLen], dtype: 'float32' }, output: { name: 'y', shape: [outLen], dtype: 'float32' },
    arenaBytes: align16(align16(c.inLen) + outLen), steps,
  };
}

async function expectBitExact(c: Case, seed: number, inputs: Float32Array[] = []): Promise<void> {
  const p = program(c);
  const bytes = await emitWasm(p);
  const module = await WebAssembly.compile(new Uint8Array(bytes));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as { inputs: { address: number }[]; arena: { address: number } };
  const instance = await WebAssembly.instantiate(module, {});
  const r = rng(seed);
  for (let k = 0; k < 3 + inputs.length; k++) {
    // given inputs, full-range int8, or values near the zero point (the border taps' value)
    const zp = 'inZeroPoint' in c.step ? c.step.inZeroPoint : 0;
    const x = k >= 3 ? inputs[k - 3] : Float32Array.from({ length: c.inLen }, () => (k === 2 ? zp + Math.floor(r() * 5) - 2 : Math.floor(r() * 256) - 128))
      .map((v) => Math.max(-128, Math.min(127, v)));
    let mem: ProgramMemory | undefined;
    executeProgram(p, x, (_s, m) => { mem = m; });
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
    (instance.exports.run as () => void)();
    const o = c.step.out;
    const got = new Int8Array(memory, meta.arena.address + o.offset, o.length);
    const want = new Int8Array(mem!.spaces.arena, o.offset, o.length);
    expect(Array.from(got), `${c.step.name} input ${k}`).toEqual(Array.from(want));
  }
}

describe('WASM int8 convolution kernels, bit for bit with executeConvInt', () => {
  for (const kind of ['depthwise', 'depthwise1', 'pointwise', 'depthwiseMult', 'conv'] as Kind[]) {
    it(`${kind}: random geometries and quantization`, async () => {
      const n = kind === 'depthwiseMult' || kind === 'conv' ? 12 : 40;
      for (let i = 0; i < n; i++) {
        const seed = 1000 * (kind.length + 1) + i;
        await expectBitExact(randomCase(kind, seed), seed + 7);
      }
    }, 120_000);
  }

  it('accumulators where the f32 estimate floors wrong take the exact fallback', async () => {
    // per channel: a random multiplier and shift, and an accumulator whose estimate y = f32(a) * m + (1/2 +- h) (as the
    // kernel computes it) floors differently from the exact result: a 1x1 convolution with weight 1 and bias a - x
    const f = Math.fround, r = rng(99);
    const N = 8, P = 64;
    const multiplier = new Int32Array(N), shift = new Int32Array(N), bias = new Int32Array(N);
    const x = new Float32Array(P * 1);
    for (let c = 0; c < N; c++) {
      for (;;) {
        const M = 2 ** 30 + 1 + Math.floor(r() * (2 ** 30 - 2)), e = 1 + Math.floor(r() * 13);
        const m = f(M / 2 ** (31 + e));
        let found = false;
        for (let t = 0; t < 200000 && !found; t++) {
          const a = Math.floor((r() - 0.5) * 2 ** (e + 9));
          const exact = Number((BigInt(a) * BigInt(M) + 2n ** 30n + 2n ** BigInt(30 + e) - (a < 0 ? 2n ** 31n : 0n)) >> BigInt(31 + e));
          const y = f(f(f(a) * m) + f(0.5 + (a < 0 ? -1 : 1) * 2 ** -(e + 1)));
          if (Math.floor(y) !== exact && Math.abs(exact) < 100) {
            multiplier[c] = M; shift[c] = -e; bias[c] = a - 5; found = true;
          }
        }
        if (found) break;
      }
    }
    for (let i = 0; i < P; i++) x[i] = i % 3 === 0 ? 5 : Math.floor(r() * 256) - 128;
    const step: ConvIntStep = {
      op: 'conv_s8', name: 'hard', in: { space: 'arena', offset: 0, dtype: 'int8', length: P } as BufferRef,
      out: { space: 'arena', offset: align16(P), dtype: 'int8', length: P * N } as BufferRef,
      batches: 1, inH: 8, inW: 8, inC: 1, outH: 8, outW: 8, outC: N, kH: 1, kW: 1, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
      padH: 0, padW: 0, filterC: 1, weights: new Int8Array(N).fill(1), bias, bias64: null, multiplier, shift, inZeroPoint: 0, outZeroPoint: 0,
      actMin: -128, actMax: 127,
    };
    await expectBitExact({ kind: 'pointwise', step, inLen: P }, 3, [x]);
  });

  it('a large layer on exact rounding ties takes the exact fallback and stays exact', async () => {
    const c = randomCase('depthwise', 77);
    const s = c.step as ConvIntStep;
    Object.assign(s, { batches: 1, inH: 20, inW: 20, inC: 16, outC: 16, outH: 20, outW: 20, kH: 3, kW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padH: 1, padW: 1, filterC: 1 });
    s.weights = Int8Array.from({ length: 9 * 16 }, (_, i) => ((i * 37) % 255) - 127);
    s.bias = Int32Array.from({ length: 16 }, (_, i) => (i * 7919) % 5000 - 2500);
    Object.assign(s, { inZeroPoint: 3, outZeroPoint: -5, actMin: -128, actMax: 127 });
    s.multiplier = Int32Array.from({ length: 16 }, (_, i) => 2 ** 30 + 2 ** (29 - (i % 4)));
    s.shift = Int32Array.from({ length: 16 }, (_, i) => -1 - (i % 6));
    s.in = { ...s.in, length: 20 * 20 * 16 };
    s.out = { ...s.out, offset: align16(20 * 20 * 16), length: 20 * 20 * 16 };
    await expectBitExact({ kind: 'depthwise', step: s, inLen: 20 * 20 * 16 }, 5);
  });

  it('avg_pool_s8: random windows, strides, padding and activation ranges', async () => {
    for (let i = 0; i < 40; i++) {
      const r = rng(500 + i);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const padding = r() < 0.5 ? 'SAME' : 'VALID';
      const kH = int(1, 4), kW = int(1, 4), strideH = int(1, 3), strideW = int(1, 3);
      const inH = int(padding === 'VALID' ? kH : 1, 9), inW = int(padding === 'VALID' ? kW : 1, 9), channels = [1, 3, 8, 13, 16, 24][i % 6], batches = int(1, 2);
      const outH = convOutSize(padding, strideH, 1, inH, kH), outW = convOutSize(padding, strideW, 1, inW, kW);
      const actMin = r() < 0.6 ? -128 : int(-128, 0), actMax = r() < 0.6 ? 127 : int(actMin, 127);
      const inLen = batches * inH * inW * channels, outLen = batches * outH * outW * channels;
      const step: PoolStep = {
        op: 'avg_pool_s8', name: `pool${i}`, in: { space: 'arena', offset: 0, dtype: 'int8', length: inLen } as BufferRef,
        out: { space: 'arena', offset: align16(inLen), dtype: 'int8', length: outLen } as BufferRef,
        batches, inH, inW, channels, outH, outW, kH, kW, strideH, strideW,
        padH: convPadding(padding, strideH, 1, inH, kH, outH), padW: convPadding(padding, strideW, 1, inW, kW, outW), actMin, actMax,
      };
      await expectBitExact({ kind: 'pool', step, inLen }, 600 + i);
    }
  });
});
