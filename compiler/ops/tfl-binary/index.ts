/**
 * TFLite ADD, SUB and MUL with NumPy-style broadcasting (TFLM's BroadcastAdd4DSlow & co.) and fused
 * activations. Integer arithmetic is TFLM's reference:
 *  - add / sub: a' = mbqm((a - aZp) << leftShift, aMul, aShift), b' likewise (leftShift 20 for int8,
 *    15 for int16); v = mbqm(a' ± b', outMul, outShift) + outZp; clamp to [actMin, actMax]
 *  - mul: v = mbqm((a - aZp) * (b - bZp), mul, shift) + outZp; clamp
 * int8 ADD / MUL without activation and with a trailing-dimension broadcast reuse add_s8 / mul_s8
 * (plan/program.ts); everything else is binary_s8 / binary_s16 / binary_f32 here.
 * Broadcast: out index -> a index = sum(coord[d] * aStrides[d]) with stride 0 on broadcast dims.
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import type { AddS8Step, MulS8Step } from '../../plan/program.js';
import { multiplyByQuantizedMultiplier as mbqm, quantizeMultiplier } from '../../quant/fixedpoint.js';
import {
  activationName, activationRange, activationRangeFloat, registerExtStep, registerTflGraphOp, registerTfliteOp, tensorQuant, viewF32, viewInt,
  type ExtStepBase, type QLowerCtx, type QBufferRef, type TflNode, type TflNodeAttrs,
} from '../tflite.js';

type Kind = 'add' | 'sub' | 'mul';
export interface BinaryOptions { activation: string }

interface Broadcast { outShape: number[]; aStrides: number[]; bStrides: number[] }

export interface BinaryIntStep extends ExtStepBase, Broadcast {
  op: 'binary_s8' | 'binary_s16';
  kind: Kind;
  aZeroPoint: number; bZeroPoint: number; outZeroPoint: number;
  /** add/sub: 20 (int8) or 15 (int16); mul: 0 */
  leftShift: number;
  aMultiplier: number; aShift: number; bMultiplier: number; bShift: number;
  outMultiplier: number; outShift: number;
  actMin: number; actMax: number;
}

export interface BinaryF32Step2 extends ExtStepBase, Broadcast {
  op: 'binary_f32';
  kind: Kind;
  actMin: number; actMax: number;
}

export function broadcast(a: number[], b: number[], out: number[], where: string): Broadcast {
  const rank = out.length;
  if (a.length > rank || b.length > rank) fail(`${where}: cannot broadcast [${a}] and [${b}] to [${out}]`);
  const strides = (s: number[]) => {
    const full = [...new Array(rank - s.length).fill(1), ...s];
    const st = new Array(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      if (full[d] !== out[d] && full[d] !== 1) fail(`${where}: cannot broadcast [${a}] and [${b}] to [${out}]`);
      st[d] = full[d] === 1 && out[d] !== 1 ? 0 : acc;
      acc *= full[d];
    }
    return st;
  };
  return { outShape: out, aStrides: strides(a), bStrides: strides(b) };
}

function forEachPair(bc: Broadcast, fn: (o: number, ai: number, bi: number) => void): void {
  const rank = bc.outShape.length;
  const total = bc.outShape.reduce((p, d) => p * d, 1);
  const coord = new Array(rank).fill(0);
  let ai = 0, bi = 0;
  for (let o = 0; o < total; o++) {
    fn(o, ai, bi);
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]++; ai += bc.aStrides[d]; bi += bc.bStrides[d];
      if (coord[d] < bc.outShape[d]) break;
      ai -= bc.aStrides[d] * coord[d]; bi -= bc.bStrides[d] * coord[d]; coord[d] = 0;
    }
  }
}

export function executeBinaryInt(s: BinaryIntStep, mem: ProgramMemory): void {
  const a = viewInt(mem, s.in), b = viewInt(mem, s.aux![0]), y = viewInt(mem, s.out);
  const L = 1 << s.leftShift;
  forEachPair(s, (o, ai, bi) => {
    let v: number;
    if (s.kind === 'mul') {
      v = mbqm(Math.imul(a[ai] - s.aZeroPoint, b[bi] - s.bZeroPoint), s.outMultiplier, s.outShift) + s.outZeroPoint;
    } else {
      const x1 = mbqm(Math.imul(a[ai] - s.aZeroPoint, L), s.aMultiplier, s.aShift);
      const x2 = mbqm(Math.imul(b[bi] - s.bZeroPoint, L), s.bMultiplier, s.bShift);
      v = mbqm(s.kind === 'add' ? (x1 + x2) | 0 : (x1 - x2) | 0, s.outMultiplier, s.outShift) + s.outZeroPoint;
    }
    y[o] = v < s.actMin ? s.actMin : v > s.actMax ? s.actMax : v;
  });
}

