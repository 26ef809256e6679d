/**
 * TFLite's integer ("8x8_16") UNIDIRECTIONAL_SEQUENCE_LSTM, on trained_lstm_int8 and on variants of it edited in the
 * flatbuffer (gates driven over the whole int16 range, cell scales 2^-9 / 2^-11 / 2^-15 so the hidden tanh takes
 * 6 / 4 / 0 integer bits, a cell clip that bites, CIFG, 2 batches x 14 steps, non-zero input and state zero points):
 * the TS oracle, WASM, C on the host and C on the emulated Cortex-M4F give the same integers, and those equal
 * TensorFlow Lite's own interpreter (@tensorflow/tfjs-tflite) element for element on the LSTM's output tensor
 * (the file's graph output redirected to it). The 16-bit gemmlowp logistic / tanh agree between TS and C on all
 * 65536 inputs; `tinyforge inspect / compile / run --on reference|wasm|c-host|qemu` handle the model; unsupported LSTM
 * variants are one-line errors naming the op.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FbReader } from '../compiler/frontends/tflite-schema.js';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, QuantizedSession, runQuantizedProgram, type QuantizedProgram } from '../compiler/plan/lower-quantized.js';
import type { Program } from '../compiler/plan/program.js';
import type { LstmS8Step } from '../compiler/ops/lstm/index.js';
import { GEMMLOWP16_HELPER } from '../compiler/ops/lstm/c.js';
import { logistic16, tanh16 } from '../compiler/ops/lstm/fixedpoint16.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm } from '../compiler/backends/wasm/tflite.js';
import { runTfliteOnCHost } from '../compiler/backends/c/tflite-host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { TFLITE_MODEL_DIR, compareOutputs, loadTfjsTflite } from '../bench/tflite-wasm.js';
import { tinyforge } from './helpers/cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tf-lstm-int8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = join(TFLITE_MODEL_DIR, 'trained_lstm_int8.tflite');

// trained_lstm_int8's tensors: 0 input, 15..12 input_to_{input,forget,cell,output} weights, 11..8 recurrent_to_* weights,
// 16 output state, 17 cell state, 22 effective_hidden_scale intermediate, 23 the LSTM's output (operator 0)
interface Edit {
  dv: DataView;
  setScale(tensor: number, f: (s: number) => number): void;
  setZeroPoint(tensor: number, z: number): void;
  setShape(tensor: number, dims: number[]): void;
  setType(tensor: number, code: number): void;
  /** operator 0's input k -> tensor index (-1: omitted) */
  setInput(k: number, tensor: number): void;
  /** operator 0's builtin options: field id -> its position in the file */
  option(id: number, bytes: number): number;
  intermediatesAt: number;
}

/** trained_lstm_int8 with `edit` applied in place; the graph output is the LSTM's output unless `keepOutput`. */
function variant(name: string, edit: (e: Edit) => void, keepOutput = false): string {
  const bytes = Uint8Array.from(readFileSync(MODEL));
  const dv = new DataView(bytes.buffer);
  const sg = new FbReader(bytes, MODEL).root().tables(2, 'subgraphs')[0];
  const tensors = sg.tables(0, 'tensors'), op = sg.tables(3, 'operators')[0];
  if (!keepOutput) dv.setInt32(sg.vector(2, 'outputs', 4)!.start, 23, true);
  const quant = (t: number) => tensors[t].table(4, 'quantization')!;
  edit({
    dv,
    setScale: (t, f) => { const v = quant(t).vector(2, 'scale', 4)!; dv.setFloat32(v.start, f(dv.getFloat32(v.start, true)), true); },
    setZeroPoint: (t, z) => dv.setBigInt64(quant(t).vector(3, 'zero_point', 8)!.start, BigInt(z), true),
    setShape: (t, dims) => { const v = tensors[t].vector(0, 'shape', 4)!; dims.forEach((d, i) => dv.setInt32(v.start + 4 * i, d, true)); },
    setType: (t, code) => dv.setInt8(tensors[t].field(1, 1, 'type'), code),
    setInput: (k, t) => dv.setInt32(op.vector(1, 'inputs', 4)!.start + 4 * k, t, true),
    option: (id, n) => op.table(4, 'builtin_options')!.field(id, n, 'option'),
    intermediatesAt: op.vector(8, 'intermediates', 4)!.start - 4,
  });
  const file = join(dir, `${name}.tflite`);
  writeFileSync(file, bytes);
  return file;
}

