/**
 * TFLite SOFTMAX over the last dimension.
 *  - softmax_tfl_s8 (int8 -> int8, TFLM reference Softmax, gemmlowp fixed point): per row,
 *    diff = x - max; rows with diff < diffMin give the output minimum; otherwise
 *    d = SRDHM(diff << leftShift, multiplier) as Q5.26, e = exp_on_negative_values(d) (Q0.31),
 *    sum (Q12.19) += RoundingDivideByPOT(e, 12); recip = GetReciprocal(sum) (one_over_one_plus_x
 *    Newton-Raphson, 3 iterations); out = RDBP(SRDHM(recip, e), bitsOverUnit + 31 - 8) - 128, clamped.
 *    multiplier/leftShift: QuantizeMultiplier(min(beta * inScale * 2^26, 2^31 - 1)) (double),
 *    diffMin = -floor(31 * 2^26 / 2^leftShift).
 *  - float32: the existing softmax_f32 step (max-subtracted).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import type { SoftmaxF32Step } from '../../plan/program.js';
import { quantizeMultiplier, roundingDivideByPOT as rdbp, saturatingRoundingDoublingHighMul as srdhm } from '../../quant/fixedpoint.js';
import { INT_RANGE, registerExtStep, registerTflGraphOp, registerTfliteOp, tensorQuant, viewInt, type ExtStepBase, type QLowerCtx, type TflNode } from '../tflite.js';

export interface SoftmaxOptions { beta: number }

export interface SoftmaxTflS8Step extends ExtStepBase {
  op: 'softmax_tfl_s8';
  rows: number;
  depth: number;
  multiplier: number;
  leftShift: number;
  diffMin: number;
}

const I32_MAX = 2147483647, I32_MIN = -2147483648;

/** gemmlowp SaturatingRoundingMultiplyByPOT for int32. */
export function satMulPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return rdbp(x, -exponent);
  const threshold = (1 << (31 - exponent)) - 1;
  if (x > threshold) return I32_MAX;
  if (x < -threshold) return I32_MIN;
  return x * 2 ** exponent;
}

/** gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31 in and out). */
function expQuarter(a: number): number {
  const constantTerm = 1895147668, oneThird = 715827883;
  const x = (a + (1 << 28)) | 0;
  const x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  const x4over4 = satMulPOT(x4, -2);
  const poly = satMulPOT((srdhm((x4over4 + x3) | 0, oneThird) + x2) | 0, -1);
  return (constantTerm + srdhm(constantTerm, (x + poly) | 0)) | 0;
}

/** gemmlowp exp_on_negative_values for a Q(integerBits).(31-integerBits) input; Q0.31 result. */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const frac = 31 - integerBits;
  const quarter = 1 << (frac - 2);
  const aModQuarterMinusQuarter = ((a & (quarter - 1)) - quarter) | 0;
  let result = expQuarter(satMulPOT(aModQuarterMinusQuarter, integerBits));
  const remainder = (aModQuarterMinusQuarter - a) | 0;
  const barrel: Array<[number, number]> = [[-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308], [2, 39332535], [3, 720401], [4, 242]];
  for (const [e, mult] of barrel) {
    if (integerBits > e && remainder & (1 << (frac + e))) result = srdhm(result, mult);
  }
  if (integerBits > 5 && a < -(1 << (36 - integerBits))) result = 0;
  if (a === 0) result = I32_MAX;
  return result;
}

/** gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in, Q0.31 out). */
export function oneOverOnePlusX(a: number): number {
  const halfDen = Number((BigInt(a) + BigInt(I32_MAX) + (BigInt(a) + BigInt(I32_MAX) >= 0n ? 1n : -1n)) / 2n);
  let x = (1515870810 + srdhm(halfDen, -1010580540)) | 0; // Q2.29
  const oneQ2 = 1 << 29;
  for (let i = 0; i < 3; i++) {
    const hdx = srdhm(halfDen, x); // Q2.29
    const oneMinus = (oneQ2 - hdx) | 0;
    x = (x + satMulPOT(srdhm(x, oneMinus), 2)) | 0; // Q4.27 rescaled to Q2.29
  }
  // Rescale<0>(ExactMulByPot<-1>(x)): Q2.29 -> Q0.31
  return satMulPOT(x >> 1, 2);
}

/** gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1 (Q0.31 in, Q0.31 out). */
export function oneMinusXOverOnePlusX(a: number): number {
  const halfDen = Number((BigInt(a) + BigInt(I32_MAX) + (BigInt(a) + BigInt(I32_MAX) >= 0n ? 1n : -1n)) / 2n);
  let x = (1515870810 + srdhm(halfDen, -1010580540)) | 0;
  const oneQ2 = 1 << 29;
  for (let i = 0; i < 3; i++) {
    const oneMinus = (oneQ2 - srdhm(halfDen, x)) | 0;
    x = (x + satMulPOT(srdhm(x, oneMinus), 2)) | 0;
  }
  return satMulPOT((x - oneQ2) | 0, 2);
}