export function binaryFloat(kind: Kind, a: Float32Array, b: Float32Array, y: Float32Array, bc: Broadcast, lo: number, hi: number): void {
  const f = Math.fround;
  forEachPair(bc, (o, ai, bi) => {
    const v = kind === 'add' ? f(a[ai] + b[bi]) : kind === 'sub' ? f(a[ai] - b[bi]) : f(a[ai] * b[bi]);
    y[o] = v < lo ? lo : v > hi ? hi : v;
  });
}

/** Operand k as a buffer: a graph value, or a constant materialized by a one-off step is not needed: constants become aux data. */
function operandRef(n: TflNode<BinaryOptions>, k: number, ctx: QLowerCtx): { ref: QBufferRef; shape: number[]; info: { dtype: string; quant: import('../tflite.js').TensorQuant | null } ; constData?: ArrayLike<number> | null } {
  const o = n.attrs.operands[k];
  if (!o) fail(`${n.attrs.where}: input ${k} is missing`);
  if (o.kind === 'value') { const info = ctx.info(o.name); return { ref: ctx.read(o.name), shape: info.shape, info }; }
  if (o.kind === 'const' && o.tensor.data) {
    // constants live in the arena, filled by a const_fill step
    const t = o.tensor;
    const dtype = t.dtype === 'float32' ? 'float32' : t.dtype === 'int8' ? 'int8' : t.dtype === 'int16' ? 'int16' : t.dtype === 'int32' ? 'int32' : fail(`${n.attrs.where}: a ${t.dtype} constant operand is not supported`);
    return { ref: ctx.scratch(dtype, t.data!.length), shape: t.shape, info: { dtype, quant: t.quant }, constData: t.data };
  }
  return fail(`${n.attrs.where}: input ${k} must be a value or a constant`);
}

/** Writes constant data into an arena buffer (constant operands of elementwise ops). */
export interface ConstFillStep extends ExtStepBase {
  op: 'const_fill';
  /** the values, in out.dtype (int8/int16/int32 as Int32Array, float32 as Float32Array) */
  values: Int32Array | Float32Array;
}

function lowerBinary(kind: Kind) {
  return (node: TflNode, ctx: QLowerCtx) => {
    const n = node as TflNode<BinaryOptions>;
    const where = n.attrs.where;
    const A = operandRef(n, 0, ctx), B = operandRef(n, 1, ctx);
    const outInfo = n.attrs.outputInfo[0];
    const out = ctx.write(n.outputs[0]);
    const pre: ExtStepBase[] = [];
    for (const X of [A, B]) if (X.constData) {
      const fill: ConstFillStep = { op: 'const_fill', name: `${n.name}_const`, in: X.ref, out: X.ref, values: X.ref.dtype === 'float32' ? Float32Array.from(X.constData) : Int32Array.from(X.constData) };
      pre.push(fill);
    }
    const bc = broadcast(A.shape, B.shape, outInfo.shape, where);
    if (outInfo.dtype === 'float32') {
      const [lo, hi] = activationRangeFloat(n.attrs.options.activation, where);
      const step: BinaryF32Step2 = { op: 'binary_f32', name: n.name, in: A.ref, out, aux: [B.ref], kind, ...bc, actMin: lo, actMax: hi };
      return [...pre, step];
    }
    const dt = outInfo.dtype;
    if ((dt !== 'int8' && dt !== 'int16') || A.info.dtype !== dt || B.info.dtype !== dt) fail(`${where}: ${A.info.dtype} ${kind} ${B.info.dtype} -> ${dt} is not supported`);
    const qa = tensorQuant(A.info as never, where, 'input 0'), qb = tensorQuant(B.info as never, where, 'input 1'), qo = tensorQuant(outInfo, where, 'the output');
    const [actMin, actMax] = activationRange(n.attrs.options.activation, outInfo, where);
    const s16 = dt === 'int16';
    const common = { aZeroPoint: qa.zeroPoint, bZeroPoint: qb.zeroPoint, outZeroPoint: qo.zeroPoint };
    const total = outInfo.shape.reduce((p, d) => p * d, 1);
    const aFull = A.ref.length === total && bc.aStrides.every((s, d) => s !== 0 || bc.outShape[d] === 1);
    const bPeriod = B.ref.length > 0 && total % B.ref.length === 0 && isTrailing(B.shape, outInfo.shape);
    const plain = !s16 && actMin === -128 && actMax === 127 && aFull && bPeriod;
    if (kind === 'mul') {
      const m = quantizeMultiplier((qa.scale * qb.scale) / qo.scale);
      if (plain) {
        const step: MulS8Step = { op: 'mul_s8', name: n.name, in: A.ref as MulS8Step['in'], out: out as MulS8Step['out'], aux: [B.ref as MulS8Step['in']], length: total, period: B.ref.length, ...common, multiplier: m.multiplier, shift: m.shift };
        return [...pre, step];
      }
      const step: BinaryIntStep = { op: s16 ? 'binary_s16' : 'binary_s8', name: n.name, in: A.ref, out, aux: [B.ref], kind, ...bc, ...common, leftShift: 0, aMultiplier: 0, aShift: 0, bMultiplier: 0, bShift: 0, outMultiplier: m.multiplier, outShift: m.shift, actMin, actMax };
      return [...pre, step];
    }
    const leftShift = s16 ? 15 : 20;
    // TFLM (add.cc, sub_common.cc): twice the larger float scale, the real multipliers in double (a float32
    // rounding of them is off by one unit on 4 of TFLM's seanet SUB golden values)
    const twiceMax = 2 * Math.max(qa.scale, qb.scale);
    const ma = quantizeMultiplier(qa.scale / twiceMax), mb = quantizeMultiplier(qb.scale / twiceMax);
    const mo = quantizeMultiplier(twiceMax / (2 ** leftShift * qo.scale));
    if (plain && kind === 'add') {
      const step: AddS8Step = {
        op: 'add_s8', name: n.name, in: A.ref as AddS8Step['in'], out: out as AddS8Step['out'], aux: [B.ref as AddS8Step['in']], length: total, period: B.ref.length,
        aZeroPoint: qa.zeroPoint, aMultiplier: ma.multiplier, aShift: ma.shift, bZeroPoint: qb.zeroPoint, bMultiplier: mb.multiplier, bShift: mb.shift,
        outMultiplier: mo.multiplier, outShift: mo.shift, outZeroPoint: qo.zeroPoint,
      };
      return [...pre, step];
    }
    const step: BinaryIntStep = {
      op: s16 ? 'binary_s16' : 'binary_s8', name: n.name, in: A.ref, out, aux: [B.ref], kind, ...bc, ...common, leftShift,
      aMultiplier: ma.multiplier, aShift: ma.shift, bMultiplier: mb.multiplier, bShift: mb.shift, outMultiplier: mo.multiplier, outShift: mo.shift, actMin, actMax,
    };
    return [...pre, step];
  };
}

