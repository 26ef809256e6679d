/** Public compiler API. */
export { compileModel, buildProgram, weightBytes, type CompileOptions, type CompileReport, type QuantMode } from './compile.js';
export { importCheckpoint } from './frontends/index.js';
export { runReference } from './ir/reference.js';
export { executeProgram } from './exec/program.js';
export { loadProgram, serializeProgram } from './plan/serialize.js';
export type { Program, Step } from './plan/program.js';
export { TinyforgeError } from './errors.js';
export { generateMpc, type MpcTarget } from './mpc/generate.js';
export { readSpec, type MpcSpec } from './mpc/spec.js';
