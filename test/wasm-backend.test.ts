import { describe, expect, it } from 'vitest';
import { emitWasm, int8Steps } from '../compiler/backends/wasm/index.js';
import { kernelsWasm } from '../compiler/backends/wasm/kernels.js';
import { executeProgram } from '../compiler/exec/program.js';
import { erf as erfRef } from '../compiler/ops/activation.js';
import type { Activation, DenseF32Step, Program } from '../compiler/plan/program.js';
import { multiplyByQuantizedMultiplier, quantizeValue } from '../compiler/quant/fixedpoint.js';
import { load, TinyforgeRuntimeError, type TinyforgeWasmMetadata } from '../runtime/index.js';
import { randomFloatProgram, randomInputs, randomInt8Program, rng } from './helpers/random-program.js';

const SIZES: Array<[number, number, number]> = [[26, 64, 3], [7, 5, 1], [300, 200, 17], [16, 32, 16], [1, 1, 1]];

/** Random inputs plus values that hit the quantizer's edges (NaN, infinities, clamping, ties, -0). */
function inputsFor(features: number, seed: number): Float32Array[] {
  const xs = randomInputs(12, features, seed, 4);
  const edge = [NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0, 0.015625, -0.015625, 0.046875, -0.046875, 3.984375, -3.984375, 8, -8, 1e-40];
  xs.push(Float32Array.from({ length: features }, (_, i) => edge[i % edge.length]));
  xs.push(Float32Array.from({ length: features }, (_, i) => (i % 2 ? 1 : -1) * (i + 0.5) * 0.03125));
  return xs;
}

function withActivation(p: Program, act: Activation): Program {
  return { ...p, steps: p.steps.map((s) => (s.op === 'dense_f32' ? { ...s, activation: act } as DenseF32Step : s)) };
}

function metadata(bytes: Uint8Array): TinyforgeWasmMetadata {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'tinyforge');
  return JSON.parse(new TextDecoder().decode(section)) as TinyforgeWasmMetadata;
}

describe('WASM backend: int8 programs are bit-identical to the TS oracle', () => {
  for (const [i, h, o] of SIZES) {
    it(`${i}->${h}->${o}`, async () => {
      const p = randomInt8Program(i, h, o, i * 7 + h);
      const bytes = await emitWasm(p);
      expect(WebAssembly.validate(bytes)).toBe(true);
      const m = await load(bytes);
      const xs = inputsFor(i, o + 11);
      for (const x of xs) {
        const ref = executeProgram(p, x);
        const got = m.run({ input: x }, { raw: true });
        expect(m.lastOutputInt8()).toEqual(ref.outputQ);
        expect(new Uint32Array(got.output.buffer)).toEqual(new Uint32Array(ref.output.buffer));
        // int8 API: same int8 result from the quantized input
        const q = Int8Array.from(x, (v) => quantizeValue(v, p.input.quant!.scale, p.input.quant!.zeroPoint));
        expect(m.runInt8({ input: q }).output).toEqual(ref.outputQ);
      }
      // batch: k samples in one call, outputs concatenated
      const batch = new Float32Array(xs.length * i);
      xs.forEach((x, k) => batch.set(x, k * i));
      const out = m.run({ input: batch }, { raw: true });
      expect(out.output.length).toBe(xs.length * o);
      xs.forEach((x, k) => {
        const ref = executeProgram(p, x);
        expect(out.output.subarray(k * o, (k + 1) * o)).toEqual(ref.output);
        expect(m.lastOutputInt8().subarray(k * o, (k + 1) * o)).toEqual(ref.outputQ);
      });
    });
  }
});

describe('WASM backend: float programs match the oracle within 1e-5', () => {
  const acts: Activation[] = ['gelu', 'relu', 'tanh', 'sigmoid', 'linear'];
  for (const [i, h, o] of SIZES) {
    for (const act of acts) {
      it(`${i}->${h}->${o} ${act}`, async () => {
        const base = randomFloatProgram(i, h, o, i + h + o);
        const p = act === 'gelu' ? base : withActivation(base, act); // default: gelu then sigmoid
        const m = await load(await emitWasm(p));
        let worst = 0;
        for (const x of randomInputs(8, i, h, 3)) {
          const ref = executeProgram(p, x).output;
          const got = m.run({ input: Array.from(x) }).output;
          for (let k = 0; k < o; k++) worst = Math.max(worst, Math.abs(got[k] - ref[k]) / Math.max(1, Math.abs(ref[k])));
        }
        expect(worst).toBeLessThan(1e-5);
      });
    }
  }
});

