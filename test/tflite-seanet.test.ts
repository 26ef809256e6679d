/**
 * TFLite Micro's seanet int16x8 single-layer tests (quantize has cases 0-1 only): the TS oracle (the lowered
 * program's integer steps) reproduces TFLM's golden output exactly for every case whose vectors are in the
 * fixtures (test/helpers/seanet.ts finds `NAME_input<k>_<dtype>.csv` per graph input and the golden file; see
 * test/fixtures/tflite/README.md for which are there). The others are checked to lower and run.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, parseFlatCsv, runQuantizedProgram, runTfliteCsv } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReferenceAll } from '../compiler/ir/reference.js';
import type { Program } from '../compiler/plan/program.js';
import { SEANET_CASES, SEANET_COMPLETE, SEANET_DIR, seanetCase } from './helpers/seanet.js';

const DIR = SEANET_DIR;
const CASES = SEANET_CASES;

describe('seanet int16x8 layers in the TS oracle', () => {
  it.each(CASES)('%s%i', (op, i) => {
    const c = seanetCase(op, i), p = c.program;
    const out = runQuantizedProgram(p, c.inputs.map((f, k) => f ?? new Array(p.inputs[k].shape.reduce((a, b) => a * b, 1)).fill(0)));
    expect(out.length).toBe(p.outputs[0].shape.reduce((a, b) => a * b, 1));
    if (!c.complete) {
      // vectors missing from the fixtures: lowered and ran; nothing to compare with
      console.warn(`seanet ${op}${i}: ${!c.golden ? 'no golden file' : `input ${p.inputs[c.inputs.findIndex((f) => !f)].filePosition} missing`} in the fixtures; ran without a comparison`);
      return;
    }
    expect(Array.from(out)).toEqual(c.golden);
  });

  it('the fixtures verified bit for bit cover every seanet op', () => {
    expect(SEANET_COMPLETE.length).toBe(33);
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
