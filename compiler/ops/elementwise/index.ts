/**
 * Elementwise ops: binary add / mul (same shape, or the second operand broadcast over trailing
 * dimensions) and unary activations (gelu, relu, tanh, sigmoid).
 */
import { fail } from '../../errors.js';
import type { Activation } from '../../plan/program.js';
import { applyActivation } from '../activation.js';
import type { BinaryF32Step } from '../../plan/program.js';
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

registerOp('add', { shape: (s, _a, w) => broadcastShape(s, w, 'add'), reference: binary(add), lowerFloat: lowerBinary('add_f32') });
registerOp('mul', { shape: (s, _a, w) => broadcastShape(s, w, 'mul'), reference: binary(mul), lowerFloat: lowerBinary('mul_f32') });

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