const scaleInputWeights = (e: Edit, k: number) => { for (const t of [12, 13, 14, 15]) e.setScale(t, (s) => s * k); };
const VARIANTS: Array<[string, (e: Edit) => void]> = [
  ['trained_lstm_int8', () => {}],
  ['gates over the whole int16 range', (e) => { scaleInputWeights(e, 24); for (const t of [8, 9, 10, 11]) e.setScale(t, (s) => s * 6); }],
  ['cell scale 2^-9 (hidden tanh Q6.9, clip 5120)', (e) => e.setScale(17, () => 2 ** -9)],
  ['cell scale 2^-11, wide gates', (e) => { e.setScale(17, () => 2 ** -11); scaleInputWeights(e, 10); }],
  ['cell scale 2^-15 (hidden tanh Q0.15)', (e) => { e.setScale(17, () => 2 ** -15); scaleInputWeights(e, 4); }],
  ['cell clip 0.37', (e) => e.dv.setFloat32(e.option(1, 4), 0.37, true)],
  ['CIFG (no input gate)', (e) => { e.setInput(1, -1); e.setInput(5, -1); e.setInput(12, -1); }],
  ['2 batches x 14 steps', (e) => { e.setShape(0, [2, 14, 28]); e.setShape(23, [2, 14, 20]); e.setShape(16, [2, 20]); e.setShape(17, [2, 20]); }],
  ['input zero point 17, output state zero point -3', (e) => { e.setZeroPoint(0, 17); e.setZeroPoint(16, -3); }],
];
const FILES = VARIANTS.map(([name, edit], k) => variant(`v${k}`, edit));
const HIDDEN_ZP = variant('hidden-zp', (e) => e.setZeroPoint(22, 5));

/** A sparse pen-stroke-like image (most pixels at the input's zero) and a full-range random one. */
function samples(p: QuantizedProgram, seed: number): number[][] {
  const io = p.inputs[0], n = io.shape.reduce((a, b) => a * b, 1);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 8) / 2 ** 23;
  return [
    Array.from({ length: n }, () => (rnd() < 0.25 ? Math.floor(rnd() * 256) - 128 : -128)),
    Array.from({ length: n }, () => Math.floor(rnd() * 256) - 128),
  ];
}

// @tensorflow/tfjs-tflite is a devDependency: failing to load it is a failure. TFLite keeps variable tensors across
// Invoke(), as tinyforge does: the samples run in order through one interpreter (all interpreters are created before
// the first inference: tfjs-tflite's heap breaks otherwise)
const tfl = await loadTfjsTflite();
if (typeof tfl === 'string') throw new Error(`tfjs-tflite did not load: ${tfl}`);
type Interpreter = Awaited<ReturnType<typeof tfl.load>>;
const interpreters = new Map<string, Interpreter[]>();
for (const f of [...FILES, HIDDEN_ZP]) interpreters.set(f, [await tfl.load(f)]);

const lower = (file: string) => lowerQuantizedGraph(importTflite(file));

