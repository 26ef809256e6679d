/**
 * TFLite variable tensors (LSTM output / cell state, SVDF activation state) persist from one inference to the
 * next on every target, as in TFLite and TFLite Micro, and reset() starts over: the TS oracle session, WASM
 * (runtime and run_int), C on the host, C on the emulated Cortex-M4F and `tinyforge run` give the same sequence;
 * a stateless model has no reset; `tinyforge flash --verify` checks each vector from the initial state.
 * (Agreement with TFLite's own interpreter over a sequence: test/tflite-wasm-tfjs.test.ts and
 * test/tflite-int8-lstm-matches-tflite-on-every-target.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, QuantizedSession, runQuantizedProgram, type QuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { ProgramSession } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { emitC } from '../compiler/backends/c/index.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm } from '../compiler/backends/wasm/tflite.js';
import { runTfliteOnCHost } from '../compiler/backends/c/tflite-host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { startEmulatedBoard } from '../compiler/device/emulator.js';
import { load as loadRuntime } from '../runtime/index.js';
import { tinyforge } from './helpers/cli.js';

const MODELS = join(import.meta.dirname, 'fixtures', 'tflite', 'models');
const root = mkdtempSync(join(tmpdir(), 'tf-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const lower = (name: string) => lowerQuantizedGraph(importTflite(join(MODELS, `${name}.tflite`)));
const lstm = lower('trained_lstm_int8');

/** Deterministic int8 images (28 x 28, a few bright strokes). */
function images(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: n }, () => Array.from({ length: 784 }, () => (rnd() < 0.3 ? Math.floor(rnd() * 256) - 128 : -128)));
}
const xs = images(4, 31);
const sequence = (p: QuantizedProgram, inputs: number[][]) => { const s = new QuantizedSession(p); return inputs.map((x) => Array.from(s.run([x]))); };
const want = sequence(lstm, xs);

describe('variable tensors persist across inferences', () => {
  it('the oracle: a session carries the state (outputs differ from fresh runs) and reset() starts over', () => {
    const fresh = xs.map((x) => Array.from(runQuantizedProgram(lstm, [x])));
    expect(want[0]).toEqual(fresh[0]);
    expect(want.slice(1)).not.toEqual(fresh.slice(1));
    const s = new QuantizedSession(lstm);
    s.run([xs[0]]);
    s.reset();
    expect(Array.from(s.run([xs[1]]))).toEqual(fresh[1]);
  });

  it('C: TF_MODEL_STATEFUL and tf_model_reset() for LSTM / SVDF models only', () => {
    for (const [name, stateful] of [['trained_lstm_int8', true], ['trained_lstm', true], ['keyword_scrambled_8bit', true], ['hello_world_int8', false], ['person_detect', false]] as const) {
      const h = emitC(lower(name) as unknown as Program, { target: 'cortex-m4f' })['model.h'];
      expect(h, name).toContain(`#define TF_MODEL_STATEFUL ${stateful ? 1 : 0}`);
      expect(h.includes('void tf_model_reset(void);'), name).toBe(stateful);
    }
  });

  it('WASM run_int and the runtime: the same sequence; reset() starts over; stateless models say so', async () => {
    const wasm = await emitWasm(lstm as unknown as Program);
    const m = await instantiateTfliteWasm(lstm, wasm);
    expect(xs.map((x) => Array.from(m.run([x])))).toEqual(want);
    m.reset();
    expect(Array.from(m.run([xs[0]]))).toEqual(want[0]);
    // runtime float API: a batch of 4 runs in order; the float oracle session gives the same bits
    const model = await loadRuntime(wasm);
    expect(model.stateful).toBe(true);
    const io = lstm.inputs[0];
    const floats = xs.map((x) => Float32Array.from(x, (q) => Math.fround((q - io.zeroPoint) * io.scale)));
    const batch = new Float32Array(4 * 784);
    floats.forEach((f, k) => batch.set(f, k * 784));
    const name = model.inputs[0].name, out = model.outputs[0].name;
    const y = model.run({ [name]: batch })[out];
    const ses = new ProgramSession(lstm as unknown as Program);
    const ref = new Float32Array(4 * 10);
    floats.forEach((f, k) => ref.set(ses.run(f).output, k * 10));
    expect(Array.from(y)).toEqual(Array.from(ref));
    model.reset();
    expect(Array.from(model.run({ [name]: floats[1] })[out])).toEqual(Array.from(new ProgramSession(lstm as unknown as Program).run(floats[1]).output));
    const stateless = await loadRuntime(await emitWasm(lower('hello_world_int8') as unknown as Program));
    expect(stateless.stateful).toBe(false);
  });

  it('C on the host and on the emulated Cortex-M4F: the same sequence through the integer API', async () => {
    expect((await runTfliteOnCHost(lstm as unknown as Program, [], xs, { target: 'cortex-m4f' })).outputsInt).toEqual(want);
    const dummy = xs.map(() => new Float32Array(784));
    const r = await runOnQemu(lstm as unknown as Program, dummy, { intInputs: xs, intOnly: true, timeoutMs: 170_000 });
    expect(r.outputsInt).toEqual(want);
  });

  it('tinyforge run: the samples of one CSV run in order through one instance, alike on every target', () => {
    const out = join(root, 'lstm');
    expect(tinyforge(['compile', join(MODELS, 'trained_lstm_int8.tflite'), '--target', 'cortex-m4f', '--out', out]).code).toBe(0);
    const csv = join(root, 'images.csv');
    writeFileSync(csv, xs.map((x) => x.join(',')).join('\n') + '\n');
    const text = want.map((w) => w.join(',')).join('\n') + '\n';
    for (const on of ['reference', 'wasm', 'c-host', 'qemu']) {
      const file = join(root, `out-${on}.csv`);
      const r = tinyforge(['run', out, '--input', csv, '--output', file, '--on', on]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(file, 'utf8'), on).toBe(text);
    }
  });

  it('flash --verify on the emulated board checks every vector from the initial state', async () => {
    const out = join(root, 'lstm');
    const board = await startEmulatedBoard();
    try {
      const r = tinyforge(['flash', out, '--port', board.pty, '--board', 'mps2-an386', '--verify', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout), v = j.results[0].verify;
      expect(j.ok).toBe(true);
      expect(v.crcOk).toBe(true);
      expect(v.floatCompared).toBeGreaterThan(0);
      expect(v.floatBitExact).toBe(v.floatCompared);
    } finally {
      await board.stop();
    }
  });
});
