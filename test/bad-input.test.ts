/** Bad input gets one line naming the file and the problem, exit code 2, and no stack trace. */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyforge } from './helpers/cli.js';
import { writeCalib, writeMlp } from './helpers/make-mlp.js';
import { writeSafetensors } from '../compiler/io/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'tf-bad-'));
const spec = { inputSize: 6, layers: [{ units: 8, activation: 'relu' }, { units: 2, activation: 'linear' }] };
const good = writeMlp(join(root, 'good'), spec);

function variant(name: string, mutate: (dir: string) => void): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(good, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(good, 'model.safetensors'), join(dir, 'model.safetensors'));
  mutate(dir);
  return dir;
}

function expectOneLineError(args: string[], ...mustMention: Array<string | RegExp>): void {
  const r = tinyforge(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyforge: /);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const m of mustMention) expect(lines[0]).toMatch(m);
}

const weights = (dir: string) => join(dir, 'model.safetensors');
const compile = (dir: string) => ['compile', dir, '--out', join(root, 'out-' + Math.random().toString(36).slice(2))];

describe('corrupt or mismatched checkpoints are refused with a one-line error', () => {
  it('a truncated safetensors file (shorter than its header)', () => {
    const dir = variant('trunc-header', (d) => writeFileSync(weights(d), readFileSync(weights(d)).subarray(0, 5)));
    expectOneLineError(compile(dir), 'model.safetensors', /truncated/);
  });
  it('a safetensors file cut off in the data section', () => {
    const dir = variant('trunc-data', (d) => { const b = readFileSync(weights(d)); writeFileSync(weights(d), b.subarray(0, b.length - 10)); });
    expectOneLineError(compile(dir), 'model.safetensors', /out of range|truncated/);
  });
  it('a header length pointing past the end of the file', () => {
    const dir = variant('bad-len', (d) => { const b = Buffer.from(readFileSync(weights(d))); b.writeBigUInt64LE(10n ** 9n, 0); writeFileSync(weights(d), b); });
    expectOneLineError(compile(dir), 'model.safetensors', /header length/);
  });
  it('a header that is not JSON', () => {
    const dir = variant('bad-json', (d) => { const b = Buffer.from(readFileSync(weights(d))); b.write('#', 9); writeFileSync(weights(d), b); });
    expectOneLineError(compile(dir), 'model.safetensors', /JSON/);
  });
  it('data offsets out of range', () => {
    const dir = variant('bad-offsets', (d) => {
      const b = Buffer.from(readFileSync(weights(d)));
      const n = Number(b.readBigUInt64LE(0));
      const h = JSON.parse(b.subarray(8, 8 + n).toString());
      h['layers.0.bias'].data_offsets = [1_000_000, 1_000_032];
      const hb = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(hb.length));
      writeFileSync(weights(d), Buffer.concat([len, hb, b.subarray(8 + n)]));
    });
    expectOneLineError(compile(dir), 'model.safetensors', 'layers.0.bias', /out of range/);
  });
  it('a missing tensor', () => {
    const dir = variant('missing', (d) => writeSafetensors(weights(d), { 'layers.0.weight': { dtype: 'F32', shape: [8, 6], data: new Float32Array(48) } }));
    expectOneLineError(compile(dir), 'layers.0.bias', /missing/);
  });
  it('a weight whose shape does not match config.json', () => {
    const dir = variant('shape', (d) => {
      const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      c.layers[0].units = 9;
      writeFileSync(join(d, 'config.json'), JSON.stringify(c));
    });
    expectOneLineError(compile(dir), 'layers.0.weight', /\[8,6\]/, /\[9, 6\]/);
  });
  it('an extra tensor the config does not use', () => {
    const dir = variant('extra', (d) => {
      const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      c.layers.pop();
      writeFileSync(join(d, 'config.json'), JSON.stringify(c));
    });
    expectOneLineError(compile(dir), /unexpected tensor 'layers.1/);
  });
  it('an unknown activation', () => {
    const dir = variant('act', (d) => {
      const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      c.layers[0].activation = 'swish';
      writeFileSync(join(d, 'config.json'), JSON.stringify(c));
    });
    expectOneLineError(compile(dir), 'config.json', /unknown activation 'swish'/, /relu/);
  });
  it('an unsupported model_type and a missing folder', () => {
    const dir = variant('type', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'resnet' })));
    expectOneLineError(compile(dir), /model_type "resnet"/);
    expectOneLineError(compile(join(root, 'nope')), /no such model folder/);
  });
  it('int8 without calibration data names the flag', () => {
    expectOneLineError([...compile(good), '--quant', 'int8'], /--calib/);
  });
  it('stack traces appear only with --verbose', () => {
    const dir = variant('verbose', (d) => writeFileSync(weights(d), 'xx'));
    const r = tinyforge([...compile(dir), '--verbose']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('inputs of the wrong shape are refused', () => {
  it('tinyforge run with the wrong number of features', () => {
    const out = join(root, 'compiled-good');
    const r = tinyforge(['compile', good, '--target', 'wasm', '--quant', 'int8', '--calib', writeCalib(join(root, 'calib.safetensors'), 16, 6), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const bad = writeCalib(join(root, 'wrong.safetensors'), 4, 7);
    expectOneLineError(['run', out, '--input', bad], 'wrong.safetensors', /\[4,7\]/, /\[N, 6\]/);
  });
  it('tinyforge run given a model file instead of a compiled folder names the compile command', () => {
    const tfl = join(import.meta.dirname, 'fixtures', 'tflite', 'models', 'hello_world_int8.tflite');
    expectOneLineError(['run', tfl, '--input', join(root, 'x.csv')], 'hello_world_int8.tflite', /not a compiled model folder/, /tinyforge compile .*hello_world_int8\.tflite --out hello_world_int8-compiled/);
  });
  it('a calibration file with the wrong shape', () => {
    const bad = writeCalib(join(root, 'wrong-calib.safetensors'), 4, 5);
    expectOneLineError([...compile(good), '--quant', 'int8', '--calib', bad], 'wrong-calib.safetensors', /\[N, 6\]/);
  });
});
