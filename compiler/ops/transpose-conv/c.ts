/**
 * TRANSPOSE_CONV: C emission, bit-exact with executeTransposeConvInt / transposeConvFloat (index.ts):
 * the same scatter order into the accumulator image (aux[0]: uint32 per output element, or int64 for
 * int16x8 with a 64-bit or no bias; the float form accumulates in the output itself).
 */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, cI } from '../../backends/c/tflite-helpers.js';
import type { TransposeConvF32Step, TransposeConvIntStep } from './index.js';

function scatter(g: TransposeConvIntStep | TransposeConvF32Step, body: string): string {
  return `  for (b = 0; b < ${g.batches}; b++) for (iy = 0; iy < ${g.inH}; iy++) for (ix = 0; ix < ${g.inW}; ix++) for (ic = 0; ic < ${g.inC}; ic++) {
    int32_t y0 = iy * ${g.strideH} - ${g.padH}, x0 = ix * ${g.strideW} - ${g.padW};
    int32_t ii = ((b * ${g.inH} + iy) * ${g.inW} + ix) * ${g.inC} + ic;
    for (ky = 0; ky < ${g.kH}; ky++) {
      int32_t oy = y0 + ky;
      if (oy < 0 || oy >= ${g.outH}) continue;
      for (kx = 0; kx < ${g.kW}; kx++) {
        int32_t ox = x0 + kx, ob;
        if (ox < 0 || ox >= ${g.outW}) continue;
        ob = ((b * ${g.outH} + oy) * ${g.outW} + ox) * ${g.outC};
        for (oc = 0; oc < ${g.outC}; oc++) {
          int32_t wi = ((oc * ${g.kH} + ky) * ${g.kW} + kx) * ${g.inC} + ic;
          ${body}
        }
      }
    }
  }
`;
}

export function emitTransposeConvC(s: TransposeConvIntStep | TransposeConvF32Step, fn: string): CStepEmission {
  const outLen = s.batches * s.outH * s.outW * s.outC;
  if (s.out.length !== outLen || s.in.length !== s.batches * s.inH * s.inW * s.inC || s.weights.length !== s.outC * s.kH * s.kW * s.inC) fail(`${s.name}: transpose_conv buffers do not match its geometry`);
  const decl = '  int32_t b, iy, ix, ic, ky, kx, oc, o;\n';
  if (s.op === 'transpose_conv_f32') {
    let code = `/* ${s.name}: transpose conv ${s.kH}x${s.kW}, float */\n` + cConstArray('float', `${fn}_w`, s.weights, cFloat, 6);
    if (s.bias) code += cConstArray('float', `${fn}_b`, s.bias, cFloat, 6);
    const lo = Number.isFinite(s.actMin) ? `    if (v < ${cFloat(s.actMin)}) v = ${cFloat(s.actMin)};\n` : '';
    const hi = Number.isFinite(s.actMax) ? `    if (v > ${cFloat(s.actMax)}) v = ${cFloat(s.actMax)};\n` : '';
    code += `static void ${fn}(const float *x, float *y) {
${decl}  for (o = 0; o < ${outLen}; o++) y[o] = 0.0f;
${scatter(s, `y[ob + oc] = y[ob + oc] + x[ii] * ${fn}_w[wi];`)}  for (o = 0; o < ${outLen}; o++) {
    float v = ${s.bias ? `y[o] + ${fn}_b[o % ${s.outC}]` : 'y[o]'};
${lo}${hi}    y[o] = v;
  }
}\n`;
    return { helpers: {}, includes: ['stdint.h'], code };
  }
  const s16 = s.op === 'transpose_conv_s16';
  const T = s16 ? 'int16_t' : 'int8_t';
  const wide = s16 && !s.bias;
  const acc = s.aux?.[0] ?? fail(`${s.name}: transpose_conv needs its accumulator buffer`);
  if (acc.dtype !== 'int32' || acc.length < outLen * (wide ? 2 : 1)) fail(`${s.name}: the accumulator buffer is too small`);
  let code = `/* ${s.name}: transpose conv ${s.kH}x${s.kW} stride ${s.strideH}x${s.strideW}, ${s16 ? 'int16x8' : 'int8'} */\n`;
  code += cConstArray('int8_t', `${fn}_w`, s.weights, String, 32);
  const q = new Int32Array(4 * s.outC);
  for (let c = 0; c < s.outC; c++) {
    q[4 * c] = s.bias ? s.bias[c] : s.bias64 ? s.bias64[2 * c] : 0;
    q[4 * c + 1] = s.bias64 ? s.bias64[2 * c + 1] : 0;
    q[4 * c + 2] = s.multiplier[c]; q[4 * c + 3] = s.shift[c];
  }
  code += cConstArray('int32_t', `${fn}_q`, q, cInt32, 8);
  const A = wide ? 'int64_t' : 'uint32_t';
  const fin = wide
    ? `int32_t v = tf_mbqm64(a[o] + (int64_t)(((uint64_t)(uint32_t)q[1] << 32) | (uint32_t)q[0]), q[2], q[3]);`
    : `int32_t v = tf_mbqm((int32_t)(a[o] + (uint32_t)q[0]), q[2], q[3]) + (${s.outZeroPoint});`;
  code += `static void ${fn}(const ${T} *x, ${T} *y, int32_t *scratch) {
  ${A} *a = (${A} *)(void *)scratch;
${decl}  for (o = 0; o < ${outLen}; o++) a[o] = 0;
${scatter(s, `a[ob + oc] += (${A})${wide ? '' : '(uint32_t)'}((x[ii] - (${s.inZeroPoint})) * ${fn}_w[wi]);`)}  for (o = 0; o < ${outLen}; o++) {
    const int32_t *q = ${fn}_q + 4 * (o % ${s.outC});
    ${fin}
    y[o] = (${T})(v < ${cI(s.actMin)} ? ${cI(s.actMin)} : v > ${cI(s.actMax)} ? ${cI(s.actMax)} : v);
  }
}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER }, includes: ['stdint.h'], code };
}