function clz32(x: number): number { return Math.clz32(x >>> 0); }

export function executeSoftmaxTflS8(s: SoftmaxTflS8Step, mem: ProgramMemory): void {
  const x = viewInt(mem, s.in), y = viewInt(mem, s.out);
  const [outMin, outMax] = INT_RANGE[s.out.dtype];
  const outBits = s.out.dtype === 'int16' ? 16 : 8;
  for (let r = 0; r < s.rows; r++) {
    const o = r * s.depth;
    let max = -Infinity;
    for (let c = 0; c < s.depth; c++) max = Math.max(max, x[o + c]);
    const exps = new Array<number>(s.depth);
    let sum = 0;
    for (let c = 0; c < s.depth; c++) {
      const diff = x[o + c] - max;
      if (diff >= s.diffMin) {
        const rescaled = srdhm(Math.imul(diff, 1 << s.leftShift), s.multiplier);
        exps[c] = expOnNegativeValues(rescaled, 5);
        sum = (sum + rdbp(exps[c], 12)) | 0;
      } else exps[c] = -1;
    }
    const headroomPlusOne = clz32(sum);
    const bitsOverUnit = 12 - headroomPlusOne;
    const shiftedSumMinusOne = (((sum >>> 0) * 2 ** headroomPlusOne) % 2 ** 32 - 2 ** 31) | 0;
    const recip = oneOverOnePlusX(shiftedSumMinusOne);
    for (let c = 0; c < s.depth; c++) {
      if (exps[c] < 0) { y[o + c] = outMin; continue; }
      const unsat = rdbp(srdhm(recip, exps[c]), bitsOverUnit + 31 - outBits);
      const v = unsat + outMin;
      y[o + c] = v < outMin ? outMin : v > outMax ? outMax : v;
    }
  }
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<SoftmaxOptions>, a = n.attrs, where = a.where;
  const inInfo = a.inputInfo[0] ?? fail(`${where}: the input must be a graph value`), outInfo = a.outputInfo[0];
  const depth = inInfo.shape[inInfo.shape.length - 1] ?? 1;
  const rows = inInfo.shape.reduce((p, d) => p * d, 1) / Math.max(1, depth);
  const input = ctx.read(n.inputs[0]), out = ctx.write(n.outputs[0]);
  if (outInfo.dtype === 'float32') {
    if (a.options.beta !== 1) fail(`${where}: float softmax with beta ${a.options.beta} is not supported`);
    const step: SoftmaxF32Step = { op: 'softmax_f32', name: n.name, in: input as SoftmaxF32Step['in'], out: out as SoftmaxF32Step['out'], rows, features: depth };
    return [step];
  }
  if (inInfo.dtype !== 'int8' || (outInfo.dtype !== 'int8' && outInfo.dtype !== 'int16')) fail(`${where}: softmax ${inInfo.dtype} -> ${outInfo.dtype} is not supported (int8 -> int8/int16 and float32 are)`);
  const qi = tensorQuant(inInfo, where, 'the input');
  const real = Math.min(a.options.beta * qi.scale * 2 ** 26, 2 ** 31 - 1);
  const m = quantizeMultiplier(real);
  if (m.shift < 0) fail(`${where}: input scale ${qi.scale} is too small for the integer softmax`);
  const diffMin = -Math.floor((31 * 2 ** 26) / 2 ** m.shift);
  const step: SoftmaxTflS8Step = { op: 'softmax_tfl_s8', name: n.name, in: input, out, rows, depth, multiplier: m.multiplier, leftShift: m.shift, diffMin };
  return [step];
}

registerTfliteOp({ code: 25, tflName: 'SOFTMAX', graphOp: 'tfl.softmax', options: (t: Table | null) => ({ beta: t ? t.f32(0, 'beta', 0) : 1 }) });
registerTflGraphOp<SoftmaxOptions>('tfl.softmax', {
  reference: ([x], [s], a) => {
    const depth = s[s.length - 1], y = new Float32Array(x.length);
    for (let o = 0; o < x.length; o += depth) {
      let m = -Infinity, sum = 0;
      for (let c = 0; c < depth; c++) m = Math.max(m, x[o + c]);
      for (let c = 0; c < depth; c++) sum += Math.exp(a.options.beta * (x[o + c] - m));
      for (let c = 0; c < depth; c++) y[o + c] = Math.exp(a.options.beta * (x[o + c] - m)) / sum;
    }
    return [y];
  },
  lower, parameters: () => 0,
});
registerExtStep<SoftmaxTflS8Step>('softmax_tfl_s8', executeSoftmaxTflS8);
