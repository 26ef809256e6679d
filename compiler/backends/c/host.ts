/**
 * Runs the generated C on the build machine: emit -> gcc -> run a small harness -> parse.
 * The harness runs every sample through tf_model_run (float API) and, for int8 programs, the
 * TS-quantized sample through tf_model_run_int8, printing one line per sample:
 *   O <hex float bits>...     Q <int8>...
 * Both the firmware harness and this runner use that line format (parseOutputLines).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fail } from '../../errors.js';
import type { Program, QuantizeStep } from '../../plan/program.js';
import { elementCount } from '../../plan/program.js';
import { quantizeValue } from '../../quant/fixedpoint.js';
import type { DeviceRunResult } from '../types.js';
import { emitC, hasInt8Api, type CEmitOptions } from './index.js';

const run = promisify(execFile);

export interface CHostOptions {
  /** build directory (kept); default: a fresh temp dir under os.tmpdir(), removed afterwards */
  workDir?: string;
  target?: 'c' | 'cortex-m4f';
  dspWeights?: CEmitOptions['dspWeights'];
  /** extra gcc flags, e.g. ['-DTF_NO_ASM'] */
  cflags?: string[];
}

export const HOST_CFLAGS = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off'];

/**
 * The harnesses' float-API loop: `count` samples read from f into in[], run, their outputs printed as
 * "O <hex float bits>..." lines (bit-exact comparison on the TS side).
 */
export const floatSampleLoop = (count: string): string => `  for (s = 0; s < ${count}; s++) {
    uint32_t bits;
    if (fread(in, sizeof(float), TF_MODEL_INPUT_SIZE, f) != TF_MODEL_INPUT_SIZE) return 3;
    if (tf_model_run(in, out) != 0) return 4;
    printf("O");
    for (i = 0; i < TF_MODEL_OUTPUT_SIZE; i++) {
      memcpy(&bits, &out[i], 4);
      printf(" %08lx", (unsigned long)bits);
    }
    printf("\\n");
  }
`;

const HARNESS = `/* tinyforge host harness: argv[1] = samples file (all float inputs, then all int8 inputs), argv[2] = count */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

int main(int argc, char **argv) {
  static float in[TF_MODEL_INPUT_SIZE], out[TF_MODEL_OUTPUT_SIZE];
  long n, s;
  int i;
  FILE *f;
  if (argc < 3) return 2;
  f = fopen(argv[1], "rb");
  if (!f) return 2;
  n = atol(argv[2]);
${floatSampleLoop('n')}#if TF_MODEL_INT8
#if TF_MODEL_STATEFUL
  tf_model_reset(); /* the int8 samples start from the initial state too */
#endif
  for (s = 0; s < n; s++) {
    static int8_t qin[TF_MODEL_INT8_INPUT_SIZE], qout[TF_MODEL_INT8_OUTPUT_SIZE];
    if (fread(qin, 1, TF_MODEL_INT8_INPUT_SIZE, f) != TF_MODEL_INT8_INPUT_SIZE) return 3;
    if (tf_model_run_int8(qin, qout) != 0) return 4;
    printf("Q");
    for (i = 0; i < TF_MODEL_INT8_OUTPUT_SIZE; i++) printf(" %d", qout[i]);
    printf("\\n");
  }
#endif
  fclose(f);
  return 0;
}
`;

/** The int8 API input for each sample, quantized exactly like the program's first quantize step. */
export function quantizeInputs(program: Program, inputs: Float32Array[]): Int8Array[] | undefined {
  if (!hasInt8Api(program)) return undefined;
  const q = program.steps.find((s): s is QuantizeStep => s.op === 'quantize');
  if (!q) fail(`int8 program '${program.name}' has no quantize step`);
  const base = q.in.offset / 4;
  return inputs.map((x) => Int8Array.from({ length: q.out.length }, (_, i) => quantizeValue(x[base + i], q.scale, q.zeroPoint)));
}

/** Parses `O`/`Q` lines (in sample order) into outputs / outputsQ. */
export function parseOutputLines(lines: string[], program: Program, samples: number): DeviceRunResult {
  const outputs: Float32Array[] = [];
  const outputsQ: Int8Array[] = [];
  for (const line of lines) {
    const [tag, ...vals] = line.trim().split(/\s+/);
    if (tag === 'O') outputs.push(new Float32Array(Uint32Array.from(vals, (h) => parseInt(h, 16)).buffer));
    else if (tag === 'Q') outputsQ.push(Int8Array.from(vals, Number));
  }
  const outLen = elementCount(program.output.shape);
  if (outputs.length !== samples || outputs.some((o) => o.length !== outLen)) {
    fail(`C run returned ${outputs.length} of ${samples} outputs`);
  }
  if (hasInt8Api(program)) {
    if (outputsQ.length !== samples) fail(`C run returned ${outputsQ.length} of ${samples} int8 outputs`);
    return { outputs, outputsQ };
  }
  return { outputs };
}

export async function runOnCHost(program: Program, inputs: Float32Array[], opts: CHostOptions = {}): Promise<DeviceRunResult> {
  const inSize = elementCount(program.input.shape);
  for (const x of inputs) if (x.length !== inSize) fail(`input has ${x.length} values, the model takes ${inSize}`);
  const q = quantizeInputs(program, inputs) ?? [];
  const samples = [
    ...inputs.map((x) => new Uint8Array(Float32Array.from(x).buffer)),
    ...q.map((x) => new Uint8Array(x.buffer, x.byteOffset, x.length)),
  ];
  const stdout = await buildAndRunOnHost(program, HARNESS, samples, [String(inputs.length)], opts);
  return parseOutputLines(stdout.split('\n'), program, inputs.length);
}

/**
 * Emits the program's C next to `harness` in a work folder, builds it with host gcc, runs it on the
 * concatenated `samples` (argv[1] = that file, then `args`) and returns what it printed.
 */
export async function buildAndRunOnHost(program: Program, harness: string, samples: Uint8Array[], args: string[], opts: CHostOptions = {}): Promise<string> {
  const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'tinyforge-c-'));
  try {
    mkdirSync(dir, { recursive: true });
    const src = emitC(program, { target: opts.target ?? 'c', dspWeights: opts.dspWeights });
    writeFileSync(join(dir, 'model.h'), src['model.h']);
    writeFileSync(join(dir, 'model.c'), src['model.c']);
    writeFileSync(join(dir, 'harness.c'), harness);
    writeFileSync(join(dir, 'samples.bin'), Buffer.concat(samples));
    const exe = join(dir, 'harness');
    try {
      await run('gcc', [...HOST_CFLAGS, ...(opts.cflags ?? []), '-o', exe, join(dir, 'harness.c'), join(dir, 'model.c'), '-lm'], { cwd: dir, maxBuffer: 1 << 26 });
    } catch (e) {
      fail(`gcc failed on the generated C: ${((e as { stderr?: string }).stderr ?? String(e)).slice(0, 4000)}`);
    }
    const { stdout } = await run(exe, [join(dir, 'samples.bin'), ...args], { cwd: dir, maxBuffer: 1 << 28 });
    return stdout;
  } finally {
    if (!opts.workDir) rmSync(dir, { recursive: true, force: true });
  }
}
