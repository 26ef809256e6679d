/** Runs a lowered Program in TypeScript: the integer oracle that every backend is compared against. */
import { inferenceSteps, resetSteps, type Program, type Step } from '../plan/program.js';
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

/**
 * A model instance: memory that lives across inferences, so persistent state (TFLite variable tensors) carries
 * over from one run to the next; reset() restores its initial value (done on creation).
 */
export class ProgramSession {
  readonly mem: ProgramMemory;
  constructor(readonly program: Program) {
    this.mem = new ProgramMemory(program);
    this.reset();
  }
  reset(): void {
    for (const step of resetSteps(this.program.steps)) executeStep(step, this.mem);
  }
  run(input: Float32Array, onStep?: (step: Step, mem: ProgramMemory) => void): ProgramResult {
    const { program, mem } = this;
    new Float32Array(mem.spaces.input).set(input);
    for (const step of inferenceSteps(program.steps)) { executeStep(step, mem); onStep?.(step, mem); }
    const outLen = program.output.shape.reduce((a, b) => a * b, 1);
    const output = new Float32Array(mem.spaces.output, 0, outLen).slice();
    const outputQ = program.int8Output ? mem.i8(program.int8Output).slice() : undefined;
    return { output, outputQ };
  }
}

/** Runs one sample on a fresh instance (persistent state at its initial value). */
export function executeProgram(program: Program, input: Float32Array, onStep?: (step: Step, mem: ProgramMemory) => void): ProgramResult {
  return new ProgramSession(program).run(input, onStep);
}
