/**
 * Activation calibration: run the float reference over a calibration set and record each tensor's
 * range, by min/max or by percentile (clips rare outliers for finer resolution).
 */
import type { Graph } from '../ir/graph.js';
import { runReference, type Trace } from '../ir/reference.js';
import type { QuantParams } from '../plan/program.js';

export type CalibMethod = 'minmax' | 'percentile';

export interface CalibOptions {
  method: CalibMethod;
  /** for 'percentile': keep this share of values inside the range, e.g. 99.99 */
  percentile: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Calibration {
  ranges: Map<string, { min: number; max: number }>;
  /** float reference values of every tensor for each calibration sample (for error reports) */
  traces: Trace[];
}

export function calibrate(g: Graph, samples: Float32Array[], opts: CalibOptions): Calibration {
  const collected = new Map<string, number[]>();
  const traces: Trace[] = [];
  samples.forEach((x, i) => {
    const trace: Trace = { values: new Map() };
    runReference(g, x, trace);
    traces.push(trace);
    for (const [name, v] of trace.values) {
      let arr = collected.get(name);
      if (!arr) collected.set(name, (arr = []));
      for (let k = 0; k < v.length; k++) arr.push(v[k]);
    }
    opts.onProgress?.(i + 1, samples.length);
  });
  const ranges = new Map<string, { min: number; max: number }>();
  for (const [name, arr] of collected) {
    if (opts.method === 'minmax' || arr.length < 2) {
      let min = Infinity, max = -Infinity;
      for (const v of arr) { if (v < min) min = v; if (v > max) max = v; }
      ranges.set(name, { min, max });
    } else {
      const sorted = Float64Array.from(arr).sort();
      const tail = (100 - opts.percentile) / 200;
      const lo = sorted[Math.floor(tail * (sorted.length - 1))];
      const hi = sorted[Math.ceil((1 - tail) * (sorted.length - 1))];
      ranges.set(name, { min: lo, max: hi });
    }
  }
  return { ranges, traces };
}

/** Asymmetric int8 parameters covering [min, max] (always including 0 so zero is exact). */
export function asymmetricParams(range: { min: number; max: number }): QuantParams {
  const min = Math.min(range.min, 0), max = Math.max(range.max, 0);
  let scale = Math.fround((max - min) / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) scale = Math.fround(1 / 255);
  let zeroPoint = Math.round(-128 - min / scale);
  zeroPoint = Math.max(-128, Math.min(127, zeroPoint));
  return { scale, zeroPoint };
}
