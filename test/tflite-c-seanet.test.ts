/**
 * TFLite Micro's seanet int16x8 layers compiled to C: every case whose test vectors are in the fixtures
 * reproduces TFLM's golden output bit for bit through the integer API (tf_model_run_int: the file's own
 * int16 / int32 tensors in and out; several inputs for ADD, SUB and TRANSPOSE_CONV) on the host (gcc) and on the
 * emulated Cortex-M4F (QEMU mps2-an386); the float API agrees with the TS oracle's float path.
 */
import { describe, expect, it } from 'vitest';
import { executeProgram } from '../compiler/exec/program.js';
import type { Program } from '../compiler/plan/program.js';
import { runTfliteOnCHost } from '../compiler/backends/c/tflite-host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { SEANET_COMPLETE, seanetCase } from './helpers/seanet.js';

function load(op: string, i: number) {
  const c = seanetCase(op, i);
  const p = c.program;
  // the float API's input: every graph input dequantized with its own quantization, in turn
  const x = Float32Array.from(p.inputs.flatMap((io, k) => c.inputs[k]!.map((v) => Math.fround((v - io.zeroPoint) * Math.fround(io.scale)))));
  return { p, input: c.concatenated, golden: c.golden!, x, floatRef: executeProgram(p as unknown as Program, x).output };
}

describe('seanet int16x8 layers in C', () => {
  it('finds the golden cases of every seanet op', () => {
    expect(new Set(SEANET_COMPLETE.map(([op]) => op)).size).toBe(8);
    expect(SEANET_COMPLETE.length).toBe(33);
  });

  it.each(SEANET_COMPLETE)('%s%i on the host: golden through the integer API, float API = TS', async (op, i) => {
    const { p, input, golden, x, floatRef } = load(op, i);
    const r = await runTfliteOnCHost(p as unknown as Program, [x], [input]);
    expect(r.outputsInt[0]).toEqual(golden);
    expect(Array.from(r.outputs[0])).toEqual(Array.from(floatRef));
  });

  it.each(SEANET_COMPLETE)('%s%i on QEMU (cortex-m4f): golden through the integer API, float API = TS', async (op, i) => {
    const { p, input, golden, x, floatRef } = load(op, i);
    const r = await runOnQemu(p as unknown as Program, [x], { intInputs: [input] });
    expect(r.outputsInt![0]).toEqual(golden);
    expect(Array.from(r.outputs[0])).toEqual(Array.from(floatRef));
  });
});
