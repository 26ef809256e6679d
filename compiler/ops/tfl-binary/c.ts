/** ADD / SUB / MUL with broadcasting and const_fill: C emission, bit-exact with index.ts. */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { FIXEDPOINT_HELPER, INT_LIMITS, cI, cType } from '../../backends/c/tflite-helpers.js';
import type { BinaryF32Step2, BinaryIntStep, ConstFillStep } from './index.js';

export function emitBinaryC(s: BinaryIntStep | BinaryF32Step2, fn: string): CStepEmission {
  const b = s.aux?.[0] ?? fail(`${s.name}: ${s.op} needs its second operand`);
  const total = s.outShape.reduce((p, d) => p * d, 1);
  if (s.out.length !== total) fail(`${s.name}: output does not hold [${s.outShape}]`);
  const rank = Math.max(1, s.outShape.length);
  const shape = s.outShape.length ? s.outShape : [1], as = s.outShape.length ? s.aStrides : [0], bs = s.outShape.length ? s.bStrides : [0];
  const Ta = cType(s.in.dtype), Tb = cType(b.dtype), T = cType(s.out.dtype);
  let expr: string;
  const helpers: Record<string, string> = {};
  if (s.op === 'binary_f32') {
    const op = s.kind === 'add' ? '+' : s.kind === 'sub' ? '-' : '*';
    const lo = Number.isFinite(s.actMin) ? `    if (v < ${cFloat(s.actMin)}) v = ${cFloat(s.actMin)};\n` : '';
    const hi = Number.isFinite(s.actMax) ? `    if (v > ${cFloat(s.actMax)}) v = ${cFloat(s.actMax)};\n` : '';
    expr = `    float v = a[ai] ${op} bb[bi];\n${lo}${hi}    y[o] = v;\n`;
  } else {
    if (!INT_LIMITS[s.out.dtype]) fail(`${s.name}: ${s.op} writes integers`);
    helpers.tfl_fixedpoint = FIXEDPOINT_HELPER;
    const clamp = `    y[o] = (${T})(v < ${cI(s.actMin)} ? ${cI(s.actMin)} : v > ${cI(s.actMax)} ? ${cI(s.actMax)} : v);\n`;
    if (s.kind === 'mul') {
      expr = `    int32_t v = tf_mbqm((int32_t)((uint32_t)(a[ai] - (${s.aZeroPoint})) * (uint32_t)(bb[bi] - (${s.bZeroPoint}))), ${cI(s.outMultiplier)}, ${s.outShift}) + (${s.outZeroPoint});\n${clamp}`;
    } else {
      expr = `    int32_t x1 = tf_mbqm((int32_t)((uint32_t)(a[ai] - (${s.aZeroPoint})) << ${s.leftShift}), ${cI(s.aMultiplier)}, ${s.aShift});
    int32_t x2 = tf_mbqm((int32_t)((uint32_t)(bb[bi] - (${s.bZeroPoint})) << ${s.leftShift}), ${cI(s.bMultiplier)}, ${s.bShift});
    int32_t v = tf_mbqm((int32_t)((uint32_t)x1 ${s.kind === 'add' ? '+' : '-'} (uint32_t)x2), ${cI(s.outMultiplier)}, ${s.outShift}) + (${s.outZeroPoint});\n${clamp}`;
    }
  }
  let code = `/* ${s.name}: ${s.kind} [${s.outShape}], ${s.out.dtype} */\n`;
  code += cConstArray('int32_t', `${fn}_dims`, Int32Array.from([...shape, ...as, ...bs]), cInt32, 12);
  code += `static void ${fn}(const ${Ta} *a, ${T} *y, const ${Tb} *bb) {
  const int32_t *shape = ${fn}_dims, *as = ${fn}_dims + ${rank}, *bs = ${fn}_dims + ${2 * rank};
  int32_t coord[${rank}] = { 0 };
  int32_t o, d, ai = 0, bi = 0;
  for (o = 0; o < ${total}; o++) {
${expr}    for (d = ${rank - 1}; d >= 0; d--) {
      coord[d]++;
      ai += as[d];
      bi += bs[d];
      if (coord[d] < shape[d]) break;
      ai -= as[d] * coord[d];
      bi -= bs[d] * coord[d];
      coord[d] = 0;
    }
  }
}\n`;
  return { helpers, includes: ['stdint.h'], code };
}

export function emitConstFillC(s: ConstFillStep, fn: string): CStepEmission {
  const T = cType(s.out.dtype);
  const v = s.values;
  if (v.length !== s.out.length) fail(`${s.name}: const_fill has ${v.length} values for ${s.out.length} elements`);
  const fmt = s.out.dtype === 'float32' ? cFloat : cI;
  const uniform = v.length > 0 && Array.prototype.every.call(v, (x: number) => Object.is(x, v[0]));
  let code = `/* ${s.name}: constant ${s.out.dtype} x ${v.length} */\n`;
  if (uniform && s.out.dtype === 'int8' && s.out.offset % 4 === 0) {
    // word stores (arena buffers are 16-byte aligned)
    const word = (((v[0] & 0xff) * 0x01010101) >>> 0).toString(16);
    code += `static void ${fn}(const int8_t *x, int8_t *y) {
  uint32_t *w = (uint32_t *)(void *)y;
  int32_t i;
  (void)x;
  for (i = 0; i < ${v.length >> 2}; i++) w[i] = 0x${word}u;
  for (i = ${v.length & ~3}; i < ${v.length}; i++) y[i] = ${fmt(v[0])};
}\n`;
    return { helpers: {}, includes: ['stdint.h'], code };
  }
  if (uniform) {
    code += `static void ${fn}(const ${T} *x, ${T} *y) {
  int32_t i;
  (void)x;
  for (i = 0; i < ${v.length}; i++) y[i] = ${fmt(v[0])};
}\n`;
    return { helpers: {}, includes: ['stdint.h'], code };
  }
  code += cConstArray(T, `${fn}_v`, v, fmt, 12);
  code += `static void ${fn}(const ${T} *x, ${T} *y) {
  (void)x;
  memcpy(y, ${fn}_v, sizeof(${fn}_v));
}\n`;
  return { helpers: {}, includes: ['stdint.h', 'string.h', ...(s.out.dtype === 'float32' ? ['math.h'] : [])], code };
}
