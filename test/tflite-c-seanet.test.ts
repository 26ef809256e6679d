/**
 * TFLite Micro's seanet int16x8 layers compiled to C: every case with golden data (conv, leaky_relu,
 * pad, strided_slice 0-4) reproduces TFLM's golden output bit for bit through the integer API
 * (tf_model_run_int, int16 in and out) on the host (gcc) and on the emulated Cortex-M4F (QEMU
 * mps2-an386); the float API agrees with the TS oracle's float path.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, parseFlatCsv, type QuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { runTfliteOnCHost } from '../compiler/backends/c/tflite-host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';

const DIR = join(import.meta.dirname, 'fixtures', 'tflite', 'seanet');
const CASES = ['conv', 'leaky_relu', 'pad', 'strided_slice'].flatMap((op) => [0, 1, 2, 3, 4].map((i) => [op, i] as const))
  .filter(([op, i]) => existsSync(join(DIR, op, `${op}${i}.tflite`)) && existsSync(join(DIR, op, `${op}${i}_golden_int16.csv`)) && existsSync(join(DIR, op, `${op}${i}_input0_int16.csv`)));

function load(op: string, i: number) {
  const base = join(DIR, op, `${op}${i}`);
  const p = lowerQuantizedGraph(importTflite(`${base}.tflite`));
  const input = parseFlatCsv(readFileSync(`${base}_input0_int16.csv`, 'utf8'), base);
  const golden = parseFlatCsv(readFileSync(`${base}_golden_int16.csv`, 'utf8'), base);
  const x = Float32Array.from(input, (v) => Math.fround((v - p.inputs[0].zeroPoint) * p.inputs[0].scale));
  return { p, input, golden, x, floatRef: executeProgram(p as unknown as Program, x).output };
}

describe('seanet int16x8 layers in C', () => {
  it('finds the 20 golden cases', () => { expect(CASES.length).toBe(20); });

  it.each(CASES)('%s%i on the host: golden through the integer API, float API = TS', async (op, i) => {
    const { p, input, golden, x, floatRef } = load(op, i);
    const r = await runTfliteOnCHost(p as unknown as Program, [x], [input]);
    expect(r.outputsInt[0]).toEqual(golden);
    expect(Array.from(r.outputs[0])).toEqual(Array.from(floatRef));
  });

  it.each(CASES)('%s%i on QEMU (cortex-m4f): golden through the integer API, float API = TS', async (op, i) => {
    const { p, input, golden, x, floatRef } = load(op, i);
    const r = await runOnQemu(p as unknown as Program, [x], { intInputs: [input] });
    expect(r.outputsInt![0]).toEqual(golden);
    expect(Array.from(r.outputs[0])).toEqual(Array.from(floatRef));
  });
});

export type { QuantizedProgram };
