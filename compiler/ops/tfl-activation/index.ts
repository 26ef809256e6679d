/**
 * TFLite LOGISTIC and TANH.
 *  - logistic_s8 / tanh_s8 (TFLM reference_integer_ops, gemmlowp fixed point): d = x - inZp;
 *    |d| >= radius saturates (logistic: -128 / 127, tanh: -128 / 127); else q4 = mbqm(d, multiplier, shift)
 *    as Q4.27, r = gemmlowp logistic / tanh (Q0.31), out = RDBP(r, 23) - 128 (logistic) or RDBP(r, 24) (tanh),
 *    clamped. multiplier/shift: frexp(inScale * 2^27) (TFLM Prepare), radius = floor(15 * 2^27 / 2^shift).
 *    Output quantization must be TFLite's fixed one (logistic 1/256, -128; tanh 1/128, 0).
 *  - *_f32: float32.
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import { multiplyByQuantizedMultiplier as mbqm, roundingDivideByPOT as rdbp } from '../../quant/fixedpoint.js';
import { expOnNegativeValues, oneMinusXOverOnePlusX, oneOverOnePlusX } from '../tfl-softmax/index.js';
import { registerExtStep, registerTflGraphOp, registerTfliteOp, roundHalfAway, tensorQuant, viewF32, viewI8, type ExtStepBase, type QLowerCtx, type TflNode } from '../tflite.js';

type Fn = 'logistic' | 'tanh';
export interface ActivationS8Step extends ExtStepBase { op: 'logistic_s8' | 'tanh_s8'; inZeroPoint: number; multiplier: number; shift: number; radius: number }
export interface ActivationF32Step extends ExtStepBase { op: 'logistic_f32' | 'tanh_f32' }

const I32_MAX = 2147483647;

/** gemmlowp logistic on Q4.27 -> Q0.31. */
export function fixedLogistic(a: number): number {
  if (a === 0) return 1 << 30;
  const abs = a > 0 ? a : -a | 0;
  const pos = oneOverOnePlusX(expOnNegativeValues(-abs | 0, 4));
  return a > 0 ? pos : (I32_MAX - pos) | 0;
}

/** gemmlowp tanh on Q4.27 -> Q0.31. */
export function fixedTanh(a: number): number {
  if (a === 0) return 0;
  const n = a < 0 ? a : -a | 0;
  const t = oneMinusXOverOnePlusX(expOnNegativeValues((n * 2) | 0, 4));
  return a < 0 ? -t | 0 : t;
}

export function executeActivationS8(s: ActivationS8Step, mem: ProgramMemory): void {
  const x = viewI8(mem, s.in), y = viewI8(mem, s.out);
  const logistic = s.op === 'logistic_s8';
  for (let i = 0; i < y.length; i++) {
    const d = x[i] - s.inZeroPoint;
    if (d <= -s.radius) { y[i] = -128; continue; }
    if (d >= s.radius) { y[i] = 127; continue; }
    const q4 = mbqm(d, s.multiplier, s.shift);
    const v = logistic ? rdbp(fixedLogistic(q4), 23) - 128 : rdbp(fixedTanh(q4), 24);
    y[i] = v < -128 ? -128 : v > 127 ? 127 : v;
  }
}

const apply = (fn: Fn, x: Float32Array, y: Float32Array) => { for (let i = 0; i < y.length; i++) y[i] = fn === 'logistic' ? 1 / (1 + Math.exp(-x[i])) : Math.tanh(x[i]); };

function lower(fn: Fn) {
  return (node: TflNode, ctx: QLowerCtx) => {
    const a = node.attrs, where = a.where;
    const inInfo = a.inputInfo[0] ?? fail(`${where}: the input must be a graph value`), outInfo = a.outputInfo[0];
    const input = ctx.read(node.inputs[0]), out = ctx.write(node.outputs[0]);
    if (outInfo.dtype === 'float32') return [{ op: `${fn}_f32`, name: node.name, in: input, out } as ActivationF32Step];
    if (inInfo.dtype !== 'int8' || outInfo.dtype !== 'int8') fail(`${where}: ${fn} ${inInfo.dtype} -> ${outInfo.dtype} is not supported (int8 and float32 are)`);
    const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
    const want = fn === 'logistic' ? [1 / 256, -128] : [1 / 128, 0];
    if (Math.fround(qo.scale) !== Math.fround(want[0]) || qo.zeroPoint !== want[1]) fail(`${where}: int8 ${fn} needs output scale ${want[0]} and zero point ${want[1]}`);
    const real = qi.scale * 2 ** 27;
    // frexp: real = q * 2^shift with q in [0.5, 1)
    let shift = Math.floor(Math.log2(real)) + 1;
    let q = real / 2 ** shift;
    if (q >= 1) { q /= 2; shift++; }
    if (q < 0.5) { q *= 2; shift--; }
    const multiplier = roundHalfAway(q * 2 ** 31);
    if (multiplier > I32_MAX) fail(`${where}: input scale ${qi.scale} gives a multiplier out of range`);
    const radius = Math.floor((15 * 2 ** 27) / 2 ** shift);
    return [{ op: `${fn}_s8`, name: node.name, in: input, out, inZeroPoint: qi.zeroPoint, multiplier, shift, radius } as ActivationS8Step];
  };
}

for (const [code, fn, name] of [[14, 'logistic', 'LOGISTIC'], [28, 'tanh', 'TANH']] as const) {
  registerTfliteOp({ code, tflName: name, graphOp: `tfl.${fn}` });
  registerTflGraphOp(`tfl.${fn}`, { reference: ([x]) => { const y = new Float32Array(x.length); apply(fn, x, y); return [y]; }, lower: lower(fn), parameters: () => 0 });
  registerExtStep<ActivationS8Step>(`${fn}_s8`, executeActivationS8);
  registerExtStep<ActivationF32Step>(`${fn}_f32`, (s, mem) => apply(fn, viewF32(mem, s.in), viewF32(mem, s.out)));
}
