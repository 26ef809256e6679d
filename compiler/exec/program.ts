/** Runs a lowered Program in TypeScript: the integer oracle that every backend is compared against. */
import type { Program, Step } from '../plan/program.js';
import { ProgramMemory } from './memory.js';
import '../ops/all.js';
import { stepExecutor } from '../ops/registry.js';

function executeStep(step: Step, mem: ProgramMemory): void {
  stepExecutor(step.op)(step, mem);
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
