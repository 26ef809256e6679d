/** The CLI end to end: compile -> run on every target -> same int8 outputs; inspect; demo. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, toFloat32, toInt8 } from '../compiler/io/safetensors.js';
import { tinyforge } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'tf-cli-'));
const example = join(import.meta.dirname, '..', 'examples', 'forward-model');
const calib = join(example, 'calib.safetensors');

describe('tinyforge CLI', () => {
  it('compiles the example to C for cortex-m4f and runs the same int8 outputs on c-host, qemu and wasm', () => {
    const out = join(root, 'm4f');
    const c = tinyforge(['compile', example, '--target', 'cortex-m4f', '--quant', 'int8', '--calib', calib, '--out', out]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/per-layer quantization error/);
    expect(c.stdout).toMatch(/layer0 .* layer1|layer2/s);
    const outs: Record<string, Int8Array> = {};
    for (const on of ['reference', 'wasm', 'c-host', 'qemu']) {
      const file = join(root, `out-${on}.safetensors`);
      const r = tinyforge(['run', out, '--input', join(out, 'check.safetensors'), '--output', file, '--on', on]);
      expect(r.code, r.stderr).toBe(0);
      const st = readSafetensors(file);
      expect(st.tensors.get('output')!.shape).toEqual([8, 3]);
      outs[on] = toInt8(st.tensors.get('output_q')!, 'output_q', file);
      if (on === 'qemu') expect(r.stdout).toMatch(/instructions per inference: \d+/);
    }
    const check = readSafetensors(join(out, 'check.safetensors'));
    const expected = Array.from(toInt8(check.tensors.get('output_q')!, 'output_q', 'check'));
    for (const on of Object.keys(outs)) expect(Array.from(outs[on]), on).toEqual(expected);
  });

  it('compile --json reports sizes and per-layer errors', () => {
    const r = tinyforge(['compile', example, '--target', 'wasm', '--quant', 'int8', '--calib', calib, '--calib-method', 'percentile', '--percentile', '99.9', '--out', join(root, 'w'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.calibration.method).toBe('percentile');
    expect(report.calibration.layers).toHaveLength(3);
    expect(report.arenaBytes).toBeGreaterThan(0);
    expect(report.files).toContain('model.wasm');
  });

  it('float32 run on wasm stays within 1e-5 of the float check vectors', () => {
    const out = join(root, 'f32');
    expect(tinyforge(['compile', example, '--target', 'wasm', '--out', out, '--calib', calib]).code).toBe(0);
    const file = join(root, 'f32-out.safetensors');
    expect(tinyforge(['run', out, '--input', join(out, 'check.safetensors'), '--output', file]).code).toBe(0);
    const got = toFloat32(readSafetensors(file).tensors.get('output')!, 'output', file);
    const want = toFloat32(readSafetensors(join(out, 'check.safetensors')).tensors.get('output')!, 'output', 'check');
    want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(1e-5));
  });

  it('inspect prints layers, parameters, MACs and per-target sizes', () => {
    const r = tinyforge(['inspect', example]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/parameters: 2019 {3}MACs per inference: 1952/);
    expect(r.stdout).toMatch(/cortex-m4f\s+int8/);
  });

  it('demo compiles, runs in WASM and on the emulated board, and reports bit-identical outputs', () => {
    const r = tinyforge(['demo', '--out', join(root, 'demo'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.int8BitIdentical).toBe(true);
    expect(d.floatMaxAbsErrorVsReference).toBeLessThan(1e-5);
    expect(d.instructionsPerInference).toBeGreaterThan(0);
  });
});
