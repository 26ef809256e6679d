/**
 * Per-channel input scaling of a [time, channels] series and its inverse on the forecast
 * (TinyTimeMixer's scalers, every value observed):
 *   std:  loc = mean, scale = sqrt(biased variance + 1e-5)
 *   mean: loc = 0,    scale = max(mean |x|, 1e-10)
 *   none: loc = 0,    scale = 1
 * `scale_series` outputs [scaled, loc [C], scale [C]]; `unscale_series` maps y [T, C] to y * scale + loc.
 */
import { fail } from '../../errors.js';
import type { ScaleSeriesF32Step, UnscaleSeriesF32Step } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

export type ScalingKind = 'std' | 'mean' | 'none';
export interface ScaleAttrs { kind: ScalingKind }

/**
 * Float32 arithmetic in exactly this order (every backend does the same, so int8 programs that start
 * with this step stay bit-identical across targets), per channel c over t = 0..L-1:
 *   std:  sum = f32(sum + x); mean = f32(sum / L); d = f32(x - mean); v = f32(v + f32(d * d));
 *         scale = f32(sqrt(f32(f32(v / L) + 1e-5f))); loc = mean
 *   mean: sum = f32(sum + |x|); scale = f32(sum / L), at least 1e-10f; loc = 0
 *   none: loc = 0, scale = 1
 * scaled = f32(f32(x - loc) / scale); unscale: y' = f32(f32(y * scale) + loc).
 */
export function seriesStats(x: Float32Array, L: number, C: number, kind: ScalingKind): { loc: Float32Array; scale: Float32Array } {
  const f = Math.fround;
  const loc = new Float32Array(C), scale = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    if (kind === 'none') { scale[c] = 1; continue; }
    if (kind === 'mean') {
      let s = 0;
      for (let t = 0; t < L; t++) s = f(s + Math.abs(x[t * C + c]));
      const m = f(s / L);
      scale[c] = m < f(1e-10) ? f(1e-10) : m;
      continue;
    }
    let s = 0;
    for (let t = 0; t < L; t++) s = f(s + x[t * C + c]);
    const mean = f(s / L);
    let v = 0;
    for (let t = 0; t < L; t++) { const d = f(x[t * C + c] - mean); v = f(v + f(d * d)); }
    loc[c] = mean;
    scale[c] = f(Math.sqrt(f(f(v / L) + f(1e-5))));
  }
  return { loc, scale };
}

export function scaleSeriesReference(x: Float32Array, L: number, C: number, kind: ScalingKind): Float32Array[] {
  const f = Math.fround;
  const { loc, scale } = seriesStats(x, L, C, kind);
  const y = new Float32Array(x.length);
  for (let t = 0; t < L; t++) for (let c = 0; c < C; c++) y[t * C + c] = f(f(x[t * C + c] - loc[c]) / scale[c]);
  return [y, loc, scale];
}

export function unscaleReference(y: Float32Array, loc: Float32Array, scale: Float32Array): Float32Array {
  const f = Math.fround;
  const C = loc.length, out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = f(f(y[i] * scale[i % C]) + loc[i % C]);
  return out;
}

registerOp<ScaleAttrs>('scale_series', {
  shape: ([x], _a, where) => {
    if (x.length !== 2) fail(`${where}: scaling needs a [time, channels] input, got [${x}]`);
    return [x, [x[1]], [x[1]]];
  },
  reference: ([x], [[L, C]], a) => scaleSeriesReference(x, L, C, a.kind),
  lowerFloat: (n, ctx) => {
    const [length, channels] = ctx.shape(n.inputs[0]);
    const input = ctx.read(n.inputs[0]);
    const [scaled, loc, scale] = n.outputs.map((v) => ctx.write(v, 'float32'));
    return { op: 'scale_series_f32', name: n.name, in: input, out: scaled, aux: [loc, scale], length, channels, kind: n.attrs.kind };
  },
});

registerOp<Record<string, never>>('unscale_series', {
  shape: ([y, loc, scale], _a, where) => {
    const C = y[y.length - 1];
    if (loc[0] !== C || scale[0] !== C) fail(`${where}: forecast has ${C} channels but the scaler has ${loc[0]}`);
    return [y];
  },
  reference: ([y, loc, scale]) => [unscaleReference(y, loc, scale)],
  lowerFloat: (n, ctx) => {
    const y = ctx.read(n.inputs[0]), loc = ctx.read(n.inputs[1]), scale = ctx.read(n.inputs[2]);
    return { op: 'unscale_series_f32', name: n.name, in: y, out: ctx.write(n.outputs[0], 'float32'), aux: [loc, scale], rows: y.length / loc.length, channels: loc.length };
  },
});

registerStep<ScaleSeriesF32Step>('scale_series_f32', (s, mem) => {
  const [y, loc, scale] = scaleSeriesReference(mem.f32(s.in), s.length, s.channels, s.kind);
  mem.f32(s.out).set(y);
  mem.f32(s.aux![0]).set(loc);
  mem.f32(s.aux![1]).set(scale);
});
registerStep<UnscaleSeriesF32Step>('unscale_series_f32', (s, mem) => mem.f32(s.out).set(unscaleReference(mem.f32(s.in), mem.f32(s.aux![0]), mem.f32(s.aux![1]))));
