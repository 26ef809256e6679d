/**
 * TFLite Micro's seanet int16x8 single-layer tests (quantize has cases 0-1 only): the TS oracle (the lowered program's integer
 * steps) reproduces TFLM's golden output exactly. Cases whose input vectors are not in the fixtures
 * (the second inputs of add/sub, every transpose_conv input, quantize0's int32 input; quantize1 has
 * no golden) are checked to lower and run; they become bit-exact checks as soon as the vectors are
 * added (`NAME_input1_int16.csv`, `NAME_input0_int32.csv`, ...: picked up automatically).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, parseFlatCsv, runQuantizedProgram, runTfliteCsv } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReferenceAll } from '../compiler/ir/reference.js';
import type { Program } from '../compiler/plan/program.js';

const DIR = join(import.meta.dirname, 'fixtures', 'tflite', 'seanet');
const OPS = ['add', 'conv', 'leaky_relu', 'pad', 'quantize', 'strided_slice', 'sub', 'transpose_conv'];
const CASES = OPS.flatMap((op) => [0, 1, 2, 3, 4].map((i) => [op, i] as const)).filter(([op, i]) => existsSync(join(DIR, op, `${op}${i}.tflite`)));

function vectors(op: string, i: number, positions: number[]) {
  const base = join(DIR, op, `${op}${i}`);
  const feed = (k: number) => ['int16', 'int8', 'int32'].map((t) => `${base}_input${k}_${t}.csv`).find(existsSync);
  const files = positions.map(feed);
  const golden = ['int16', 'int8', 'int32'].map((t) => `${base}_golden_${t}.csv`).find(existsSync);
  return { base, files, golden };
}

describe('seanet int16x8 layers in the TS oracle', () => {
  it.each(CASES)('%s%i', (op, i) => {
    const model = join(DIR, op, `${op}${i}.tflite`);
    const p = lowerQuantizedGraph(importTflite(model));
    const { files, golden } = vectors(op, i, p.inputs.map((io) => io.filePosition));
    const feeds = files.map((f) => (f ? parseFlatCsv(readFileSync(f, 'utf8'), f) : undefined));
    const out = runQuantizedProgram(p, feeds.map((f, k) => f ?? new Array(p.inputs[k].shape.reduce((a, b) => a * b, 1)).fill(0)));
    expect(out.length).toBe(p.outputs[0].shape.reduce((a, b) => a * b, 1));
    if (!golden || files.some((f) => !f)) {
      // vectors missing from the fixtures: lowered and ran; nothing to compare with
      console.warn(`seanet ${op}${i}: ${!golden ? 'no golden file' : `input ${p.inputs[files.findIndex((f) => !f)].filePosition} missing`} in the fixtures; ran without a comparison`);
      return;
    }
    const want = parseFlatCsv(readFileSync(golden, 'utf8'), golden);
    expect(Array.from(out)).toEqual(want);
  });

  it('the fixtures verified bit for bit cover conv, leaky_relu, pad and strided_slice (20 cases)', () => {
    const exact = CASES.filter(([op, i]) => {
      const p = lowerQuantizedGraph(importTflite(join(DIR, op, `${op}${i}.tflite`)));
      const v = vectors(op, i, p.inputs.map((io) => io.filePosition));
      return v.golden && v.files.every(Boolean);
    });
    expect(exact.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES)('%s%i: the integer kernel agrees with the float reference within 2 steps on random inputs', (op, i) => {
    const g = importTflite(join(DIR, op, `${op}${i}.tflite`));
    const p = lowerQuantizedGraph(g);
    let s = 12345 + i;
    const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const feeds = p.inputs.map((io) => Array.from({ length: io.shape.reduce((a, b) => a * b, 1) }, () => Math.round((rnd() - 0.5) * (io.dtype === 'int32' ? 4e6 : 6000))));
    const out = runQuantizedProgram(p, feeds);
    const ref = runReferenceAll(g, feeds.map((f, k) => Float32Array.from(f, (v) => (v - p.inputs[k].zeroPoint) * p.inputs[k].scale)))[0];
    const o = p.outputs[0], [lo, hi] = o.dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [-32768, 32767];
    let worst = 0;
    ref.forEach((r, k) => { worst = Math.max(worst, Math.abs(Math.min(hi, Math.max(lo, Math.round(r / o.scale) + o.zeroPoint)) - out[k])); });
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('the CSV entry point (tinyforge run) reproduces conv0 golden text, and the float path agrees', () => {
    const model = join(DIR, 'conv', 'conv0.tflite');
    const p = lowerQuantizedGraph(importTflite(model));
    const inFile = join(DIR, 'conv', 'conv0_input0_int16.csv'), goldFile = join(DIR, 'conv', 'conv0_golden_int16.csv');
    const { csv } = runTfliteCsv(p, [{ file: inFile, text: readFileSync(inFile, 'utf8') }]);
    const want = parseFlatCsv(readFileSync(goldFile, 'utf8'), goldFile);
    expect(csv.trim()).toBe(want.join(','));
    // float IO (quantize at the boundary with the file's input quantization) gives the same integers
    const q = parseFlatCsv(readFileSync(inFile, 'utf8'), inFile);
    const x = Float32Array.from(q, (v) => Math.fround(v * p.inputs[0].scale));
    const y = executeProgram(p as unknown as Program, x).output;
    const back = Array.from(y, (v) => Math.round(v / Math.fround(p.outputs[0].scale)));
    expect(back).toEqual(want);
  });

  it('CSV input errors name the file', () => {
    const p = lowerQuantizedGraph(importTflite(join(DIR, 'pad', 'pad0.tflite')));
    expect(() => runTfliteCsv(p, [{ file: 'x.csv', text: '1,2,3' }])).toThrowError(/x\.csv: input .* \(640 values\), the file has 3/);
    expect(() => runTfliteCsv(p, [{ file: 'y.csv', text: new Array(640).fill(40000).join(',') }])).toThrowError(/y\.csv: value 1 \(40000\) is not an int16/);
  });
});
