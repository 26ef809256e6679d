/**
 * MatFormer on the command line: `compile --submodel uniform:M | mix:... | budget:...` prints the chosen
 * widths and the predicted int8 size (which the compiled program then has), `inspect --submodels` lists
 * every uniform granularity, `run` takes the HF input names from safetensors and writes the HF output
 * names (c-host, qemu and the TS reference agree bit for bit on int8; float matches PyTorch within 1e-4),
 * and bad input is a one-line error with the numbers (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyforge, type CliResult } from './helpers/cli.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../compiler/io/safetensors.js';
import { runReferenceAll } from '../compiler/ir/reference.js';
import { importMatformerCheckpoint, resolveSubmodel } from '../compiler/passes/matformer.js';

const FIX = join(import.meta.dirname, 'fixtures');
const BERT = join(FIX, 'matbert-tiny'), LM = join(FIX, 'matlm-tiny');
const BERT_IO = join(BERT, 'io.safetensors'), LM_IO = join(LM, 'io.safetensors');
const root = mkdtempSync(join(tmpdir(), 'tf-mat-cli-'));

const tensor = (file: string, name: string) => {
  const t = readSafetensors(file).tensors.get(name);
  if (!t) throw new Error(`${file}: no ${name}`);
  return { shape: t.shape, data: toFloat32(t, name, file) };
};
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'tinyforge.json'), 'utf8'));

function ok(r: CliResult): CliResult {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** exit 2, one line on stderr matching re */
function oneLineError(r: CliResult, re: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyforge: /);
  expect(lines[0]).toMatch(re);
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

describe('compile --submodel', () => {
  it('uniform:M prints the widths and the predicted int8 size, which the compiled program has', () => {
    const out = join(root, 'lm-u128');
    const r = ok(tinyforge(['compile', LM, '--target', 'c', '--quant', 'int8', '--calib', LM_IO, '--submodel', 'uniform:128', '--out', out]));
    expect(r.stdout).toContain('sub-model uniform:128: FFN widths [128, 128, 128, 128] (granularities 64, 128, 256, 512)');
    const m = manifest(out);
    const s = m.matformer.submodel;
    expect(s.widths).toEqual([128, 128, 128, 128]);
    expect(r.stdout).toContain(`predicted int8: flash ${s.predictedFlashBytes} B (constants), RAM ${s.predictedRamBytes} B (arena); 148032 parameters`);
    expect(m.parameters).toBe(148032);
    expect(m.weightBytes).toBe(s.predictedFlashBytes); // sizes do not depend on calibration
    expect(m.arenaBytes).toBe(s.predictedRamBytes);
    expect(m.matformer.packing.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(m.input.shape).toEqual([2, 64]);
  });

  it('mix:... and budget:... (the largest Mix\'n\'Match sub-model that fits), with --json', () => {
    const mix = join(root, 'bert-mix');
    const r = ok(tinyforge(['compile', BERT, '--target', 'cortex-m4f', '--quant', 'int8', '--calib', BERT_IO, '--submodel', 'mix:64,256', '--out', mix]));
    expect(r.stdout).toContain('sub-model mix:64,256: FFN widths [64, 256]');
    expect(manifest(mix).input.shape).toEqual([3, 48]); // tokens from the calibration file

    const bud = join(root, 'bert-budget');
    const spec = 'budget:flash=130000,ram=16000';
    const b = ok(tinyforge(['compile', BERT, '--target', 'c', '--quant', 'int8', '--calib', BERT_IO, '--submodel', spec, '--out', bud, '--json']));
    const rep = JSON.parse(b.stdout);
    const want = resolveSubmodel(importMatformerCheckpoint(BERT, { sequenceLength: 48 }), spec);
    expect(rep.matformer.submodel).toMatchObject({ request: spec, spec: want.spec, widths: want.widths, predictedFlashBytes: want.flashBytes, predictedRamBytes: want.ramBytes });
    expect(rep.weightBytes).toBeLessThanOrEqual(130000);
    expect(rep.arenaBytes).toBeLessThanOrEqual(16000);
    const text = ok(tinyforge(['compile', BERT, '--target', 'c', '--quant', 'int8', '--calib', BERT_IO, '--submodel', spec, '--out', join(root, 'bert-budget2')])).stdout;
    expect(text).toContain(`sub-model ${spec} -> ${want.spec}: FFN widths [${want.widths.join(', ')}]`);
    console.log(text.split('\n').slice(0, 5).join('\n'));
  });
});

describe('inspect --submodels', () => {
  it('lists parameters, MACs and int8 flash/RAM of every uniform granularity', () => {
    const r = ok(tinyforge(['inspect', BERT, '--submodels', '--sequence-length', '48']));
    const rows = r.stdout.split('\n').filter((l) => /^uniform:\d+ /.test(l));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['uniform:32', 'uniform:64', 'uniform:128', 'uniform:256']);
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[2]))).toEqual([83456, 91712, 108224, 141248]);
    const j = JSON.parse(ok(tinyforge(['inspect', LM, '--submodels', '--json'])).stdout);
    expect(j.parameters).toBe(344640);
    expect(j.matformer.submodels.map((s: { spec: string }) => s.spec)).toEqual(['uniform:64', 'uniform:128', 'uniform:256', 'uniform:512']);
    const flash = j.matformer.submodels.map((s: { flashBytes: number }) => s.flashBytes);
    expect(flash).toEqual([...flash].sort((a: number, b: number) => a - b));
    console.log(r.stdout.split('\n').slice(-8).join('\n'));
  });
});

