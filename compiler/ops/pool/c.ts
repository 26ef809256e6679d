/** AVERAGE_POOL_2D / MAX_POOL_2D: C emission, bit-exact with pool() (index.ts). */
import { fail } from '../../errors.js';
import { cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import { cI, cType } from '../../backends/c/tflite-helpers.js';
import type { PoolStep } from './index.js';

export function emitPoolC(s: PoolStep, fn: string): CStepEmission {
  const g = s;
  if (s.in.length !== g.batches * g.inH * g.inW * g.channels || s.out.length !== g.batches * g.outH * g.outW * g.channels || s.in.dtype !== s.out.dtype) fail(`${s.name}: pool buffers do not match its geometry`);
  const max = s.op.startsWith('max'), flt = s.op.endsWith('f32');
  const T = cType(s.out.dtype);
  const lit = (v: number) => (flt ? cFloat(v) : cI(v));
  const clampLo = Number.isFinite(s.actMin) ? `      if (v < ${lit(s.actMin)}) v = ${lit(s.actMin)};\n` : '';
  const clampHi = Number.isFinite(s.actMax) ? `      if (v > ${lit(s.actMax)}) v = ${lit(s.actMax)};\n` : '';
  const A = flt ? 'float' : 'int32_t';
  const init = max ? (flt ? '-INFINITY' : '-2147483647 - 1') : flt ? '0.0f' : '0';
  const acc = max ? 'if (t > acc) acc = t;' : 'acc = acc + t;';
  let fin: string;
  if (max) fin = `      ${A} v = acc;\n`;
  else if (flt) fin = `      float v = acc / (float)n;\n`;
  else fin = `      int32_t v = n == 0 ? 0 : acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;\n`;
  const code = `/* ${s.name}: ${max ? 'max' : 'average'} pool ${g.kH}x${g.kW} stride ${g.strideH}x${g.strideW}, ${s.out.dtype} */
static void ${fn}(const ${T} *x, ${T} *y) {
  int32_t b, oy, ox, c, fy, fx;
  for (b = 0; b < ${g.batches}; b++) for (oy = 0; oy < ${g.outH}; oy++) for (ox = 0; ox < ${g.outW}; ox++) {
    int32_t y0 = oy * ${g.strideH} - ${g.padH}, x0 = ox * ${g.strideW} - ${g.padW};
    int32_t fy0 = y0 < 0 ? -y0 : 0, fy1 = ${g.inH} - y0 < ${g.kH} ? ${g.inH} - y0 : ${g.kH};
    int32_t fx0 = x0 < 0 ? -x0 : 0, fx1 = ${g.inW} - x0 < ${g.kW} ? ${g.inW} - x0 : ${g.kW};
    for (c = 0; c < ${g.channels}; c++) {
      ${A} acc = ${init};
      int32_t n = 0;
      for (fy = fy0; fy < fy1; fy++) for (fx = fx0; fx < fx1; fx++) {
        ${A} t = x[((b * ${g.inH} + y0 + fy) * ${g.inW} + x0 + fx) * ${g.channels} + c];
        ${acc}
        n++;
      }
      (void)n;
${fin}${clampLo}${clampHi}      *y++ = (${T})v;
    }
  }
}\n`;
  return { helpers: {}, includes: ['stdint.h', ...(max && flt ? ['math.h'] : [])], code };
}