function isTrailing(b: number[], out: number[]): boolean {
  const bs = [...b];
  while (bs.length && bs[0] === 1) bs.shift();
  const tail = out.slice(out.length - bs.length);
  return bs.length <= out.length && tail.join(',') === bs.join(',');
}

function options(t: Table | null, where: string): Record<string, unknown> {
  return { activation: activationName(t ? t.i8(0, 'fused_activation_function') : 0, where) };
}

function reference(kind: Kind) {
  return (inputs: Float32Array[], shapes: number[][], a: TflNodeAttrs<BinaryOptions>): Float32Array[] => {
    const vals: Float32Array[] = [], sh: number[][] = [];
    let vi = 0;
    for (const o of a.operands.slice(0, 2)) {
      if (o && o.kind === 'value') { vals.push(inputs[vi]); sh.push(shapes[vi]); vi++; }
      else if (o && o.kind === 'const') { vals.push(Float32Array.from(o.tensor.data as ArrayLike<number>)); sh.push(o.tensor.shape); }
    }
    const out = a.outputInfo[0].shape;
    const y = new Float32Array(out.reduce((p, d) => p * d, 1));
    const [lo, hi] = activationRangeFloat(a.options.activation, a.where);
    binaryFloat(kind, vals[0], vals[1], y, broadcast(sh[0], sh[1], out, a.where), lo, hi);
    return [y];
  };
}

for (const [code, kind, name] of [[0, 'add', 'ADD'], [41, 'sub', 'SUB'], [18, 'mul', 'MUL']] as const) {
  registerTfliteOp({ code, tflName: name, graphOp: `tfl.${kind}`, options });
  registerTflGraphOp<BinaryOptions>(`tfl.${kind}`, { reference: reference(kind), lower: lowerBinary(kind) });
}
registerExtStep<BinaryIntStep>('binary_s8', executeBinaryInt);
registerExtStep<BinaryIntStep>('binary_s16', executeBinaryInt);
registerExtStep<BinaryF32Step2>('binary_f32', (s, mem) => binaryFloat(s.kind, viewF32(mem, s.in), viewF32(mem, s.aux![0]), viewF32(mem, s.out), s, s.actMin, s.actMax));
registerExtStep<ConstFillStep>('const_fill', (s, mem) => {
  if (s.out.dtype === 'float32') viewF32(mem, s.out).set(s.values);
  else viewInt(mem, s.out).set(s.values);
});