describe('run with the HF input and output names', () => {
  it('int8 encoder: last_hidden_state and pooler_output, identical on c-host, qemu and the TS reference', () => {
    const dir = join(root, 'bert-mix'); // compiled above (cortex-m4f, mix:64,256)
    const files = ['c-host', 'qemu', 'reference'].map((on) => {
      const f = join(root, `bert-${on}.safetensors`);
      const r = ok(tinyforge(['run', dir, '--on', on, '--input', BERT_IO, '--output', f]));
      expect(r.stdout).toContain('last_hidden_state [4, 48, 64]');
      if (on === 'qemu') expect(r.stdout).toMatch(/instructions per inference: \d+/);
      return f;
    });
    const [host, qemu, ref] = files.map((f) => readSafetensors(f));
    expect([...host.tensors.keys()].sort()).toEqual(['last_hidden_state', 'pooler_output']);
    expect(host.tensors.get('pooler_output')!.shape).toEqual([4, 64]);
    for (const name of ['last_hidden_state', 'pooler_output']) {
      const a = tensor(files[0], name).data, b = tensor(files[1], name).data, c = tensor(files[2], name).data;
      expect(Array.from(new Uint32Array(a.buffer))).toEqual(Array.from(new Uint32Array(c.buffer)));
      expect(Array.from(new Uint32Array(b.buffer))).toEqual(Array.from(new Uint32Array(c.buffer)));
    }
    void qemu; void ref;
    // int8 stays close to PyTorch's float sub-model
    const got = tensor(files[0], 'last_hidden_state').data, want = tensor(BERT_IO, 'last_hidden_state.mixA').data;
    expect(maxAbs(got, want)).toBeLessThan(0.5);
  });

  it('float decoder and encoder: logits / hidden states within 1e-4 of io.safetensors', () => {
    const lm = join(root, 'lm-f32-64');
    ok(tinyforge(['compile', LM, '--target', 'c', '--quant', 'float32', '--submodel', 'uniform:64', '--out', lm]));
    const lmOut = join(root, 'lm-logits.safetensors');
    ok(tinyforge(['run', lm, '--input', LM_IO, '--output', lmOut])); // default --on c-host for MatFormer folders
    const logits = tensor(lmOut, 'logits');
    expect(logits.shape).toEqual([4, 64, 256]);
    const e1 = maxAbs(logits.data, tensor(LM_IO, 'logits.ffn64').data);
    expect(e1).toBeLessThanOrEqual(1e-4);

    const bert = join(root, 'bert-f32');
    ok(tinyforge(['compile', BERT, '--target', 'c', '--quant', 'float32', '--sequence-length', '48', '--out', bert]));
    const bOut = join(root, 'bert-f32.safetensors');
    ok(tinyforge(['run', bert, '--input', BERT_IO, '--output', bOut]));
    const e2 = maxAbs(tensor(bOut, 'last_hidden_state').data, tensor(BERT_IO, 'last_hidden_state.ffn256').data);
    const e3 = maxAbs(tensor(bOut, 'pooler_output').data, tensor(BERT_IO, 'pooler_output.ffn256').data);
    expect(Math.max(e2, e3)).toBeLessThanOrEqual(1e-4);
    console.log(`CLI float on c-host vs io.safetensors: matlm-tiny uniform:64 logits ${e1.toExponential(2)}, matbert-tiny hidden ${e2.toExponential(2)}, pooler ${e3.toExponential(2)}`);
  });

  it('shorter sequences are padded with attention_mask 0; missing token_type_ids / attention_mask take the HF defaults', () => {
    const T = 20;
    const ids = Int32Array.from({ length: 2 * T }, (_, i) => (i * 37 + 5) % 512);
    const inFile = join(root, 'short.safetensors');
    writeSafetensors(inFile, { input_ids: { dtype: 'I32', shape: [2, T], data: ids } });
    const out = join(root, 'short-out.safetensors');
    const r = ok(tinyforge(['run', join(root, 'bert-f32'), '--input', inFile, '--output', out]));
    expect(r.stdout).toContain('(padded to 48 with attention_mask 0)');
    expect(r.stdout).toContain('token_type_ids not in the file: all zeros; attention_mask not in the file: all ones');
    const hidden = tensor(out, 'last_hidden_state'), pooled = tensor(out, 'pooler_output');
    expect(hidden.shape).toEqual([2, T, 64]);
    // the same as the model built for exactly T tokens
    const g = importMatformerCheckpoint(BERT, { sequenceLength: T });
    let err = 0;
    for (let s = 0; s < 2; s++) {
      const x = Float32Array.from(ids.subarray(s * T, (s + 1) * T));
      const [h, p] = runReferenceAll(g, [x, new Float32Array(T), new Float32Array(T).fill(1)]);
      err = Math.max(err, maxAbs(hidden.data.subarray(s * T * 64, (s + 1) * T * 64), h), maxAbs(pooled.data.subarray(s * 64, (s + 1) * 64), p));
    }
    expect(err).toBeLessThanOrEqual(1e-5);
  });
});