describe('int8 UNIDIRECTIONAL_SEQUENCE_LSTM (8x8_16)', () => {
  it('16-bit gemmlowp logistic (Q3.12) and tanh (Q0.15 .. Q6.9): C = TS on all 65536 inputs, within 13 units (2^-11.3) of float', async () => {
    const fns: Array<[string, (a: number) => number, (v: number) => number, string]> = [['logistic', (a) => logistic16(a, 3), (v) => 1 / (1 + Math.exp(-v / 4096)), 'tf_logistic16(a, 3)']];
    for (let ib = 0; ib <= 6; ib++) fns.push([`tanh Q${ib}`, (a) => tanh16(a, ib), (v) => Math.tanh(v / 2 ** (15 - ib)), `tf_tanh16(a, ${ib})`]);
    const src = `#include <stdint.h>\n#include <stdio.h>\n${GEMMLOWP16_HELPER}
int main(void) {
  int32_t a;
  for (a = -32768; a < 32768; a++) printf("${fns.map(() => '%d').join(' ')}\\n", ${fns.map((f) => f[3]).join(', ')});
  return 0;
}\n`;
    writeFileSync(join(dir, 'act.c'), src);
    await run('gcc', ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-o', join(dir, 'act'), join(dir, 'act.c')]);
    const lines = (await run(join(dir, 'act'), [], { maxBuffer: 1 << 26 })).stdout.trim().split('\n');
    expect(lines.length).toBe(65536);
    let mismatches = 0;
    const worst = fns.map(() => 0);
    lines.forEach((line, i) => {
      const a = i - 32768, got = line.split(' ').map(Number);
      fns.forEach(([, ts, ref], k) => {
        const want = ts(a);
        if (got[k] !== want) mismatches++;
        worst[k] = Math.max(worst[k], Math.abs(want - ref(a) * 32768));
      });
    });
    expect(mismatches).toBe(0);
    for (const w of worst) expect(w).toBeLessThan(13);
  });

  it.each(VARIANTS.map(([name], k) => [name, FILES[k]]))('%s: TS oracle = WASM = C (host) = TFLite (tfjs-tflite) on the LSTM output', async (name, file) => {
    const p = lower(file);
    const step = p.steps.find((s) => s.op === 'lstm_s8') as LstmS8Step | undefined;
    expect(step).toBeDefined();
    const xs = samples(p, 4242);
    const session = new QuantizedSession(p); // in order, state carried from sample to sample
    const want = xs.map((x) => Array.from(session.run([x])));
    expect(want[1]).not.toEqual(Array.from(runQuantizedProgram(p, [xs[1]]))); // the carried state matters
    const wasm = await instantiateTfliteWasm(p, await emitWasm(p as unknown as Program));
    for (const [k, x] of xs.entries()) expect(Array.from(wasm.run([x]))).toEqual(want[k]);
    expect((await runTfliteOnCHost(p as unknown as Program, [], xs, { target: 'cortex-m4f' })).outputsInt).toEqual(want);
    let differing = 0, worst = 0;
    for (const [k, x] of xs.entries()) {
      const theirs = interpreters.get(file)![0].run(x, p.inputs[0].shape, 'int8');
      const c = compareOutputs(want[k], theirs);
      differing += c.differing; worst = Math.max(worst, c.maxDiff);
    }
    console.log(`int8 LSTM, ${name} (cifg ${step!.cifg}, ${step!.batches}x${step!.steps} steps, cell 2^${step!.cellScalePower}, clip ${step!.cellClip}): ${differing} of ${want.length * want[0].length} LSTM outputs differ from tfjs-tflite (largest ${worst})`);
    expect(differing).toBe(0);
  });

  it('a non-zero hidden zero point is added (TFLite since the PortableCwiseMul fix); tfjs-tflite 0.0.1-alpha.10 subtracts it', () => {
    const p = lower(HIDDEN_ZP);
    const step = p.steps.find((s) => s.op === 'lstm_s8') as LstmS8Step;
    expect(step.hiddenZeroPoint).toBe(5);
    const x = samples(p, 7)[1];
    const ours = Array.from(runQuantizedProgram(p, [x]));
    const theirs = Array.from(interpreters.get(HIDDEN_ZP)![0].run(x, p.inputs[0].shape, 'int8'));
    expect(compareOutputs(ours, theirs).differing).toBeGreaterThan(0);
    step.hiddenZeroPoint = -5;
    expect(Array.from(runQuantizedProgram(p, [x]))).toEqual(theirs);
  });

  it.each([0, 2, 6].map((k) => [VARIANTS[k][0], k] as const))('%s: C on QEMU (Cortex-M4F, DSP intrinsics) = TS oracle', async (_name, k) => {
    const p = lower(FILES[k]);
    const x = samples(p, 99)[1];
    const want = Array.from(runQuantizedProgram(p, [x]));
    const r = await runOnQemu(p as unknown as Program, [new Float32Array(x.length)], { intInputs: [x], intOnly: true, timeoutMs: 170_000 });
    expect(r.outputsInt![0]).toEqual(want);
    console.log(`int8 LSTM on the Cortex-M4F, ${VARIANTS[k][0]} (LSTM + reshape + FC + softmax, LSTM output read): ${r.instructionsInt![0]} instructions, model flash ${r.modelFlashBytes} B (${r.modelRodataBytes} B rodata), RAM ${r.ramBytes} B (arena ${r.arenaBytes} B + stack ${r.stackBytes} B)`);
  });

  it('the CLI: inspect sizes the compiled program; compile + run --on reference, wasm, c-host and qemu give the oracle\'s CSV', () => {
    const ins = tinyforge(['inspect', MODEL]);
    expect(ins.code, ins.stderr).toBe(0);
    expect(ins.stdout).toMatch(/0_unidirectional_sequence_lstm\s+tfl\.lstm/);
    expect(ins.stdout).not.toMatch(/do not lower/);
    expect(ins.stdout).toMatch(/cortex-m4f\s+int8/);
    const p = lower(MODEL);
    const x = samples(p, 31)[1];
    const csv = join(dir, 'in.csv');
    writeFileSync(csv, `${x.join(',')}\n`);
    const want = `${Array.from(runQuantizedProgram(p, [x])).join(',')}\n`;
    for (const [target, ons] of [['wasm', ['reference', 'wasm']], ['cortex-m4f', ['c-host', 'qemu']]] as const) {
      const out = join(dir, `cli-${target}`);
      const c = tinyforge(['compile', MODEL, '--target', target, '--out', out]);
      expect(c.code, c.stderr).toBe(0);
      for (const on of ons) {
        const file = join(dir, `cli-${on}.csv`);
        const r = tinyforge(['run', out, '--input', csv, '--output', file, '--on', on]);
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(file, 'utf8'), on).toBe(want);
      }
    }
  });

  it.each<[string, (e: Edit) => void, RegExp]>([
    ['RELU activation', (e) => e.dv.setInt8(e.option(0, 1), 1), /int8 UNIDIRECTIONAL_SEQUENCE_LSTM with RELU activation is not supported \(TANH is\)/],
    ['layer norm', (e) => e.setInput(21, 6), /peephole, projection and layer-norm LSTMs are not supported/],
    ['projection', (e) => e.setInput(16, 8), /peephole, projection and layer-norm LSTMs are not supported/],
    ['8x8_8 intermediates', (e) => e.dv.setUint32(e.intermediatesAt, 4, true), /with 4 intermediate tensors is not supported \(the 8x8_16 integer LSTM has 5\)/],
    ['int16 activations (16x8)', (e) => { e.setType(0, 7); e.setType(23, 7); }, /UNIDIRECTIONAL_SEQUENCE_LSTM with int16 input and int16 output is not supported/],
    ['a cell scale that is not a power of two', (e) => e.setScale(17, () => 0.0003), /cell state scale 0.000300\d* is not a power of two in 2\^-15..2\^-9/],
    ['an asymmetric weight', (e) => e.setZeroPoint(14, 3), /input_to_forget_weights has zero point 3; the int8 LSTM needs symmetric weights/],
  ])('unsupported: %s is one error naming the op', (name, edit, msg) => {
    const file = variant(`bad-${name.replace(/\W+/g, '-')}`, edit, true);
    let err: Error | undefined;
    try { lower(file); } catch (e) { err = e as Error; }
    expect(err?.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: operator 0 \\(UNIDIRECTIONAL_SEQUENCE_LSTM\\): `));
    expect(err?.message).toMatch(msg);
    expect(err?.message).not.toContain('\n');
  });
});
