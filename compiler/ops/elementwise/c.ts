/**
 * Elementwise add / mul: C emission. The second operand (aux[0]) is broadcast by `i % period`.
 * add_s8 / mul_s8 are bit-identical with executeAddS8 / executeMulS8 (TFLite ADD / MUL arithmetic via
 * tf_requant, the dense requantization helper); the float steps are plain float32 loops.
 */
import { fail } from '../../errors.js';
import type { AddS8Step, BinaryF32Step, MulS8Step } from '../../plan/program.js';
import { cInt32, type CStepEmission } from '../../backends/c/cformat.js';
import { requantHelper } from '../dense/c.js';
import { ADD_LEFT_SHIFT } from './index.js';

function checkBinary(s: { name: string; length: number; period: number; in: { length: number }; out: { length: number }; aux?: { length: number }[] }): void {
  if (!s.aux || s.aux.length !== 1) fail(`${s.name}: a binary step needs one aux operand`);
  if (s.period < 1 || s.length % s.period !== 0 || s.aux[0].length !== s.period || s.in.length !== s.length || s.out.length !== s.length) {
    fail(`${s.name}: operand lengths ${s.length} / ${s.period} do not broadcast`);
  }
}

/** `tf_requant(x, m, shift, sat, lsh)` with the per-constant flags that let the compiler drop dead cases. */
function rq(x: string, m: number, shift: number): string {
  return `tf_requant(${x}, ${cInt32(m)}, ${shift}, ${m === -2147483648 ? 1 : 0}, ${shift > 0 ? 1 : 0})`;
}

/** Loop over i with the broadcast index j = i % period kept incrementally (no division). */
function broadcastLoop(length: number, period: number, body: string): string {
  if (period === length) return `  for (i = 0; i < ${length}; i++) {\n    const int32_t j = i;\n${body}  }\n`;
  return `  for (i = 0, j = 0; i < ${length}; i++) {\n${body}    if (++j == ${period}) j = 0;\n  }\n`;
}

/** `static void <fn>(const float *a, float *y, const float *b)`. */
export function emitBinaryF32C(s: BinaryF32Step, fn: string): CStepEmission {
  checkBinary(s);
  const sym = s.op === 'add_f32' ? '+' : '*';
  const decl = s.period === s.length ? '  int32_t i;\n' : '  int32_t i, j;\n';
  const code = `/* ${s.name}: ${s.op}, ${s.length} elements, period ${s.period} */
static void ${fn}(const float *a, float *y, const float *b) {
${decl}${broadcastLoop(s.length, s.period, `    y[i] = a[i] ${sym} b[j];\n`)}}\n`;
  return { helpers: {}, includes: ['stdint.h'], code };
}

/** `static void <fn>(const int8_t *a, int8_t *y, const int8_t *b)`. */
export function emitMulS8C(s: MulS8Step, fn: string): CStepEmission {
  checkBinary(s);
  const decl = s.period === s.length ? '  int32_t i;\n' : '  int32_t i, j;\n';
  const code = `/* ${s.name}: mul int8, ${s.length} elements, period ${s.period} */
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
${decl}${broadcastLoop(s.length, s.period, `    int32_t v = ${rq(`(a[i] - (${s.aZeroPoint})) * (b[j] - (${s.bZeroPoint}))`, s.multiplier, s.shift)} + (${s.outZeroPoint});
    y[i] = (int8_t)TF_SSAT8(v);
`)}}\n`;
  return { helpers: requantHelper(), includes: ['stdint.h'], code };
}

/** `static void <fn>(const int8_t *a, int8_t *y, const int8_t *b)`. */
export function emitAddS8C(s: AddS8Step, fn: string): CStepEmission {
  checkBinary(s);
  const decl = s.period === s.length ? '  int32_t i;\n' : '  int32_t i, j;\n';
  const code = `/* ${s.name}: add int8, ${s.length} elements, period ${s.period} */
static void ${fn}(const int8_t *a, int8_t *y, const int8_t *b) {
${decl}${broadcastLoop(s.length, s.period, `    int32_t x1 = ${rq(`(int32_t)((uint32_t)(a[i] - (${s.aZeroPoint})) << ${ADD_LEFT_SHIFT})`, s.aMultiplier, s.aShift)};
    int32_t x2 = ${rq(`(int32_t)((uint32_t)(b[j] - (${s.bZeroPoint})) << ${ADD_LEFT_SHIFT})`, s.bMultiplier, s.bShift)};
    int32_t v = ${rq('(int32_t)((uint32_t)x1 + (uint32_t)x2)', s.outMultiplier, s.outShift)} + (${s.outZeroPoint});
    y[i] = (int8_t)TF_SSAT8(v);
`)}}\n`;
  return { helpers: requantHelper(), includes: ['stdint.h'], code };
}
