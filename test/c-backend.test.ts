import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { emitC } from '../compiler/backends/c/index.js';
import { cFloat } from '../compiler/backends/c/cformat.js';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { requantFastC } from '../compiler/ops/dense/c.js';
import { multiplyByQuantizedMultiplier } from '../compiler/quant/fixedpoint.js';
import { randomFloatProgram, randomInputs, randomInt8Program, rng } from './helpers/random-program.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tf-cbackend-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INT8_SHAPES: [number, number, number][] = [[26, 64, 3], [7, 5, 1], [300, 200, 17], [1, 1, 1], [9, 13, 6]];
const WARN = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off', '-c'];
const ARM = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];

async function compiles(p: Program, target: 'c' | 'cortex-m4f', dspWeights?: 'int8' | 'int16') {
  const src = emitC(p, { target, dspWeights });
  const sub = mkdtempSync(join(dir, 'src-'));
  writeFileSync(join(sub, 'model.h'), src['model.h']);
  writeFileSync(join(sub, 'model.c'), src['model.c']);
  await run('gcc', ['-O2', ...WARN, '-o', join(sub, 'h.o'), join(sub, 'model.c')]);
  await run('arm-none-eabi-gcc', ['-O2', ...ARM, ...WARN, '-o', join(sub, 'a.o'), join(sub, 'model.c')]);
  return src;
}

function expectClose(got: Float32Array, want: Float32Array) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
}

describe('C backend: formatting', () => {
  it('emits exact hex float literals', () => {
    expect(cFloat(0.1875)).toBe('0x1.8p-3f');
    expect(cFloat(1)).toBe('0x1p0f');
    expect(cFloat(-0)).toBe('-0.0f');
    expect(cFloat(1e-45)).toBe('0x0.000002p-126f');
    expect(cFloat(Math.fround(0.1))).toBe('0x1.99999ap-4f');
  });
});

describe('C backend: int8 programs are bit-identical to the TS oracle', () => {
  for (const [a, b, c] of INT8_SHAPES) {
    it(`${a}->${b}->${c}`, async () => {
      const p = randomInt8Program(a, b, c, a * 7 + c);
      const inputs = randomInputs(6, a, a + b);
      const want = inputs.map((x) => executeProgram(p, x));
      const src = await compiles(p, 'c');
      expect(src['model.h']).toContain('int tf_model_run_int8(const int8_t *in, int8_t *out);');
      for (const dsp of ['int8', 'int16'] as const) await compiles(p, 'cortex-m4f', dsp);
      const runs = [
        await runOnCHost(p, inputs, { target: 'c' }),
        await runOnCHost(p, inputs, { target: 'cortex-m4f', dspWeights: 'int8' }),
        await runOnCHost(p, inputs, { target: 'cortex-m4f', dspWeights: 'int16' }),
      ];
      for (const r of runs) {
        want.forEach((w, s) => {
          expect(Array.from(r.outputsQ![s])).toEqual(Array.from(w.outputQ!));
          // dequantization is exact, so the float API output is bit-identical too
          expect(Array.from(r.outputs[s])).toEqual(Array.from(w.output));
        });
      }
    });
  }

  it('survives extreme weights, inputs and requantization parameters', async () => {
    const p = randomInt8Program(37, 19, 5, 99);
    for (const s of p.steps) {
      if (s.op !== 'dense_s8') continue;
      s.weights.fill(-128, 0, Math.floor(s.weights.length / 2));
      s.weights.fill(127, Math.floor(s.weights.length / 2));
      s.multiplier[0] = 2147483647; s.shift[0] = 5;
      s.multiplier[1] = 1073741824; s.shift[1] = -31;
    }
    const inputs = [...randomInputs(3, 37, 5, 20), new Float32Array(37).fill(NaN), new Float32Array(37).fill(-1e9)];
    const want = inputs.map((x) => executeProgram(p, x));
    for (const dspWeights of [undefined, 'int8', 'int16'] as const) {
      const r = await runOnCHost(p, inputs, { target: dspWeights ? 'cortex-m4f' : 'c', dspWeights });
      want.forEach((w, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(w.outputQ!)));
    }
  });
});

describe('C backend: float programs', () => {
  for (const [a, b, c] of [[26, 64, 3], [300, 200, 17], [7, 5, 1]] as [number, number, number][]) {
    it(`${a}->${b}->${c} within 1e-5`, async () => {
      const p = randomFloatProgram(a, b, c, a + 1);
      const inputs = randomInputs(5, a, 11);
      await compiles(p, 'c');
      await compiles(p, 'cortex-m4f');
      const r = await runOnCHost(p, inputs, { target: 'c' });
      expect(r.outputsQ).toBeUndefined();
      inputs.forEach((x, s) => expectClose(r.outputs[s], executeProgram(p, x).output));
    });
  }

  it('supports every activation', async () => {
    for (const act of ['relu', 'tanh', 'sigmoid', 'gelu', 'linear'] as const) {
      const p = randomFloatProgram(10, 8, 4, 3);
      for (const s of p.steps) if (s.op === 'dense_f32') s.activation = act;
      const inputs = randomInputs(3, 10, 4);
      const r = await runOnCHost(p, inputs);
      inputs.forEach((x, s) => expectClose(r.outputs[s], executeProgram(p, x).output));
    }
  });
});

