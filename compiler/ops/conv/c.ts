/**
 * CONV_2D / DEPTHWISE_CONV_2D: C emission, bit-exact with executeConvInt / convFloat (index.ts).
 *
 * int8 convolutions (conv_s8, one group) run through the dense kernels of compiler/ops/dense/c.ts
 * (the Cortex-M4 SMLAD path on target cortex-m4f): the filter [outC][kH][kW][inC] is a dense weight
 * matrix over im2col rows (ky, kx, ic), the input zero point is folded into the bias
 * (bias - inZp * sum(w)), and padded taps are filled with inZp, so they add exactly nothing:
 * bias + sum w * (x - zp) = (bias - zp * sum w) + sum w * x (mod 2^32, which is what the int32 TFLM
 * accumulator computes). 1x1 stride-1 unpadded convolutions are a dense layer over H*W rows as is.
 * depthwise_s8: per output pixel and channel, taps unrolled from a base pointer; interior pixels use the
 * folded bias and no zero-point subtraction, border pixels skip the taps outside the image (TFLM).
 * int16x8 (conv_s16 / depthwise_s16) and float convolutions are straightforward loops.
 */
import { fail } from '../../errors.js';
import type { DenseS8Step } from '../../plan/program.js';
import { cConstArray, cFloat, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, cI, cType } from '../../backends/c/tflite-helpers.js';
import { emitDenseS8C, requantFastHelpers, requantHelper, type DenseS8Kernel } from '../dense/c.js';
import type { ConvF32Step, ConvGeometry, ConvIntStep } from './index.js';

function checkGeometry(s: ConvIntStep | ConvF32Step, depthwise: boolean): void {
  const g = s;
  const inLen = g.batches * g.inH * g.inW * g.inC, outLen = g.batches * g.outH * g.outW * g.outC;
  const wLen = depthwise ? g.kH * g.kW * g.outC : g.outC * g.kH * g.kW * g.filterC;
  if (s.in.length !== inLen || s.out.length !== outLen || s.weights.length !== wLen) fail(`${s.name}: ${s.op} buffers/weights do not match its geometry`);
}

/** The common loop nest: for every output pixel, for every channel, the taps inside the image. */
function loops(g: ConvGeometry, depthwise: boolean, T: string, acc: string, tap: string, finish: string): string {
  const groups = depthwise ? 1 : g.inC / g.filterC;
  const perGroup = depthwise ? 1 : g.outC / groups;
  const xoff = depthwise ? (g.filterC === 1 ? 'c' : `c / ${g.filterC}`) : (groups === 1 ? '0' : `(c / ${perGroup}) * ${g.filterC}`);
  const inner = depthwise
    ? `${tap.replace(/XV/g, `xp[${xoff}]`).replace(/WV/g, `wk[${g.outC} * (ky * ${g.kW} + kx) + c]`)}`
    : `for (ic = 0; ic < ${g.filterC}; ic++) ${tap.replace(/XV/g, `xq[ic]`).replace(/WV/g, `wc[(ky * ${g.kW} + kx) * ${g.filterC} + ic]`)}`;
  return `  int32_t b, oy, ox, c, ky, kx${depthwise ? '' : ', ic'};
  for (b = 0; b < ${g.batches}; b++) for (oy = 0; oy < ${g.outH}; oy++) for (ox = 0; ox < ${g.outW}; ox++) {
    int32_t y0 = oy * ${g.strideH} - ${g.padH}, x0 = ox * ${g.strideW} - ${g.padW};
    for (c = 0; c < ${g.outC}; c++) {
      ${acc}
${depthwise ? '' : `      const int8_t *wc = wk + c * ${g.kH * g.kW * g.filterC};\n`}      for (ky = 0; ky < ${g.kH}; ky++) {
        int32_t iy = y0 + ky * ${g.dilationH};
        if (iy < 0 || iy >= ${g.inH}) continue;
        for (kx = 0; kx < ${g.kW}; kx++) {
          int32_t ix = x0 + kx * ${g.dilationW};
          const ${T} *xp;
${depthwise ? '' : `          const ${T} *xq;\n`}          if (ix < 0 || ix >= ${g.inW}) continue;
          xp = x + ((b * ${g.inH} + iy) * ${g.inW} + ix) * ${g.inC};
${depthwise ? '' : `          xq = xp + ${xoff};\n          (void)xq;\n`}          ${inner}
        }
      }
${finish}
    }
  }
`.replace(/\n\n/g, '\n');
}

