/**
 * TFLite Micro's int8 example models compiled to C: the integer API (tf_model_run_int) gives the TS
 * oracle's integers bit for bit on the host (gcc, portable C and the Cortex-M4 DSP C models) and on the
 * emulated Cortex-M4F (QEMU mps2-an386, one inference each: person_detect is ~10^7 instructions);
 * hello_world_int8 reproduces TFLite Micro's published outputs.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, QuantizedSession, runQuantizedProgram } from '../compiler/plan/lower-quantized.js';
import type { Program } from '../compiler/plan/program.js';
import { runTfliteOnCHost } from '../compiler/backends/c/tflite-host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { executeProgram } from '../compiler/exec/program.js';

const M = join(import.meta.dirname, 'fixtures', 'tflite', 'models');
const load = (n: string) => lowerQuantizedGraph(importTflite(join(M, `${n}.tflite`)));

/** Deterministic integer samples in the input's range (int8: full range; int16: +-10000). */
function samples(n: number, len: number, dtype: string, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 8) / 2 ** 23;
  return Array.from({ length: n }, () => Array.from({ length: len }, () => (dtype === 'int8' ? Math.floor(rnd() * 256) - 128 : Math.round((rnd() - 0.5) * 20000))));
}

const MODELS = [['hello_world_int8', 4], ['keyword_scrambled_8bit', 3], ['micro_speech_quantized', 2], ['person_detect', 1], ['trained_lstm_int8', 3]] as const;

describe('TFLite int8 models in C', () => {
  it('hello_world_int8 matches TFLite Micro on the host: -64 -> 126, -97 -> 85, -34 -> 93, 0 -> 4 (float API = TS)', async () => {
    const p = load('hello_world_int8');
    const xs = [1.57, 0.77, 2.3, 3.14].map((v) => new Float32Array([v]));
    const r = await runTfliteOnCHost(p as unknown as Program, xs, [[-64], [-97], [-34], [0]], { target: 'cortex-m4f' });
    expect(r.outputsInt).toEqual([[126], [85], [93], [4]]);
    xs.forEach((x, k) => expect(Array.from(r.outputs[k])).toEqual(Array.from(executeProgram(p as unknown as Program, x).output)));
  });

  it.each(MODELS)('%s: C on the host (portable and cortex-m4f) = TS oracle', async (name, n) => {
    const p = load(name);
    const io = p.inputs[0];
    const xs = samples(n, io.shape.reduce((a, b) => a * b, 1), io.dtype, 99 + n);
    const session = new QuantizedSession(p); // the harness runs the samples in order through one instance
    const want = xs.map((x) => Array.from(session.run([x])));
    for (const target of ['c', 'cortex-m4f'] as const) {
      const r = await runTfliteOnCHost(p as unknown as Program, [], xs, { target });
      expect(r.outputsInt).toEqual(want);
    }
  });

  it.each(MODELS)('%s: C on QEMU (cortex-m4f, one inference) = TS oracle', async (name) => {
    const p = load(name);
    const io = p.inputs[0];
    const xs = samples(1, io.shape.reduce((a, b) => a * b, 1), io.dtype, 7);
    const want = Array.from(runQuantizedProgram(p, [xs[0]]));
    const dummy = new Float32Array(p.input.shape.reduce((a, b) => a * b, 1));
    const r = await runOnQemu(p as unknown as Program, [dummy], { intInputs: xs, intOnly: true, timeoutMs: 170_000 });
    expect(r.outputsInt![0]).toEqual(want);
    expect(r.instructionsInt![0]).toBeGreaterThan(0);
  });
});

describe('RAM budget', () => {
  it('a too-small --ram is a one-line compile-time error; a sufficient one passes', async () => {
    const { checkRamBudget } = await import('../compiler/backends/c/ram.js');
    const p = load('person_detect') as unknown as Program;
    expect(() => checkRamBudget(p, 40_000)).toThrowError(/^--ram 40000: 'person_detect' needs \d+ B of arena \+ \d+ B of stack = \d+ B; raise --ram/);
    expect(checkRamBudget(p, 82_308).totalBytes).toBeLessThanOrEqual(82_308);
  });
});
