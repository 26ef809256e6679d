/** Per-layer quantization error of an int8 program against the float reference, on calibration data. */
import { executeProgram } from '../exec/program.js';
import type { Graph } from '../ir/graph.js';
import type { Program } from '../plan/program.js';
import { dequantizeValue } from './fixedpoint.js';
import { asymmetricParams, type Calibration } from './calibrate.js';
import { STEP_VALUE } from '../plan/lower.js';
import { SOFTMAX_OUTPUT } from '../ops/softmax/index.js';

export interface LayerError {
  layer: string;
  /** root-mean-square error of the dequantized int8 output vs float */
  rmse: number;
  maxAbs: number;
  /** rmse / rms of the float output */
  relative: number;
  /** signal-to-quantization-noise ratio, dB */
  sqnrDb: number;
}

export function quantizationErrors(g: Graph, program: Program, calib: Calibration, samples: Float32Array[]): LayerError[] {
  const acc = new Map<string, { se: number; ss: number; n: number; max: number }>();
  samples.forEach((x, s) => {
    executeProgram(program, x, (step, mem) => {
      const value = STEP_VALUE.get(step);
      // data movement (transpose, gather) adds no error of its own
      if (!value || step.out.dtype !== 'int8' || step.op === 'transpose' || step.op === 'gather') return;
      const ref = calib.traces[s].values.get(value)!;
      const q = step.op === 'softmax_s8' ? SOFTMAX_OUTPUT : asymmetricParams(calib.ranges.get(value)!);
      const got = mem.i8(step.out);
      let a = acc.get(step.name);
      if (!a) acc.set(step.name, (a = { se: 0, ss: 0, n: 0, max: 0 }));
      for (let i = 0; i < got.length; i++) {
        const d = dequantizeValue(got[i], q.scale, q.zeroPoint) - ref[i];
        a.se += d * d; a.ss += ref[i] * ref[i]; a.n++; a.max = Math.max(a.max, Math.abs(d));
      }
    });
  });
  return [...acc].map(([layer, a]) => {
    const rmse = Math.sqrt(a.se / a.n), rms = Math.sqrt(a.ss / a.n);
    return { layer, rmse, maxAbs: a.max, relative: rms > 0 ? rmse / rms : 0, sqnrDb: a.se > 0 ? 10 * Math.log10(a.ss / a.se) : Infinity };
  });
}