function emitConvF32(s: ConvF32Step, fn: string): CStepEmission {
  const depthwise = s.op === 'depthwise_f32';
  checkGeometry(s, depthwise);
  let code = `/* ${s.name}: ${depthwise ? 'depthwise ' : ''}conv ${s.kH}x${s.kW}, float */\n`;
  code += cConstArray('float', `${fn}_w`, s.weights, cFloat, 6);
  if (s.bias) code += cConstArray('float', `${fn}_b`, s.bias, cFloat, 6);
  const lo = Number.isFinite(s.actMin) ? `      if (acc < ${cFloat(s.actMin)}) acc = ${cFloat(s.actMin)};\n` : '';
  const hi = Number.isFinite(s.actMax) ? `      if (acc > ${cFloat(s.actMax)}) acc = ${cFloat(s.actMax)};\n` : '';
  const finish = `${s.bias ? `      acc = acc + ${fn}_b[c];\n` : ''}${lo}${hi}      y[((b * ${s.outH} + oy) * ${s.outW} + ox) * ${s.outC} + c] = acc;`;
  code += `static void ${fn}(const float *x, float *y) {
  const float *wk = ${fn}_w;
${loops(s, depthwise, 'float', 'float acc = 0.0f;', 'acc = acc + XV * WV;', finish).replace(/const int8_t \*wc/, 'const float *wc')}}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

/** Per-channel requantization table {bias(int32), multiplier, shift} or {bias lo, bias hi, multiplier, shift}. */
function channelTable(s: ConvIntStep, fn: string, bias: Int32Array | null, wide: boolean): string {
  const n = s.outC, k = wide ? 4 : 3;
  const t = new Int32Array(k * n);
  for (let c = 0; c < n; c++) {
    if (wide) { t[4 * c] = s.bias64 ? s.bias64[2 * c] : 0; t[4 * c + 1] = s.bias64 ? s.bias64[2 * c + 1] : 0; }
    else t[3 * c] = bias ? bias[c] : 0;
    t[k * c + k - 2] = s.multiplier[c]; t[k * c + k - 1] = s.shift[c];
  }
  return cConstArray('int32_t', `${fn}_q`, t, cInt32, 3 * k);
}

function emitConvIntPortable(s: ConvIntStep, fn: string): CStepEmission {
  const depthwise = s.op.startsWith('depthwise');
  const s16 = s.op.endsWith('s16');
  checkGeometry(s, depthwise);
  const T = s16 ? 'int16_t' : 'int8_t';
  if (s.in.dtype !== (s16 ? 'int16' : 'int8') || s.out.dtype !== s.in.dtype) fail(`${s.name}: ${s.op} expects ${s16 ? 'int16' : 'int8'} buffers`);
  const wide = s16 && !s.bias;
  let code = `/* ${s.name}: ${depthwise ? 'depthwise ' : ''}conv ${s.kH}x${s.kW} stride ${s.strideH}x${s.strideW}, ${s16 ? 'int16x8' : 'int8'} (portable) */\n`;
  code += cConstArray('int8_t', `${fn}_w`, s.weights, String, 32);
  code += channelTable(s, fn, s.bias, wide);
  const zp = s16 ? '' : ` - (${s.inZeroPoint})`;
  const tap = wide ? 'acc += (int64_t)(XV * WV);' : `acc += (uint32_t)((XV${zp}) * WV);`;
  const v = wide
    ? `      const int32_t *q = ${fn}_q + 4 * c;
      int32_t v = tf_mbqm64(acc + (int64_t)(((uint64_t)(uint32_t)q[1] << 32) | (uint32_t)q[0]), q[2], q[3]);`
    : `      const int32_t *q = ${fn}_q + 3 * c;
      int32_t v = tf_mbqm((int32_t)(acc + (uint32_t)q[0]), q[1], q[2]) + (${s.outZeroPoint});`;
  const finish = `${v}
      y[((b * ${s.outH} + oy) * ${s.outW} + ox) * ${s.outC} + c] = (${T})(v < ${cI(s.actMin)} ? ${cI(s.actMin)} : v > ${cI(s.actMax)} ? ${cI(s.actMax)} : v);`;
  code += `static void ${fn}(const ${T} *x, ${T} *y) {
  const int8_t *wk = ${fn}_w;
${loops(s, depthwise, T, wide ? 'int64_t acc = 0;' : 'uint32_t acc = 0;', tap, finish)}}\n`;
  return { helpers: { tfl_fixedpoint: FIXEDPOINT_HELPER }, includes: ['stdint.h'], code };
}

/** conv_s8 with one group as dense rows (see the header). */
function emitConvS8Dense(s: ConvIntStep, fn: string, kernel: DenseS8Kernel): CStepEmission {
  const K = s.kH * s.kW * s.inC;
  const bias = new Int32Array(s.outC);
  for (let o = 0; o < s.outC; o++) {
    let sum = 0;
    for (let i = 0; i < K; i++) sum += s.weights[o * K + i];
    bias[o] = ((s.bias ? s.bias[o] : 0) - s.inZeroPoint * sum) | 0;
  }
  const pointwise = s.kH === 1 && s.kW === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 && s.padW === 0 && s.outH === s.inH && s.outW === s.inW;
  const rows = pointwise ? s.batches * s.inH * s.inW : 1;
  const dense: DenseS8Step = {
    op: 'dense_s8', name: s.name, in: { space: 'arena', offset: 0, dtype: 'int8', length: rows * K }, out: { space: 'arena', offset: 0, dtype: 'int8', length: rows * s.outC },
    rows, inFeatures: K, outFeatures: s.outC, weights: s.weights, bias, multiplier: s.multiplier, shift: s.shift, outZeroPoint: s.outZeroPoint,
    actMin: s.actMin, actMax: s.actMax, lut: null,
  };
  if (pointwise) {
    const e = emitDenseS8C(dense, fn, kernel);
    return { ...e, code: `/* ${s.name}: conv 1x1 as dense over ${rows} pixels */\n${e.code}` };
  }
  const e = emitDenseS8C(dense, `${fn}_row`, kernel);
  // im2col per output pixel; taps outside the image hold the input zero point
  const code = `${e.code}/* ${s.name}: conv ${s.kH}x${s.kW} stride ${s.strideH}x${s.strideW} as im2col rows of ${K} */
static void ${fn}(const int8_t *x, int8_t *y) {
  int8_t col[${K + (K % 4 ? 4 - (K % 4) : 0)}];
  int32_t b, oy, ox, ky, kx;
  for (b = 0; b < ${s.batches}; b++) for (oy = 0; oy < ${s.outH}; oy++) for (ox = 0; ox < ${s.outW}; ox++) {
    int32_t y0 = oy * ${s.strideH} - ${s.padH}, x0 = ox * ${s.strideW} - ${s.padW};
    int8_t *p = col;
    for (ky = 0; ky < ${s.kH}; ky++) {
      int32_t iy = y0 + ky * ${s.dilationH};
      for (kx = 0; kx < ${s.kW}; kx++) {
        int32_t ix = x0 + kx * ${s.dilationW};
        if (iy < 0 || iy >= ${s.inH} || ix < 0 || ix >= ${s.inW}) memset(p, ${s.inZeroPoint}, ${s.inC});
        else memcpy(p, x + ((b * ${s.inH} + iy) * ${s.inW} + ix) * ${s.inC}, ${s.inC});
        p += ${s.inC};
      }
    }
    ${fn}_row(col, y);
    y += ${s.outC};
  }
}\n`;
  return { helpers: e.helpers, includes: [...e.includes, 'string.h'], code };
}

/** depthwise_s8: channel-outer, taps unrolled; interior pixels without zero-point subtraction. */
function emitDepthwiseS8(s: ConvIntStep, fn: string): CStepEmission {
  checkGeometry(s, true);
  const taps = s.kH * s.kW, C = s.outC, M = s.filterC;
  // weights per channel, taps contiguous: [c][tap]; folded bias for interior pixels
  const w = new Int8Array(C * taps);
  const q = new Int32Array(4 * C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let t = 0; t < taps; t++) { w[c * taps + t] = s.weights[t * C + c]; sum += s.weights[t * C + c]; }
    const b = s.bias ? s.bias[c] : 0;
    q[4 * c] = b; q[4 * c + 1] = (b - s.inZeroPoint * sum) | 0; q[4 * c + 2] = s.multiplier[c]; q[4 * c + 3] = s.shift[c];
  }
  const sat = s.multiplier.includes(-2147483648) ? 1 : 0, lsh = s.shift.some((v) => v > 0) ? 1 : 0;
  // REQUANT_FAST (compiler/ops/dense/c.ts) when every shift <= -1 and |bias + acc| < 2^30 for any input
  let fast = true;
  for (let c = 0; c < C && fast; c++) {
    let sw = 0;
    for (let t = 0; t < taps; t++) sw += Math.abs(s.weights[t * C + c]);
    fast = s.shift[c] <= -1 && Math.max(Math.abs(q[4 * c]) + 256 * sw, Math.abs(q[4 * c + 1]) + 128 * sw) < 2 ** 30;
  }
  if (fast) return emitDepthwiseS8Fast(s, fn, w, q, taps);
  const xc = M === 1 ? 'c' : `c / ${M}`;
  const offs: number[] = [];
  for (let ky = 0; ky < s.kH; ky++) for (let kx = 0; kx < s.kW; kx++) offs.push((ky * s.dilationH * s.inW + kx * s.dilationW) * s.inC);
  const unrolled = offs.map((o, t) => `acc += (uint32_t)(xp[${o}] * wc[${t}]);`).join(' ');
  // interior output ranges: every tap inside the image
  const lo = (pad: number, stride: number) => Math.ceil(pad / stride);
  const hi = (pad: number, stride: number, dil: number, k: number, inSize: number, outSize: number) => {
    let o = outSize;
    while (o > 0 && (o - 1) * stride - pad + (k - 1) * dil >= inSize) o--;
    return o;
  };
  const oy0 = lo(s.padH, s.strideH), oy1 = hi(s.padH, s.strideH, s.dilationH, s.kH, s.inH, s.outH);
  const ox0 = lo(s.padW, s.strideW), ox1 = hi(s.padW, s.strideW, s.dilationW, s.kW, s.inW, s.outW);
  let code = `/* ${s.name}: depthwise conv ${s.kH}x${s.kW} stride ${s.strideH}x${s.strideW}, ${C} channels, int8 */\n`;
  code += cConstArray('int8_t', `${fn}_w`, w, String, 32);
  code += `/* per channel: bias, bias - inZp * sum(w), multiplier, shift */\n` + cConstArray('int32_t', `${fn}_q`, q, cInt32, 8);
  code += `static void ${fn}(const int8_t *x, int8_t *y) {
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < ${s.batches}; b++) for (oy = 0; oy < ${s.outH}; oy++) for (ox = 0; ox < ${s.outW}; ox++) {
    int32_t y0 = oy * ${s.strideH} - ${s.padH}, x0 = ox * ${s.strideW} - ${s.padW};
    const int8_t *wc = ${fn}_w;
    const int32_t *q = ${fn}_q;
    if (oy >= ${oy0} && oy < ${oy1} && ox >= ${ox0} && ox < ${ox1}) {
      const int8_t *xb = x + ((b * ${s.inH} + y0) * ${s.inW} + x0) * ${s.inC};
      for (c = 0; c < ${C}; c++) {
        const int8_t *xp = xb + ${xc};
        uint32_t acc = 0;
        ${unrolled}
        *y++ = tf_out_s8(acc, q + 1, ${s.outZeroPoint}, ${s.actMin}, ${s.actMax}, (const int8_t *)0, ${sat}, ${lsh});
        wc += ${taps};
        q += 4;
      }
    } else {
      for (c = 0; c < ${C}; c++) {
        uint32_t acc = 0;
        for (ky = 0; ky < ${s.kH}; ky++) {
          int32_t iy = y0 + ky * ${s.dilationH};
          if (iy < 0 || iy >= ${s.inH}) continue;
          for (kx = 0; kx < ${s.kW}; kx++) {
            int32_t ix = x0 + kx * ${s.dilationW};
            if (ix < 0 || ix >= ${s.inW}) continue;
            acc += (uint32_t)((x[((b * ${s.inH} + iy) * ${s.inW} + ix) * ${s.inC} + ${xc}] - (${s.inZeroPoint})) * wc[ky * ${s.kW} + kx]);
          }
        }
        *y++ = tf_out_s8(acc + (uint32_t)q[0] - (uint32_t)q[1], q + 1, ${s.outZeroPoint}, ${s.actMin}, ${s.actMax}, (const int8_t *)0, ${sat}, ${lsh});
        wc += ${taps};
        q += 4;
      }
    }
  }
}\n`;
  return { helpers: requantHelper(), includes: ['stdint.h'], code };
}

export function emitConvC(s: ConvIntStep | ConvF32Step, fn: string, kernel: DenseS8Kernel): CStepEmission {
  if (s.op === 'conv_f32' || s.op === 'depthwise_f32') return emitConvF32(s as ConvF32Step, fn);
  return emitConvInt(s as ConvIntStep, fn, kernel);
}

function emitConvInt(s: ConvIntStep, fn: string, kernel: DenseS8Kernel): CStepEmission {
  if (s.op === 'conv_s8' && s.filterC === s.inC) {
    checkGeometry(s, false);
    if (s.in.dtype !== 'int8' || s.out.dtype !== 'int8') fail(`${s.name}: conv_s8 expects int8 buffers`);
    return emitConvS8Dense(s, fn, kernel);
  }
  if (s.op === 'depthwise_s8') {
    if (s.in.dtype !== 'int8' || s.out.dtype !== 'int8') fail(`${s.name}: depthwise_s8 expects int8 buffers`);
    return emitDepthwiseS8(s, fn);
  }
  return emitConvIntPortable(s, fn);
}

export { cType };

/** Interior and border pixels as emitDepthwiseS8, requantized with tf_requant_fast (exact under its preconditions). */
function emitDepthwiseS8Fast(s: ConvIntStep, fn: string, w: Int8Array, q: Int32Array, taps: number): CStepEmission {
  const C = s.outC, M = s.filterC;
  const t = new Int32Array(5 * C);
  for (let c = 0; c < C; c++) {
    const rs = -s.shift[c];
    t[5 * c] = (2 * q[4 * c + 1]) | 0; t[5 * c + 1] = s.multiplier[c]; t[5 * c + 2] = rs; t[5 * c + 3] = 2 ** (rs - 1); t[5 * c + 4] = (q[4 * c] - q[4 * c + 1]) | 0;
  }
  const xc = M === 1 ? 'c' : `c / ${M}`;
  const offs: number[] = [];
  for (let ky = 0; ky < s.kH; ky++) for (let kx = 0; kx < s.kW; kx++) offs.push((ky * s.dilationH * s.inW + kx * s.dilationW) * s.inC);
  const unrolled = offs.map((o, k) => `acc += (uint32_t)(xp[${o}] * wc[${k}]);`).join(' ');
  const lo = (pad: number, stride: number) => Math.ceil(pad / stride);
  const hi = (pad: number, stride: number, dil: number, k: number, inSize: number, outSize: number) => {
    let o = outSize;
    while (o > 0 && (o - 1) * stride - pad + (k - 1) * dil >= inSize) o--;
    return o;
  };
  const oy0 = lo(s.padH, s.strideH), oy1 = hi(s.padH, s.strideH, s.dilationH, s.kH, s.inH, s.outH);
  const ox0 = lo(s.padW, s.strideW), ox1 = hi(s.padW, s.strideW, s.dilationW, s.kW, s.inW, s.outW);
  const clamp = s.actMin === -128 && s.actMax === 127 ? 'v = TF_SSAT8(v);' : `v = v < ${s.actMin} ? ${s.actMin} : v > ${s.actMax} ? ${s.actMax} : v;`;
  let code = `/* ${s.name}: depthwise conv ${s.kH}x${s.kW} stride ${s.strideH}x${s.strideW}, ${C} channels, int8 (fast requantization) */\n`;
  code += cConstArray('int8_t', `${fn}_w`, w, String, 32);
  code += `/* per channel: 2 * (bias - inZp * sum(w)), multiplier, right shift, rounding, inZp * sum(w) */\n` + cConstArray('int32_t', `${fn}_q`, t, cInt32, 10);
  code += `static void ${fn}(const int8_t *x, int8_t *y) {
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < ${s.batches}; b++) for (oy = 0; oy < ${s.outH}; oy++) for (ox = 0; ox < ${s.outW}; ox++) {
    int32_t y0 = oy * ${s.strideH} - ${s.padH}, x0 = ox * ${s.strideW} - ${s.padW};
    const int8_t *wc = ${fn}_w;
    const int32_t *q = ${fn}_q;
    if (oy >= ${oy0} && oy < ${oy1} && ox >= ${ox0} && ox < ${ox1}) {
      const int8_t *xb = x + ((b * ${s.inH} + y0) * ${s.inW} + x0) * ${s.inC};
      for (c = 0; c < ${C}; c++) {
        const int8_t *xp = xb + ${xc};
        uint32_t acc = 0;
        int32_t v;
        ${unrolled}
        v = tf_requant_fast(acc, q) + (${s.outZeroPoint});
        ${clamp}
        *y++ = (int8_t)v;
        wc += ${taps};
        q += 5;
      }
    } else {
      for (c = 0; c < ${C}; c++) {
        uint32_t acc = 0;
        int32_t v;
        for (ky = 0; ky < ${s.kH}; ky++) {
          int32_t iy = y0 + ky * ${s.dilationH};
          if (iy < 0 || iy >= ${s.inH}) continue;
          for (kx = 0; kx < ${s.kW}; kx++) {
            int32_t ix = x0 + kx * ${s.dilationW};
            if (ix < 0 || ix >= ${s.inW}) continue;
            acc += (uint32_t)((x[((b * ${s.inH} + iy) * ${s.inW} + ix) * ${s.inC} + ${xc}] - (${s.inZeroPoint})) * wc[ky * ${s.kW} + kx]);
          }
        }
        v = tf_requant_fast(acc + (uint32_t)q[4], q) + (${s.outZeroPoint});
        ${clamp}
        *y++ = (int8_t)v;
        wc += ${taps};
        q += 5;
      }
    }
  }
}\n`;
  return { helpers: { ...requantHelper(), ...requantFastHelpers() }, includes: ['stdint.h', 'string.h'], code };
}
