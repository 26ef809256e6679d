/**
 * `tinyforge compile model.tflite` and `tinyforge run` with TFLM's integer CSV vectors: the output CSV equals
 * the golden file byte for byte on reference, wasm, c-host and qemu (also for two-input ADD); `--ram` refuses a model that does not fit
 * before writing anything.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../compiler/io/safetensors.js';
import { tinyforge } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'tf-tflite-cli-'));
const FIX = join(import.meta.dirname, 'fixtures', 'tflite');
const SEANET = join(FIX, 'seanet');
const PERSON = join(FIX, 'models', 'person_detect.tflite');
const example = join(import.meta.dirname, '..', 'examples', 'forward-model');

describe('tinyforge compile/run on .tflite files', () => {
  it('compiles seanet conv0 to wasm and cortex-m4f: the compiled folder, check vectors from the oracle', () => {
    for (const target of ['wasm', 'cortex-m4f']) {
      const out = join(root, `conv0-${target}`);
      const r = tinyforge(['compile', join(SEANET, 'conv', 'conv0.tflite'), '--target', target, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/int16x8/);
      const files = target === 'wasm' ? ['model.wasm'] : ['model.c', 'model.h'];
      for (const f of ['program.safetensors', 'check.safetensors', 'tinyforge.json', ...files]) expect(existsSync(join(out, f)), f).toBe(true);
      const manifest = JSON.parse(readFileSync(join(out, 'tinyforge.json'), 'utf8'));
      expect(manifest.quant).toBe('int16x8');
      expect(manifest.tflite.inputs[0]).toMatchObject({ dtype: 'int16', shape: [1, 8, 166, 2] });
      const check = readSafetensors(join(out, 'check.safetensors'));
      expect(check.tensors.get('input')!.shape).toEqual([4, 1, 8, 166, 2]);
      expect(check.tensors.get('output_int')!.shape).toEqual([4, 1, 2, 160, 8]);
    }
  });

  const golden = readFileSync(join(SEANET, 'conv', 'conv0_golden_int16.csv'));
  it.each([['reference', 'wasm'], ['wasm', 'wasm'], ['c-host', 'cortex-m4f'], ['qemu', 'cortex-m4f'], ['c-host', 'wasm']])('run --on %s (%s folder): conv0 output CSV = golden file', (on, target) => {
    const out = join(root, `conv0-${target}`);
    const file = join(root, `conv0-${on}-${target}.csv`);
    const r = tinyforge(['run', out, '--input', join(SEANET, 'conv', 'conv0_input0_int16.csv'), '--output', file, '--on', on]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file).equals(golden)).toBe(true);
  });

  it('leaky_relu3 and strided_slice2 (compiled to c) match their golden files on c-host and reference', () => {
    for (const [op, i] of [['leaky_relu', 3], ['strided_slice', 2]] as const) {
      const out = join(root, `${op}${i}`);
      expect(tinyforge(['compile', join(SEANET, op, `${op}${i}.tflite`), '--target', 'c', '--out', out]).code).toBe(0);
      for (const on of ['reference', 'c-host']) {
        const file = join(root, `${op}${i}-${on}.csv`);
        const r = tinyforge(['run', out, '--input', join(SEANET, op, `${op}${i}_input0_int16.csv`), '--output', file, '--on', on]);
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(SEANET, op, `${op}${i}_golden_int16.csv`), 'utf8'));
      }
    }
  });

  it('two-input ADD (add0, compiled to cortex-m4f): --input per graph input; the output CSV = golden file on every target', () => {
    const out = join(root, 'add0');
    expect(tinyforge(['compile', join(SEANET, 'add', 'add0.tflite'), '--target', 'cortex-m4f', '--out', out]).code).toBe(0);
    const inputs = [0, 1].flatMap((k) => ['--input', join(SEANET, 'add', `add0_input${k}_int16.csv`)]);
    for (const on of ['reference', 'wasm', 'c-host', 'qemu']) {
      const file = join(root, `add0-${on}.csv`);
      const r = tinyforge(['run', out, ...inputs, '--output', file, '--on', on]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/integer API/);
      expect(readFileSync(file, 'utf8'), on).toBe(readFileSync(join(SEANET, 'add', 'add0_golden_int16.csv'), 'utf8'));
    }
  });

  it('a CSV value outside the input dtype or of the wrong length is a one-line error naming the file', () => {
    const out = join(root, 'conv0-wasm');
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, '1,2,40000\n');
    const r = tinyforge(['run', out, '--input', bad, '--on', 'reference']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.csv:1: value 3 \(40000\) is not an int16/);
    writeFileSync(bad, '1,2,3\n');
    const r2 = tinyforge(['run', out, '--input', bad, '--on', 'reference']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad\.csv: input .* int16 \(2656 values\), the file has 3/);
  });

  it('--quant and --calib are refused for .tflite files', () => {
    const r = tinyforge(['compile', join(FIX, 'models', 'hello_world_float.tflite'), '--quant', 'int8', '--out', join(root, 'hw')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--quant does not apply to TensorFlow Lite files/);
  });

  it('--ram 32k refuses person_detect (naming the need) before writing anything; --ram 96k compiles it', () => {
    const small = join(root, 'pd-32k');
    const r = tinyforge(['compile', PERSON, '--target', 'cortex-m4f', '--ram', '32k', '--out', small]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tinyforge: --ram 32768: 'person_detect' needs \d+ B of arena \+ \d+ B of stack = (\d+) B; raise --ram to at least \1/);
    expect(existsSync(small)).toBe(false);
    const ok = join(root, 'pd-96k');
    const r2 = tinyforge(['compile', PERSON, '--target', 'c', '--ram', '96k', '--out', ok, '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    const report = JSON.parse(r2.stdout);
    expect(report.ram.budgetBytes).toBe(96 * 1024);
    expect(report.ram.totalBytes).toBeGreaterThan(32 * 1024);
    expect(report.ram.totalBytes).toBeLessThanOrEqual(96 * 1024);
  });

  it('--ram applies to checkpoint folders too, and not to --target wasm', () => {
    const r = tinyforge(['compile', example, '--target', 'c', '--ram', '100', '--out', join(root, 'mlp-100')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ram 100: .* needs \d+ B/);
    expect(existsSync(join(root, 'mlp-100'))).toBe(false);
    expect(tinyforge(['compile', example, '--target', 'c', '--ram', '64K', '--out', join(root, 'mlp-64k')]).code).toBe(0);
    const w = tinyforge(['compile', example, '--target', 'wasm', '--ram', '64k', '--out', join(root, 'mlp-w')]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--ram applies to --target c and cortex-m4f/);
    const bad = tinyforge(['compile', example, '--target', 'c', '--ram', 'lots', '--out', join(root, 'mlp-x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ram lots: expected a positive number of bytes/);
  });
});

