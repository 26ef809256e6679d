/**
 * scale_series_f32 / unscale_series_f32: C emission, float32 in exactly the order documented in
 * index.ts (seriesStats), so int8 programs that start/end with these steps stay bit-identical.
 */
import { fail } from '../../errors.js';
import type { ScaleSeriesF32Step, UnscaleSeriesF32Step } from '../../plan/program.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';

/** `static void <fn>(const float *x, float *y, float *loc, float *scale)`. */
export function emitScaleSeriesF32C(s: ScaleSeriesF32Step, fn: string): CStepEmission {
  const { length: L, channels: C, kind } = s;
  if (!s.aux || s.aux.length !== 2 || s.aux[0].length !== C || s.aux[1].length !== C) fail(`${s.name}: scale_series_f32 needs aux [loc, scale] of ${C}`);
  if (s.in.length !== L * C || s.out.length !== L * C) fail(`${s.name}: scale_series_f32 buffers do not hold [${L}, ${C}]`);
  let stats: string;
  if (kind === 'none') {
    stats = `    loc[c] = 0.0f;\n    scale[c] = 1.0f;\n`;
  } else if (kind === 'mean') {
    stats = `    float sum = 0.0f, m;
    for (t = 0; t < ${L}; t++) sum += fabsf(x[t * ${C} + c]);
    m = sum / ${cFloat(L)};
    loc[c] = 0.0f;
    scale[c] = m < ${cFloat(1e-10)} ? ${cFloat(1e-10)} : m;
`;
  } else if (kind === 'std') {
    stats = `    float sum = 0.0f, v = 0.0f, mean;
    for (t = 0; t < ${L}; t++) sum += x[t * ${C} + c];
    mean = sum / ${cFloat(L)};
    for (t = 0; t < ${L}; t++) {
      float d = x[t * ${C} + c] - mean;
      v += d * d;
    }
    loc[c] = mean;
    scale[c] = sqrtf(v / ${cFloat(L)} + ${cFloat(1e-5)});
`;
  } else {
    return fail(`${s.name}: unknown scaling '${String(kind)}'`);
  }
  const code = `/* ${s.name}: ${kind} scaling of [${L}, ${C}] */
static void ${fn}(const float *x, float *y, float *loc, float *scale) {
  int32_t c, t;
  for (c = 0; c < ${C}; c++) {
${stats}  }
  for (t = 0; t < ${L}; t++) {
    for (c = 0; c < ${C}; c++) y[c] = (x[c] - loc[c]) / scale[c];
    x += ${C};
    y += ${C};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'math.h'], code };
}

/** `static void <fn>(const float *y, float *out, const float *loc, const float *scale)`: out = y * scale + loc. */
export function emitUnscaleSeriesF32C(s: UnscaleSeriesF32Step, fn: string): CStepEmission {
  const { rows, channels: C } = s;
  if (!s.aux || s.aux.length !== 2 || s.aux[0].length !== C || s.aux[1].length !== C) fail(`${s.name}: unscale_series_f32 needs aux [loc, scale] of ${C}`);
  if (s.in.length !== rows * C || s.out.length !== rows * C) fail(`${s.name}: unscale_series_f32 buffers do not hold [${rows}, ${C}]`);
  const code = `/* ${s.name}: unscale [${rows}, ${C}] */
static void ${fn}(const float *y, float *out, const float *loc, const float *scale) {
  int32_t r, c;
  for (r = 0; r < ${rows}; r++) {
    for (c = 0; c < ${C}; c++) out[c] = y[c] * scale[c] + loc[c];
    y += ${C};
    out += ${C};
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}
