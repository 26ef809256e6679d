/**
 * TFLite Micro's seanet int16x8 single-layer tests compiled to WASM: every case whose test vectors are in the
 * fixtures reproduces TFLM's golden output bit for bit through the module's integer entry (run_int, the file's
 * own int16 / int32 tensors, one array per graph input); every other seanet case gives the TS oracle's integers on the same feeds; the
 * float entry (run) agrees with the oracle's float path bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, runQuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { executeProgram } from '../compiler/exec/program.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm } from '../compiler/backends/wasm/tflite.js';
import type { Program } from '../compiler/plan/program.js';
import { SEANET_CASES, SEANET_COMPLETE, SEANET_DIR, seanetCase } from './helpers/seanet.js';

function tryLower(op: string, i: number) {
  try { return lowerQuantizedGraph(importTflite(join(SEANET_DIR, op, `${op}${i}.tflite`))); } catch { return null; }
}

/** Deterministic feeds in each input's dtype (int16: +-6000, int32: +-2e6). */
function feeds(p: NonNullable<ReturnType<typeof tryLower>>, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return p.inputs.map((io) => Array.from({ length: io.shape.reduce((a, b) => a * b, 1) }, () => Math.round((rnd() - 0.5) * (io.dtype === 'int32' ? 4e6 : io.dtype === 'int8' ? 250 : 12000))));
}

describe('seanet int16x8 layers in WASM', () => {
  it('finds the golden cases of every seanet op', () => { expect(SEANET_COMPLETE.length).toBe(33); });

  it.each(SEANET_COMPLETE)('%s%i: TFLM golden through run_int; float run = TS oracle', async (op, i) => {
    const c = seanetCase(op, i), p = c.program;
    const wasm = await emitWasm(p as unknown as Program);
    const m = await instantiateTfliteWasm(p, wasm);
    expect(Array.from(m.run(c.inputs as number[][]))).toEqual(c.golden);
    // float API: every input dequantized in turn; quantized at the boundary, dequantized at the end, as the oracle's float path
    const x = Float32Array.from(p.inputs.flatMap((io, k) => c.inputs[k]!.map((v) => Math.fround((v - io.zeroPoint) * io.scale))));
    const { load } = await import('../runtime/index.js');
    const model = await load(wasm);
    const y = model.run({ [model.inputs[0].name]: x })[model.outputs[0].name];
    expect(Array.from(y)).toEqual(Array.from(executeProgram(p as unknown as Program, x).output));
  });

  it.each(SEANET_CASES)('%s%i: run_int = TS oracle on random integer feeds', async (op, i) => {
    const p = tryLower(op, i);
    if (!p) { console.warn(`seanet ${op}${i}: does not lower (TS oracle refuses it too); skipped`); return; }
    const m = await instantiateTfliteWasm(p, await emitWasm(p as unknown as Program));
    for (const seed of [1, 2]) {
      const f = feeds(p, seed * 7919 + i);
      expect(Array.from(m.run(f))).toEqual(Array.from(runQuantizedProgram(p, f)));
    }
  });
});
