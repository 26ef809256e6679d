/**
 * Elementwise ops: binary add / mul (same shape, or the second operand broadcast over trailing
 * dimensions) and unary activations (gelu, relu, tanh, sigmoid).
 */
import { fail } from '../../errors.js';
import type { Activation } from '../../plan/program.js';
import { applyActivation } from '../activation.js';
import type { AddS8Step, BinaryF32Step, MulS8Step } from '../../plan/program.js';
import { clampInt8, multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../../quant/fixedpoint.js';
import type { LowerInt8Ctx, LowerNode } from '../registry.js';
import type { ProgramMemory } from '../../exec/memory.js';
import { registerOp, registerStep, type LowerCtx } from '../registry.js';

function broadcastShape([a, b]: number[][], where: string, op: string): number[][] {
  const tail = a.slice(a.length - b.length);
  if (b.length > a.length || tail.join(',') !== b.join(',')) fail(`${where}: ${op} of shapes [${a}] and [${b}] is not supported (the second must match the first's trailing dimensions)`);
  return [a];
}

function binary(f: (x: number, y: number) => number) {
  return ([a, b]: Float32Array[]) => {
    const y = new Float32Array(a.length), n = b.length;
    for (let i = 0; i < a.length; i++) y[i] = f(a[i], b[i % n]);
    return [y];
  };
}

const add = (x: number, y: number) => x + y, mul = (x: number, y: number) => x * y;

function lowerBinary(op: BinaryF32Step['op']) {
  return (n: { name: string; inputs: string[]; outputs: string[] }, ctx: LowerCtx): BinaryF32Step => {
    const a = ctx.read(n.inputs[0]), b = ctx.read(n.inputs[1]);
    return { op, name: n.name, in: a, out: ctx.write(n.outputs[0], 'float32'), aux: [b], length: a.length, period: b.length };
  };
}

/** TFLite ADD: both inputs rescaled to a shared scale with 20 bits of headroom, summed, requantized. */
function lowerAddS8(n: LowerNode<unknown>, ctx: LowerInt8Ctx): AddS8Step {
  const a = ctx.read(n.inputs[0]), b = ctx.read(n.inputs[1]);
  const pa = ctx.params(n.inputs[0]), pb = ctx.params(n.inputs[1]), po = ctx.params(n.outputs[0]);
  const twiceMax = 2 * Math.max(pa.scale, pb.scale);
  const qa = quantizeMultiplier(pa.scale / twiceMax), qb = quantizeMultiplier(pb.scale / twiceMax);
  const qo = quantizeMultiplier(twiceMax / (2 ** ADD_LEFT_SHIFT * po.scale));
  return {
    op: 'add_s8', name: n.name, in: a, out: ctx.write(n.outputs[0]), aux: [b], length: a.length, period: b.length,
    aZeroPoint: pa.zeroPoint, aMultiplier: qa.multiplier, aShift: qa.shift, bZeroPoint: pb.zeroPoint, bMultiplier: qb.multiplier, bShift: qb.shift,
    outMultiplier: qo.multiplier, outShift: qo.shift, outZeroPoint: po.zeroPoint,
  };
}

function lowerMulS8(n: LowerNode<unknown>, ctx: LowerInt8Ctx): MulS8Step {
  const a = ctx.read(n.inputs[0]), b = ctx.read(n.inputs[1]);
  const pa = ctx.params(n.inputs[0]), pb = ctx.params(n.inputs[1]), po = ctx.params(n.outputs[0]);
  const q = quantizeMultiplier((pa.scale * pb.scale) / po.scale);
  return {
    op: 'mul_s8', name: n.name, in: a, out: ctx.write(n.outputs[0]), aux: [b], length: a.length, period: b.length,
    aZeroPoint: pa.zeroPoint, bZeroPoint: pb.zeroPoint, multiplier: q.multiplier, shift: q.shift, outZeroPoint: po.zeroPoint,
  };
}

export const ADD_LEFT_SHIFT = 20;

registerOp('add', { shape: (s, _a, w) => broadcastShape(s, w, 'add'), reference: binary(add), lowerFloat: lowerBinary('add_f32'), lowerInt8: lowerAddS8 });
registerOp('mul', { shape: (s, _a, w) => broadcastShape(s, w, 'mul'), reference: binary(mul), lowerFloat: lowerBinary('mul_f32'), lowerInt8: lowerMulS8 });

function executeBinary(f: (x: number, y: number) => number) {
  return (s: BinaryF32Step, mem: ProgramMemory) => mem.f32(s.out).set(binary(f)([mem.f32(s.in), mem.f32(s.aux![0])])[0]);
}
registerStep<BinaryF32Step>('add_f32', executeBinary(add));
registerStep<BinaryF32Step>('mul_f32', executeBinary(mul));

export interface ActivationAttrs { fn: Activation }
registerOp<ActivationAttrs>('activation', {
  shape: ([x]) => [x],
  reference: ([x], _s, a) => [Float32Array.from(x, (v) => applyActivation(a.fn, v))],
});


export function executeAddS8(s: AddS8Step, mem: ProgramMemory): void {
  const a = mem.i8(s.in), b = mem.i8(s.aux![0]), y = mem.i8(s.out);
  for (let i = 0; i < s.length; i++) {
    const x1 = mbqm((a[i] - s.aZeroPoint) * (1 << ADD_LEFT_SHIFT), s.aMultiplier, s.aShift);
    const x2 = mbqm((b[i % s.period] - s.bZeroPoint) * (1 << ADD_LEFT_SHIFT), s.bMultiplier, s.bShift);
    y[i] = clampInt8(mbqm(x1 + x2, s.outMultiplier, s.outShift) + s.outZeroPoint);
  }
}

export function executeMulS8(s: MulS8Step, mem: ProgramMemory): void {
  const a = mem.i8(s.in), b = mem.i8(s.aux![0]), y = mem.i8(s.out);
  for (let i = 0; i < s.length; i++) {
    y[i] = clampInt8(mbqm((a[i] - s.aZeroPoint) * (b[i % s.period] - s.bZeroPoint), s.multiplier, s.shift) + s.outZeroPoint);
  }
}

registerStep<AddS8Step>('add_s8', executeAddS8);
registerStep<MulS8Step>('mul_s8', executeMulS8);
