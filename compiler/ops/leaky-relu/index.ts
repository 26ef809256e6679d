/**
 * TFLite LEAKY_RELU. Integer (int8 / int16, TFLM QuantizeLeakyRelu):
 *   d = x - inZp; v = outZp + (d >= 0 ? mbqm(d, idMul, idShift) : mbqm(d, alphaMul, alphaShift)); clamp to the dtype
 * with idMul from f32(inScale / outScale) and alphaMul from f32(f32(inScale * alpha) / outScale) (float arithmetic, as TFLM).
 */
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../../quant/fixedpoint.js';
import { fail } from '../../errors.js';
import { INT_RANGE, registerExtStep, registerTflGraphOp, registerTfliteOp, tensorQuant, viewF32, viewInt, type ExtStepBase, type QLowerCtx, type TflNode } from '../tflite.js';

export interface LeakyReluOptions { alpha: number }

export interface LeakyReluIntStep extends ExtStepBase {
  op: 'leaky_relu_s8' | 'leaky_relu_s16';
  inZeroPoint: number; outZeroPoint: number;
  identityMultiplier: number; identityShift: number;
  alphaMultiplier: number; alphaShift: number;
}
export interface LeakyReluF32Step extends ExtStepBase { op: 'leaky_relu_f32'; alpha: number }

export function executeLeakyReluInt(s: LeakyReluIntStep, mem: ProgramMemory): void {
  const x = viewInt(mem, s.in), y = viewInt(mem, s.out);
  const [lo, hi] = INT_RANGE[s.out.dtype];
  for (let i = 0; i < y.length; i++) {
    const d = x[i] - s.inZeroPoint;
    const v = s.outZeroPoint + (d >= 0 ? mbqm(d, s.identityMultiplier, s.identityShift) : mbqm(d, s.alphaMultiplier, s.alphaShift));
    y[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

const leaky = (x: Float32Array, y: Float32Array, alpha: number) => { for (let i = 0; i < y.length; i++) y[i] = x[i] >= 0 ? x[i] : Math.fround(x[i] * alpha); };

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<LeakyReluOptions>, where = n.attrs.where;
  const input = ctx.read(n.inputs[0]), out = ctx.write(n.outputs[0]);
  const inInfo = n.attrs.inputInfo[0]!, outInfo = n.attrs.outputInfo[0];
  if (outInfo.dtype === 'float32') return [{ op: 'leaky_relu_f32', name: n.name, in: input, out, alpha: n.attrs.options.alpha } as LeakyReluF32Step];
  if (inInfo.dtype !== outInfo.dtype || (outInfo.dtype !== 'int8' && outInfo.dtype !== 'int16')) fail(`${where}: ${inInfo.dtype} -> ${outInfo.dtype} is not supported`);
  const qi = tensorQuant(inInfo, where, 'the input'), qo = tensorQuant(outInfo, where, 'the output');
  const f = Math.fround;
  const id = quantizeMultiplier(f(f(qi.scale) / f(qo.scale)));
  const al = quantizeMultiplier(f(f(f(qi.scale) * f(n.attrs.options.alpha)) / f(qo.scale)));
  const step: LeakyReluIntStep = {
    op: outInfo.dtype === 'int8' ? 'leaky_relu_s8' : 'leaky_relu_s16', name: n.name, in: input, out, inZeroPoint: qi.zeroPoint, outZeroPoint: qo.zeroPoint,
    identityMultiplier: id.multiplier, identityShift: id.shift, alphaMultiplier: al.multiplier, alphaShift: al.shift,
  };
  return [step];
}

registerTfliteOp({ code: 98, tflName: 'LEAKY_RELU', graphOp: 'tfl.leaky_relu', options: (t: Table | null) => ({ alpha: t ? t.f32(0, 'alpha') : 0 }) });
registerTflGraphOp<LeakyReluOptions>('tfl.leaky_relu', {
  reference: ([x], _s, a) => { const y = new Float32Array(x.length); leaky(x, y, a.options.alpha); return [y]; },
  lower,
});
registerExtStep<LeakyReluIntStep>('leaky_relu_s8', executeLeakyReluInt);
registerExtStep<LeakyReluIntStep>('leaky_relu_s16', executeLeakyReluInt);
registerExtStep<LeakyReluF32Step>('leaky_relu_f32', (s, mem) => leaky(viewF32(mem, s.in), viewF32(mem, s.out), s.alpha));