describe('WASM backend: module shape', () => {
  it('is self-contained, exports run/run_int8/addresses and carries metadata', async () => {
    const p = randomInt8Program(26, 64, 3);
    const bytes = await emitWasm(p);
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod)).toEqual([]);
    const names = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
    expect(names).toEqual(['input_ptr', 'int8_input_ptr', 'int8_output_ptr', 'memory', 'output_ptr', 'run', 'run_int8']);
    const meta = metadata(bytes);
    expect(meta).toMatchObject({ format: 'tinyforge-wasm/1', name: p.name, quant: 'int8', functions: { run: 'run', runInt8: 'run_int8' } });
    expect(meta.inputs[0]).toMatchObject({ name: 'input', shape: [26], dtype: 'float32', quant: p.input.quant });
    const inst = new WebAssembly.Instance(mod, {});
    expect((inst.exports.input_ptr as WebAssembly.Global).value).toBe(meta.inputs[0].address);
    expect((inst.exports.int8_output_ptr as WebAssembly.Global).value).toBe(meta.outputs[0].int8Address);
    expect(meta.inputs[0].address % 16).toBe(0);
    expect(meta.arena.address % 16).toBe(0);
    expect(int8Steps(p).map((s) => s.op)).toEqual(['dense_s8', 'dense_s8']);

    const f = await emitWasm(randomFloatProgram(7, 5, 1));
    const fmod = new WebAssembly.Module(f);
    expect(WebAssembly.Module.exports(fmod).map((e) => e.name).sort()).toEqual(['input_ptr', 'memory', 'output_ptr', 'run']);
  });
});

describe('kernels', () => {
  it('requantize matches multiplyByQuantizedMultiplier, including wrap-around and saturation', async () => {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(await kernelsWasm()), {});
    const requantize = inst.exports.requantize as (x: number, m: number, s: number) => number;
    const r = rng(99);
    const cases: Array<[number, number, number]> = [
      [-2147483648, -2147483648, 0], [2147483647, 2147483647, 0], [-2147483648, 2147483647, 0], [1, -2147483648, 0],
      [123456, 1 << 30, 30], [-123456, 1 << 30, 31], [5, 1073741824, -31], [-5, 1073741824, -1], [3, 1610612736, -2], [-3, 1610612736, -2],
      [2147483647, 1073741824, -31], [-2147483648, 1073741824, -31],
    ];
    for (let k = 0; k < 20000; k++) {
      const x = ((r() * 4294967296) | 0) >> Math.floor(r() * 31);
      const m = (r() * 4294967296) | 0;
      const s = Math.floor(r() * 64) - 33;
      cases.push([x, m, s]);
    }
    for (const [x, m, s] of cases) expect([x, m, s, requantize(x, m, s)]).toEqual([x, m, s, multiplyByQuantizedMultiplier(x, m, s)]);
  });

  it('erf is accurate to 1e-9 relative', async () => {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(await kernelsWasm()), {});
    const erf = inst.exports.erf as (x: number) => number;
    let worst = 0;
    for (let k = -80000; k <= 80000; k++) {
      const x = k / 10000;
      const ref = erfRef(x);
      if (ref !== 0) worst = Math.max(worst, Math.abs(erf(x) - ref) / Math.abs(ref));
    }
    for (const x of [1e-300, 1e-8, -1e-8, 0.999999, 1, 2.4999999, 2.5, 5.9999, 6, 30]) {
      worst = Math.max(worst, Math.abs(erf(x) - erfRef(x)) / Math.abs(erfRef(x)));
    }
    expect(erf(0)).toBe(0);
    expect(worst).toBeLessThan(1e-9);
  });
});

describe('runtime errors are one line and name the problem', () => {
  const expectError = (fn: () => unknown, pattern: RegExp) => {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TinyforgeRuntimeError);
    const msg = (err as Error).message;
    expect(msg).not.toMatch(/\n/);
    expect(msg).toMatch(pattern);
  };
  const expectReject = async (p: Promise<unknown>, pattern: RegExp) => {
    let err: unknown;
    try { await p; } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TinyforgeRuntimeError);
    expect((err as Error).message).not.toMatch(/\n/);
    expect((err as Error).message).toMatch(pattern);
  };

  it('for bad feeds', async () => {
    const m = await load(await emitWasm(randomInt8Program(26, 64, 3)));
    expectError(() => m.run({}), /missing feed 'input'.*shape \[26\]/);
    expectError(() => m.run({ input: new Float32Array(25) }), /feed 'input' has 25 values; expected shape \[26\]/);
    expectError(() => m.run({ input: new Float64Array(26) as unknown as Float32Array }), /feed 'input' must be a Float32Array or number\[\], got Float64Array/);
    expectError(() => m.run({ input: new Float32Array(26), extra: [1] }), /unknown feed 'extra'/);
    expectError(() => m.runInt8({ input: new Float32Array(26) as unknown as Int8Array }), /must be an Int8Array, got Float32Array/);
    expectError(() => m.lastOutputInt8(), /run\(feeds, \{ raw: true \}\)/);
    const f = await load(await emitWasm(randomFloatProgram(7, 5, 1)));
    expectError(() => f.runInt8({ input: new Int8Array(7) }), /needs an int8 model/);
    expect(f.run({ input: new Float32Array(14) }).output.length).toBe(2);
  });

  it('for bytes that are not a tinyforge module', async () => {
    await expectReject(load(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])), /no 'tinyforge' custom section/);
    await expectReject(load(new Uint8Array([1, 2, 3, 4])), /not a valid WebAssembly module/);
    await expectReject(load('model.wasm' as unknown as Uint8Array), /takes the model's bytes/);
  });
});
