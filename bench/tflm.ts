/**
 * tinyforge vs TensorFlow Lite Micro (+ CMSIS-NN) on the emulated Cortex-M4F (QEMU 7.2 mps2-an386,
 * -icount shift=0): the .tflite files of test/fixtures/tflite/models compiled to C (target cortex-m4f),
 * one inference through the integer API (tf_model_run_int: the file's own input/output tensors, what
 * TFLM's Invoke measures), firmware linked without the float API (TF_HARNESS_INT_ONLY).
 *  - instructions: one inference after a warm-up
 *  - flash: .text + .rodata + .data of the whole image (harness, newlib-nano); "weights" = .rodata of
 *    model.o (weights, biases, requantization tables: what TFLM keeps in its model array); "code beyond
 *    the weights" = flash - weights - the compiled-in test vector (TFLM's figure also excludes its images)
 *  - RAM: planned arena + measured peak stack (painting); TFLM's figure is its arena alone
 * TFLM numbers: shared/notes/baselines.md (TFLM snapshot 90b983c2b3f1, CMSIS-NN kernels, gcc 12.2.1).
 */
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, runQuantizedProgram } from '../compiler/plan/lower-quantized.js';
import type { Program } from '../compiler/plan/program.js';
import { packageRoot } from '../compiler/paths.js';
import { estimateRam } from '../compiler/backends/c/ram.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';

export interface TflmBenchRow {
  model: string;
  instructions: number;
  tflmInstructions: number;
  flashBytes: number;
  weightBytes: number;
  codeBytes: number;
  tflmTextBytes: number;
  tflmCodeBytes: number;
  arenaBytes: number;
  stackBytes: number;
  /** the compile-time bound checkRamBudget uses (arena + static stack bound) */
  ramBoundBytes: number;
  tflmArenaBytes: number;
  /** integer outputs equal the TS oracle's */
  bitExact: boolean;
}

const TFLM: Record<string, { instructions: number; text: number; code: number; arena: number }> = {
  hello_world_int8: { instructions: 3560, text: 42672, code: 39968, arena: 764 },
  keyword_scrambled_8bit: { instructions: 120280, text: 81216, code: 51584, arena: 8212 },
  person_detect: { instructions: 22928480, text: 405912, code: 86912, arena: 82308 },
};

function sample(len: number, dtype: string, seed: number): number[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 8) / 2 ** 23;
  return Array.from({ length: len }, () => (dtype === 'int8' ? Math.floor(rnd() * 256) - 128 : Math.round((rnd() - 0.5) * 20000)));
}

export async function runTflmBench(log: (s: string) => void = console.error): Promise<TflmBenchRow[]> {
  const dir = join(packageRoot(), 'test', 'fixtures', 'tflite', 'models');
  const rows: TflmBenchRow[] = [];
  for (const model of Object.keys(TFLM)) {
    log(`tflm bench: ${model}`);
    const p = lowerQuantizedGraph(importTflite(join(dir, `${model}.tflite`)));
    const io = p.inputs[0];
    const x = model === 'hello_world_int8' ? [-64] : sample(io.shape.reduce((a, b) => a * b, 1), io.dtype, 7);
    const want = Array.from(runQuantizedProgram(p, [x]));
    const prog = p as unknown as Program;
    const r = await runOnQemu(prog, [new Float32Array(p.input.shape.reduce((a, b) => a * b, 1))], { intInputs: [x], intOnly: true, timeoutMs: 300_000 });
    const t = TFLM[model];
    rows.push({
      model, instructions: r.instructionsInt![0], tflmInstructions: t.instructions,
      flashBytes: r.flashBytes, weightBytes: r.modelRodataBytes, codeBytes: r.flashBytes - r.modelRodataBytes - r.vectorBytes,
      tflmTextBytes: t.text, tflmCodeBytes: t.code,
      arenaBytes: r.arenaBytes, stackBytes: r.stackBytes, ramBoundBytes: estimateRam(prog).totalBytes, tflmArenaBytes: t.arena,
      bitExact: JSON.stringify(r.outputsInt![0]) === JSON.stringify(want),
    });
  }
  return rows;
}

const n = (v: number) => v.toLocaleString('en-US');
const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

export function formatTflmBench(rows: TflmBenchRow[]): string {
  const out = [
    '| model | instructions (tinyforge / TFLM) | flash: code + weights | code beyond the weights (tinyforge / TFLM) | RAM: arena + stack (tinyforge) / TFLM arena | bit-exact |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(`| ${r.model} | ${n(r.instructions)} / ${n(r.tflmInstructions)} (${x(r.instructions, r.tflmInstructions)}) | ${n(r.flashBytes)} (${n(r.weightBytes)} weights; TFLM .text ${n(r.tflmTextBytes)}) | ${n(r.codeBytes)} / ${n(r.tflmCodeBytes)} (${x(r.codeBytes, r.tflmCodeBytes)}) | ${n(r.arenaBytes)} + ${n(r.stackBytes)} = ${n(r.arenaBytes + r.stackBytes)} (bound ${n(r.ramBoundBytes)}) / ${n(r.tflmArenaBytes)} (${x(r.arenaBytes + r.stackBytes, r.tflmArenaBytes)}) | ${r.bitExact ? 'yes' : 'NO'} |`);
  }
  return out.join('\n');
}
