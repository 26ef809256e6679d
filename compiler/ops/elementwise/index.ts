/**
 * Elementwise ops: binary add / mul (same shape, or the second operand broadcast over trailing
 * dimensions) and unary activations (gelu, relu, tanh, sigmoid).
 */
import { fail } from '../../errors.js';
import type { Activation } from '../../plan/program.js';
import { applyActivation } from '../activation.js';
import { registerOp } from '../registry.js';

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

registerOp('add', { shape: (s, _a, w) => broadcastShape(s, w, 'add'), reference: binary((x, y) => x + y) });
registerOp('mul', { shape: (s, _a, w) => broadcastShape(s, w, 'mul'), reference: binary((x, y) => x * y) });

export interface ActivationAttrs { fn: Activation }
registerOp<ActivationAttrs>('activation', {
  shape: ([x]) => [x],
  reference: ([x], _s, a) => [Float32Array.from(x, (v) => applyActivation(a.fn, v))],
});

