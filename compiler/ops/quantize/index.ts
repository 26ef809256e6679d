/** quantize / dequantize: the float <-> int8 boundary of an int8 program (semantics in plan/program.ts). */
import type { ProgramMemory } from '../../exec/memory.js';
import type { DequantizeStep, QuantizeStep } from '../../plan/program.js';
import { dequantizeValue, quantizeValue } from '../../quant/fixedpoint.js';
import { registerStep } from '../registry.js';

export function executeQuantize(step: QuantizeStep, mem: ProgramMemory): void {
  const x = mem.f32(step.in), q = mem.i8(step.out);
  for (let i = 0; i < q.length; i++) q[i] = quantizeValue(x[i], step.scale, step.zeroPoint);
}

export function executeDequantize(step: DequantizeStep, mem: ProgramMemory): void {
  const q = mem.i8(step.in), y = mem.f32(step.out);
  for (let i = 0; i < y.length; i++) y[i] = dequantizeValue(q[i], step.scale, step.zeroPoint);
}

registerStep<QuantizeStep>('quantize', executeQuantize);
registerStep<DequantizeStep>('dequantize', executeDequantize);
