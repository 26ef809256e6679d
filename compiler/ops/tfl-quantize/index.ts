/**
 * TFLite QUANTIZE and DEQUANTIZE, and the int16 / int32 boundary steps of TFLite programs.
 *  - quantize_int (float32 -> int8/int16/int32, TFLM AffineQuantize): v = round_half_away(f32(x / scale)) + zp, clamp to the dtype
 *  - dequantize_int (int -> float32, TFLM Dequantize): y = f32(scale * (q - zp)) with scale as a double (the file's float32 scale)
 *  - requantize (int -> int, TFLM Requantize): v = mbqm(q - inZp, multiplier, shift) + outZp, clamp to the output dtype;
 *    multiplier from inScale / outScale in double
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../../quant/fixedpoint.js';
import { INT_RANGE, registerExtStep, registerTflGraphOp, registerTfliteOp, roundHalfAway, tensorQuant, viewF32, viewInt, type ExtStepBase, type QLowerCtx, type TflNode } from '../tflite.js';
import type { DequantizeStep, QuantizeStep } from '../../plan/program.js';

export interface QuantizeIntStep extends ExtStepBase { op: 'quantize_int' | 'dequantize_int'; scale: number; zeroPoint: number }
export interface RequantizeStep extends ExtStepBase { op: 'requantize'; inZeroPoint: number; outZeroPoint: number; multiplier: number; shift: number }

export function executeQuantizeInt(s: QuantizeIntStep, mem: ProgramMemory): void {
  const f = Math.fround;
  if (s.op === 'quantize_int') {
    const x = viewF32(mem, s.in), q = viewInt(mem, s.out);
    const [lo, hi] = INT_RANGE[s.out.dtype];
    const scale = f(s.scale);
    for (let i = 0; i < q.length; i++) {
      const t = f(x[i] / scale);
      const v = (Number.isFinite(t) ? roundHalfAway(t) : t > 0 ? hi : t < 0 ? lo : 0) + s.zeroPoint;
      q[i] = v < lo ? lo : v > hi ? hi : v;
    }
  } else {
    const q = viewInt(mem, s.in), y = viewF32(mem, s.out);
    const scale = f(s.scale);
    for (let i = 0; i < y.length; i++) y[i] = f(scale * (q[i] - s.zeroPoint));
  }
}

export function executeRequantize(s: RequantizeStep, mem: ProgramMemory): void {
  const x = viewInt(mem, s.in), y = viewInt(mem, s.out);
  const [lo, hi] = INT_RANGE[s.out.dtype];
  for (let i = 0; i < y.length; i++) {
    const v = mbqm((x[i] - s.inZeroPoint) | 0, s.multiplier, s.shift) + s.outZeroPoint;
    y[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

function lowerQuantize(node: TflNode, ctx: QLowerCtx) {
  const where = node.attrs.where;
  const inInfo = node.attrs.inputInfo[0]!, outInfo = node.attrs.outputInfo[0];
  const input = ctx.read(node.inputs[0]), out = ctx.write(node.outputs[0]);
  const qo = tensorQuant(outInfo, where, 'the output');
  if (!INT_RANGE[outInfo.dtype] || outInfo.dtype === 'uint8') fail(`${where}: quantizing to ${outInfo.dtype} is not supported`);
  if (inInfo.dtype === 'float32') {
    return [{ op: 'quantize_int', name: node.name, in: input, out, scale: qo.scale, zeroPoint: qo.zeroPoint } as QuantizeIntStep];
  }
  if (!INT_RANGE[inInfo.dtype] || inInfo.dtype === 'uint8') fail(`${where}: requantizing ${inInfo.dtype} is not supported`);
  const qi = tensorQuant(inInfo, where, 'the input');
  const m = quantizeMultiplier(qi.scale / qo.scale);
  return [{ op: 'requantize', name: node.name, in: input, out, inZeroPoint: qi.zeroPoint, outZeroPoint: qo.zeroPoint, multiplier: m.multiplier, shift: m.shift } as RequantizeStep];
}

function lowerDequantize(node: TflNode, ctx: QLowerCtx) {
  const where = node.attrs.where;
  const inInfo = node.attrs.inputInfo[0]!, outInfo = node.attrs.outputInfo[0];
  if (outInfo.dtype !== 'float32') fail(`${where}: dequantizing to ${outInfo.dtype} is not supported`);
  if (!INT_RANGE[inInfo.dtype] || inInfo.dtype === 'uint8') fail(`${where}: dequantizing ${inInfo.dtype} is not supported`);
  const qi = tensorQuant(inInfo, where, 'the input');
  return [{ op: 'dequantize_int', name: node.name, in: ctx.read(node.inputs[0]), out: ctx.write(node.outputs[0]), scale: qi.scale, zeroPoint: qi.zeroPoint } as QuantizeIntStep];
}

registerTfliteOp({ code: 114, tflName: 'QUANTIZE', graphOp: 'tfl.quantize' });
registerTfliteOp({ code: 6, tflName: 'DEQUANTIZE', graphOp: 'tfl.dequantize' });
// float semantics: quantization is the identity on real values
registerTflGraphOp('tfl.quantize', { reference: ([x]) => [x.slice()], lower: lowerQuantize, parameters: () => 0 });
registerTflGraphOp('tfl.dequantize', { reference: ([x]) => [x.slice()], lower: lowerDequantize, parameters: () => 0 });
registerExtStep<QuantizeIntStep>('quantize_int', executeQuantizeInt);
registerExtStep<QuantizeIntStep>('dequantize_int', executeQuantizeInt);
registerExtStep<RequantizeStep>('requantize', executeRequantize);
export type { QuantizeStep, DequantizeStep };