describe('bad input: one line with the numbers, exit 2', () => {
  const compile = (...extra: string[]) => tinyforge(['compile', LM, '--target', 'c', '--quant', 'int8', '--calib', LM_IO, '--out', join(root, 'bad'), ...extra]);
  it('sub-model specs', () => {
    oneLineError(compile('--submodel', 'uniform:100'), /layer 0 FFN width 100 is not one of the MatFormer granularities 64, 128, 256, 512/);
    oneLineError(compile('--submodel', 'uniform:1024'), /layer 0 FFN width 1024 exceeds d_ff 512/);
    oneLineError(compile('--submodel', 'mix:64,128'), /lists 2 FFN widths \[64, 128\] but the model has 4 layers/);
    oneLineError(compile('--submodel', 'half:2'), /unknown kind 'half'/);
    oneLineError(compile('--submodel', 'budget:flash=12q'), /flash '12q' is not a number/);
    oneLineError(compile('--submodel', 'budget:flash=100k,ram=16k'), /no sub-model fits the budget \(flash 102400 B, RAM 16384 B\); the smallest, uniform:64, needs flash 192048 B, RAM 20800 B/);
    oneLineError(compile('--sequence-length', '65'), /sequence length 65 exceeds max_sequence_length 64/);
    oneLineError(tinyforge(['compile', join(import.meta.dirname, '..', 'examples', 'forward-model'), '--target', 'c', '--out', join(root, 'bad'), '--submodel', 'uniform:64']), /--submodel needs a MatFormer checkpoint/);
    oneLineError(tinyforge(['inspect', join(import.meta.dirname, '..', 'examples', 'forward-model'), '--submodels']), /--submodels needs a MatFormer checkpoint/);
  });

  it('calibration, targets and run inputs', () => {
    oneLineError(tinyforge(['compile', LM, '--target', 'c', '--quant', 'int8', '--out', join(root, 'bad')]), /--quant int8 needs calibration data; pass --calib data.safetensors with 'input_ids', 'attention_mask' of shape \[N, 64\]/);
    oneLineError(tinyforge(['compile', LM, '--target', 'c', '--quant', 'int8', '--calib', BERT_IO, '--sequence-length', '64', '--out', join(root, 'bad')]), /tensor 'input_ids' has shape \[4,48\] but the model was built for \[N, 64\]/);
    const dir = join(root, 'bert-f32');
    const file = (name: string, tensors: Parameters<typeof writeSafetensors>[1]) => { const f = join(root, name); writeSafetensors(f, tensors); return f; };
    oneLineError(tinyforge(['run', dir, '--input', file('noids.safetensors', { attention_mask: { dtype: 'I32', shape: [1, 48], data: new Int32Array(48).fill(1) } })]),
      /missing tensor 'input_ids' \(found: attention_mask\); the model takes input_ids, token_type_ids, attention_mask as \[N, 48\]/);
    oneLineError(tinyforge(['run', dir, '--input', file('long.safetensors', { input_ids: { dtype: 'I32', shape: [1, 60], data: new Int32Array(60).fill(5) } })]),
      /tensor 'input_ids' has 60 tokens per sample but the model was compiled for 48/);
    oneLineError(tinyforge(['run', dir, '--input', file('frac.safetensors', { input_ids: { dtype: 'F32', shape: [2, 48], data: new Float32Array(96).fill(2.5) } })]),
      /tensor 'input_ids' value 2.5 at sample 0, token 0 is not a non-negative integer id/);
    oneLineError(tinyforge(['run', dir, '--input', file('mismatch.safetensors', {
      input_ids: { dtype: 'I32', shape: [2, 20], data: new Int32Array(40) }, attention_mask: { dtype: 'I32', shape: [2, 19], data: new Int32Array(38) },
    })]), /tensor 'attention_mask' has shape \[2,19\] but 'input_ids' has \[2,20\]/);
    oneLineError(tinyforge(['run', dir, '--input', BERT_IO, '--output', join(root, 'x.csv')]), /are written as safetensors/);
  });

  it('compiles to WASM and runs there like the reference (float within 1e-5)', () => {
    const dir = join(root, 'lm-wasm');
    const c = tinyforge(['compile', LM, '--target', 'wasm', '--out', dir]);
    expect(c.code, c.stderr).toBe(0);
    const lm = join(LM, 'io.safetensors');
    const run = (on: string) => {
      const f = join(root, `lm-${on}.safetensors`);
      const r = tinyforge(['run', dir, '--input', lm, '--on', on, '--output', f]);
      expect(r.code, r.stderr).toBe(0);
      return Array.from(toFloat32(readSafetensors(f).tensors.get('logits')!, 'logits', f));
    };
    const w = run('wasm'), r = run('reference');
    expect(w.length).toBe(r.length);
    let worst = 0;
    w.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - r[i])); });
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});
