/**
 * RAM budget of a compiled model (arena + stack), checked at compile time: `checkRamBudget(program,
 * bytes)` throws a one-line TinyforgeError when the model cannot run in `bytes` of RAM (wire it to
 * `--ram BYTES`). The stack part is a static upper bound of what the generated C needs below the caller
 * (per-step local buffers of the emitted kernels + call frames and saved registers); the measured peak
 * (firmware stack painting, QemuRunResult.stackBytes) stays below it.
 */
import { fail } from '../../errors.js';
import type { Program, Step } from '../../plan/program.js';

/** Frames of the API function, the step function, the DSP routines' saved registers (push r4-r11, lr) and helpers. */
const BASE_STACK = 384;

function denseLocal(n: number, m: number, rows: number): number {
  const np = 8 * Math.ceil(n / 8), quads = Math.ceil(m / 4);
  // widened inputs (two rows interleaved), padded input copies (general shared path), row sums and chunk
  // sums (two rows), per-channel decode table, unpacked activation table, output scratch, argument
  // blocks and the assembler routines' frames
  return 4 * np + 2 * np + 64 * quads + 16 * m + 257 + 4 * quads + 256 + (rows > 1 ? 32 : 0) + 64;
}

/** Local buffers of one step's C function (bytes). */
export function stepStackBytes(s: Step): number {
  switch (s.op) {
    case 'dense_s8': case 'dense_s4': return denseLocal(s.inFeatures, s.outFeatures, s.rows ?? 1);
    case 'conv_s8': {
      const K = s.kH * s.kW * s.inC;
      return denseLocal(K, s.outC, 2) + (s.kH === 1 && s.kW === 1 ? 0 : K + 4);
    }
    case 'lstm_f32': return 16 * s.units + 64;
    case 'lstm_s8': return 2 * (4 * Math.ceil(s.inputs / 4) + 4 * Math.ceil(s.units / 4)) + 96;
    case 'binary_s8': case 'binary_s16': case 'binary_f32': return 4 * s.outShape.length + 64;
    case 'add_s8': return 1024 + 128; // tabulated rescaled first operand (int32 per int8 value)
    case 'softmax_s8': return 4 * s.features + 128; // the row's e_j
    case 'mul_s8': case 'layer_norm_s8': return 128;
    default: return 64;
  }
}

export interface RamEstimate { arenaBytes: number; stackBytes: number; totalBytes: number }

export function estimateRam(program: Program): RamEstimate {
  const arenaBytes = Math.max(16, Math.ceil(program.arenaBytes / 16) * 16);
  const stackBytes = BASE_STACK + program.steps.reduce((m, s) => Math.max(m, stepStackBytes(s)), 0);
  return { arenaBytes, stackBytes, totalBytes: arenaBytes + stackBytes };
}

/**
 * Compile-time RAM check: returns the estimate when arena + stack bound fit in `budgetBytes`, else fails
 * with `tinyforge: --ram <budget>: '<model>' needs <arena> B of arena + <stack> B of stack = <total> B; ...`.
 */
export function checkRamBudget(program: Program, budgetBytes: number): RamEstimate {
  if (!Number.isFinite(budgetBytes) || budgetBytes <= 0 || !Number.isInteger(budgetBytes)) fail(`--ram ${budgetBytes}: the RAM budget must be a positive number of bytes`);
  const e = estimateRam(program);
  if (e.totalBytes > budgetBytes) {
    fail(`--ram ${budgetBytes}: '${program.name}' needs ${e.arenaBytes} B of arena + ${e.stackBytes} B of stack = ${e.totalBytes} B; raise --ram to at least ${e.totalBytes} or pick a smaller model`);
  }
  return e;
}