/** One quantize -> dense_s8 (n -> m) -> dequantize program with extreme-leaning random data. */
function denseProgram(n: number, m: number, seed: number, opts: { extreme?: boolean; lut?: boolean; relu?: boolean } = {}): Program {
  const p = randomInt8Program(n, m, 1, seed);
  const d = p.steps[1];
  if (d.op !== 'dense_s8') throw new Error('unexpected program');
  if (opts.extreme) for (let i = 0; i < d.weights.length; i++) d.weights[i] = i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : d.weights[i];
  if (!opts.lut) d.lut = null;
  if (opts.relu) { d.actMin = d.outZeroPoint; d.actMax = 127; }
  const out = { ...d.out, length: m };
  d.out = out;
  const dq = p.steps[3];
  dq.in = out;
  dq.out = { ...dq.out, length: m };
  p.steps = [p.steps[0], d, dq];
  p.int8Output = out;
  p.output = { ...p.output, shape: [m] };
  return p;
}

/** Awkward shapes for the DSP kernels: rows not a multiple of 4, columns not a multiple of 8, 1 column,
 *  more than one 496-column chunk. */
export const AWKWARD: Array<[number, number]> = [[1, 7], [3, 1], [13, 6], [9, 5], [1001, 3], [1030, 2], [500, 9], [8, 4]];

describe('C backend: DSP kernels on awkward shapes (host emulation of the packing)', () => {
  for (const [n, m] of AWKWARD) {
    it(`dense ${n} -> ${m}`, async () => {
      for (const [k, opts] of [[0, {}], [1, { extreme: true, relu: true }], [2, { lut: true }]] as const) {
        const p = denseProgram(n, m, n * 31 + m + k, opts);
        const inputs = [...randomInputs(3, n, n + m + k, 6), new Float32Array(n).fill(-1e9), new Float32Array(n).fill(1e9)];
        const want = inputs.map((x) => executeProgram(p, x));
        for (const dspWeights of ['int8', 'int16'] as const) {
          await compiles(p, 'cortex-m4f', dspWeights);
          const r = await runOnCHost(p, inputs, { target: 'cortex-m4f', dspWeights });
          want.forEach((w, s) => expect(Array.from(r.outputsQ![s])).toEqual(Array.from(w.outputQ!)));
        }
      }
    });
  }
});

describe('C backend: fast requantization (SMMULR form) equals multiplyByQuantizedMultiplier', () => {
  it('on the edges of its domain and exhaustively on a window', async () => {
    const cases: number[] = [];
    const A = [-(2 ** 30) + 1, -(2 ** 30) + 2, -(2 ** 30) + 3, -65537, -65536, -32769, -32768, -2, -1, 0, 1, 2, 32767, 32768, 65535, 65536, 2 ** 30 - 3, 2 ** 30 - 2, 2 ** 30 - 1];
    const M = [0, 1, 2 ** 30, 2 ** 30 + 1, 1518500250, 2 ** 31 - 2, 2 ** 31 - 1, -1, -(2 ** 30), -(2 ** 31) + 1, -(2 ** 31)];
    for (const a of A) for (const m of M) for (let rs = 1; rs <= 31; rs++) cases.push(a, m, rs);
    const r = rng(12345);
    for (let k = 0; k < 200000; k++) {
      const a = Math.floor(r() * 2 ** 31) - 2 ** 30 + 1; // [-2^30 + 1, 2^30 - 1]... within the proven domain
      const m = k % 2 ? Math.floor(r() * 2 ** 30) + 2 ** 30 : (Math.floor(r() * 2 ** 32) | 0);
      cases.push(Math.max(-(2 ** 30) + 1, Math.min(2 ** 30 - 1, a)), m, 1 + Math.floor(r() * 31));
    }
    // exhaustive window: every a in [-2^17, 2^17] for a few multipliers and shifts (rounding ties included)
    for (const [m, rs] of [[2 ** 30, 1], [2 ** 30, 3], [1518500250, 7], [2 ** 31 - 1, 12], [1073741825, 31]]) {
      for (let a = -(2 ** 17); a <= 2 ** 17; a++) cases.push(a, m, rs);
    }
    const sub = mkdtempSync(join(dir, 'rq-'));
    const src = `#include <stdint.h>
#include <stdio.h>
${requantFastC()}
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb"), *g = fopen(argv[2], "wb");
  int32_t c[3];
  (void)argc;
  if (!f || !g) return 2;
  while (fread(c, 4, 3, f) == 3) {
    int32_t q[4], v;
    q[0] = 0; q[1] = c[1]; q[2] = c[2]; q[3] = (int32_t)(1u << (c[2] - 1));
    v = tf_requant_fast((uint32_t)c[0] << 0, q);
    /* tf_requant_fast takes s with q[0] = 2*bias: a = s + bias, here bias = 0 */
    fwrite(&v, 4, 1, g);
  }
  fclose(f);
  fclose(g);
  return 0;
}
`;
    writeFileSync(join(sub, 'rq.c'), src);
    writeFileSync(join(sub, 'in.bin'), new Uint8Array(Int32Array.from(cases).buffer));
    await run('gcc', ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-o', join(sub, 'rq'), join(sub, 'rq.c')]);
    await run(join(sub, 'rq'), [join(sub, 'in.bin'), join(sub, 'out.bin')]);
    const got = new Int32Array(readFileSync(join(sub, 'out.bin')).buffer.slice(0));
    expect(got.length).toBe(cases.length / 3);
    let bad = 0;
    for (let k = 0; k < got.length; k++) {
      const want = multiplyByQuantizedMultiplier(cases[3 * k], cases[3 * k + 1], -cases[3 * k + 2]);
      if (got[k] !== want && bad++ < 5) expect([cases[3 * k], cases[3 * k + 1], cases[3 * k + 2], got[k]]).toEqual([cases[3 * k], cases[3 * k + 1], cases[3 * k + 2], want]);
    }
    expect(bad).toBe(0);
  });
});
