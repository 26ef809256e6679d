/**
 * TFLite Micro's seanet int16x8 single-layer tests compiled to WASM: every case with golden data (conv,
 * leaky_relu, pad, strided_slice 0-4) reproduces TFLM's golden output bit for bit through the module's integer
 * entry (run_int, int16 in and out); every other seanet case gives the TS oracle's integers on the same feeds; the
 * float entry (run) agrees with the oracle's float path bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, parseFlatCsv, runQuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm } from '../compiler/backends/wasm/tflite.js';
import type { Program } from '../compiler/plan/program.js';

const DIR = join(import.meta.dirname, 'fixtures', 'tflite', 'seanet');
const OPS = ['add', 'conv', 'leaky_relu', 'pad', 'quantize', 'strided_slice', 'sub', 'transpose_conv'];
const ALL = OPS.flatMap((op) => [0, 1, 2, 3, 4].map((i) => [op, i] as const)).filter(([op, i]) => existsSync(join(DIR, op, `${op}${i}.tflite`)));
const GOLDEN = ALL.filter(([op, i]) => existsSync(join(DIR, op, `${op}${i}_golden_int16.csv`)) && existsSync(join(DIR, op, `${op}${i}_input0_int16.csv`))
  && ['conv', 'leaky_relu', 'pad', 'strided_slice'].includes(op));

function tryLower(op: string, i: number) {
  try { return lowerQuantizedGraph(importTflite(join(DIR, op, `${op}${i}.tflite`))); } catch { return null; }
}

/** Deterministic feeds in each input's dtype (int16: +-6000, int32: +-2e6). */
function feeds(p: NonNullable<ReturnType<typeof tryLower>>, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return p.inputs.map((io) => Array.from({ length: io.shape.reduce((a, b) => a * b, 1) }, () => Math.round((rnd() - 0.5) * (io.dtype === 'int32' ? 4e6 : io.dtype === 'int8' ? 250 : 12000))));
}

describe('seanet int16x8 layers in WASM', () => {
  it('finds the 20 golden cases', () => { expect(GOLDEN.length).toBe(20); });

  it.each(GOLDEN)('%s%i: TFLM golden through run_int; float run = TS oracle', async (op, i) => {
    const base = join(DIR, op, `${op}${i}`);
    const p = lowerQuantizedGraph(importTflite(`${base}.tflite`));
    const input = parseFlatCsv(readFileSync(`${base}_input0_int16.csv`, 'utf8'), base);
    const golden = parseFlatCsv(readFileSync(`${base}_golden_int16.csv`, 'utf8'), base);
    const wasm = await emitWasm(p as unknown as Program);
    const m = await instantiateTfliteWasm(p, wasm);
    expect(Array.from(m.run([input]))).toEqual(golden);
    // float API: quantize at the boundary, dequantize at the end, as the oracle's float path
    const x = Float32Array.from(input, (v) => Math.fround((v - p.inputs[0].zeroPoint) * p.inputs[0].scale));
    const { load } = await import('../runtime/index.js');
    const model = await load(wasm);
    const y = model.run({ [model.inputs[0].name]: x })[model.outputs[0].name];
    expect(Array.from(y)).toEqual(Array.from(executeProgram(p as unknown as Program, x).output));
  });

  it.each(ALL)('%s%i: run_int = TS oracle on random integer feeds', async (op, i) => {
    const p = tryLower(op, i);
    if (!p) { console.warn(`seanet ${op}${i}: does not lower (TS oracle refuses it too); skipped`); return; }
    const m = await instantiateTfliteWasm(p, await emitWasm(p as unknown as Program));
    for (const seed of [1, 2]) {
      const f = feeds(p, seed * 7919 + i);
      expect(Array.from(m.run(f))).toEqual(Array.from(runQuantizedProgram(p, f)));
    }
  });
});
