/**
 * TFLite Micro's example models compiled to WASM: the integer entry (run_int) gives the TS oracle's integers
 * bit for bit (hello_world_int8 also TFLite Micro's published outputs; trained_lstm_int8 the integer LSTM), the float models (hello_world_float,
 * trained_lstm) the oracle's floats bit for bit, and the float API of the int8 models (runtime load().run)
 * the oracle's float path.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, QuantizedSession, runQuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm } from '../compiler/backends/wasm/tflite.js';
import { load as loadRuntime } from '../runtime/index.js';
import type { Program } from '../compiler/plan/program.js';

const M = join(import.meta.dirname, 'fixtures', 'tflite', 'models');
const load = (n: string) => lowerQuantizedGraph(importTflite(join(M, `${n}.tflite`)));

/** Deterministic samples in the input's dtype (int8: full range; int16: +-10000; float32: [0, 1)). */
function samples(n: number, len: number, dtype: string, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 8) / 2 ** 23;
  return Array.from({ length: n }, () => Array.from({ length: len }, () => (dtype === 'int8' ? Math.floor(rnd() * 256) - 128 : dtype === 'int16' ? Math.round((rnd() - 0.5) * 20000) : Math.fround(rnd()))));
}

const MODELS = [['hello_world_int8', 16], ['hello_world_float', 16], ['keyword_scrambled_8bit', 6], ['keyword_scrambled', 6], ['micro_speech_quantized', 4], ['person_detect', 2], ['trained_lstm', 3], ['trained_lstm_int8', 4]] as const;

describe('TFLite example models in WASM', () => {
  it('hello_world_int8 matches TFLite Micro: -64 -> 126, -97 -> 85, -34 -> 93, 0 -> 4', async () => {
    const p = load('hello_world_int8');
    const m = await instantiateTfliteWasm(p, await emitWasm(p as unknown as Program));
    for (const [q, want] of [[-64, 126], [-97, 85], [-34, 93], [0, 4]]) expect(m.run([[q]])[0]).toBe(want);
  });

  it.each(MODELS)('%s: run_int = TS oracle bit for bit (%i inputs)', async (name, n) => {
    const p = load(name);
    const m = await instantiateTfliteWasm(p, await emitWasm(p as unknown as Program));
    const io = p.inputs[0];
    const session = new QuantizedSession(p); // in order through one instance on both sides (state carries over)
    for (const x of samples(n, io.shape.reduce((a, b) => a * b, 1), io.dtype, 99 + n)) {
      const want = session.run([x]);
      const got = m.run([x]);
      expect(got.constructor).toBe(want.constructor);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it.each(['hello_world_int8', 'micro_speech_quantized', 'person_detect', 'keyword_scrambled_8bit', 'trained_lstm_int8'])('%s: float API (runtime) = TS oracle float path', async (name) => {
    const p = load(name);
    const model = await loadRuntime(await emitWasm(p as unknown as Program));
    const len = p.input.shape.reduce((a, b) => a * b, 1);
    let s = 5;
    const x = Float32Array.from({ length: len }, () => Math.fround(((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 4 * (p.inputs[0].scale * 100)));
    const y = model.run({ [model.inputs[0].name]: x })[model.outputs[0].name];
    expect(Array.from(y)).toEqual(Array.from(executeProgram(p as unknown as Program, x).output));
  });
});
