import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { emitC } from '../compiler/backends/c/index.js';
import { cFloat } from '../compiler/backends/c/cformat.js';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { randomFloatProgram, randomInputs, randomInt8Program } from './helpers/random-program.js';

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
