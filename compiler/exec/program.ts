/** Runs a lowered Program in TypeScript: the integer oracle that every backend is compared against. */
import type { Program, Step } from '../plan/program.js';
import { ProgramMemory } from './memory.js';
import { executeDenseF32, executeDenseS8 } from '../ops/dense/index.js';
import { executeDequantize, executeQuantize } from '../ops/quantize/index.js';

function executeStep(step: Step, mem: ProgramMemory): void {
  switch (step.op) {
    case 'dense_f32': return executeDenseF32(step, mem);
    case 'dense_s8': return executeDenseS8(step, mem);
    case 'quantize': return executeQuantize(step, mem);
    case 'dequantize': return executeDequantize(step, mem);
  }
}

export interface ProgramResult {
  output: Float32Array;
  /** int8 programs: the int8 output tensor before dequantization */
  outputQ?: Int8Array;
}

/** Runs one sample. */
export function executeProgram(program: Program, input: Float32Array, onStep?: (step: Step, mem: ProgramMemory) => void): ProgramResult {
  const mem = new ProgramMemory(program);
  new Float32Array(mem.spaces.input).set(input);
  for (const step of program.steps) { executeStep(step, mem); onStep?.(step, mem); }
  const outLen = program.output.shape.reduce((a, b) => a * b, 1);
  const output = new Float32Array(mem.spaces.output, 0, outLen).slice();
  const outputQ = program.int8Output ? mem.i8(program.int8Output).slice() : undefined;
  return { output, outputQ };
}
