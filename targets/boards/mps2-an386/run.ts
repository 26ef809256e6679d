/**
 * Runs a Program on the emulated Cortex-M4F board (QEMU mps2-an386): emit C, generate the test-vector
 * file, build firmware (firmware/harness + this board folder) with arm-none-eabi-gcc, run QEMU with
 * -icount shift=0, parse the UART records (see firmware/harness/harness.c).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fail } from '../../../compiler/errors.js';
import type { Program } from '../../../compiler/plan/program.js';
import { elementCount } from '../../../compiler/plan/program.js';
import { emitC, type CEmitOptions } from '../../../compiler/backends/c/index.js';
import { cFloat, cList } from '../../../compiler/backends/c/cformat.js';
import { parseOutputLines, quantizeInputs } from '../../../compiler/backends/c/host.js';
import { integerApi, integerApiValues } from '../../../compiler/backends/c/tflite-api.js';
import { quantizeIntInput } from '../../../compiler/backends/c/tflite-host.js';
import type { McuRunResult } from '../../../compiler/backends/types.js';

const run = promisify(execFile);

export const BOARD = 'mps2-an386';

export interface QemuRunOptions {
  /** build directory (kept); default: a temp dir under os.tmpdir(), removed afterwards */
  workDir?: string;
  /** C flavour to emit: 'cortex-m4f' (DSP path, default) or 'c' (portable loops) */
  emit?: 'c' | 'cortex-m4f';
  dspWeights?: CEmitOptions['dspWeights'];
  /** extra compiler flags, e.g. ['-DTF_NO_ASM'] */
  cflags?: string[];
  timeoutMs?: number;
  /**
   * TFLite programs with an integer API (compiler/backends/c/tflite-api.ts): the samples in the file's
   * integer input type (e.g. seanet `*_input0_int16.csv`), one per float sample; default: the float
   * samples quantized with the input's scale and zero point.
   */
  intInputs?: ArrayLike<number>[];
  /** run only the integer API (TF_HARNESS_INT_ONLY: the float API is not linked; outputs stay empty) */
  intOnly?: boolean;
}

export interface QemuRunResult extends McuRunResult {
  /** int8 programs: instructions per tf_model_run_int8 call (no quantize/dequantize) */
  instructionsInt8?: number[];
  /** flash of model.o alone (.text + .rodata + .data) */
  modelFlashBytes: number;
  /** .rodata of model.o (weights, biases, requantization tables) */
  modelRodataBytes: number;
  /** .rodata of the compiled-in test vectors (not part of a deployed model) */
  vectorBytes: number;
  /** TFLite programs: the integer API's outputs (file's output dtype) and instructions per call */
  outputsInt?: number[][];
  instructionsInt?: number[];
  uart: string;
}

interface BoardJson {
  cflags: string[];
  qemu: { binary: string; machine: string; args: string[] };
  sources: string[];
  linkerScript: string;
}

/** Repo root: the folder holding firmware/harness (works from source and from dist/). */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'firmware', 'harness', 'harness.c'))) return d;
    d = resolve(d, '..');
  }
  return fail('cannot find firmware/harness/harness.c above ' + fileURLToPath(import.meta.url));
}

/** The C file with the compiled-in test vectors (float samples, and their int8 quantization). */
export function testVectorsC(program: Program, inputs: Float32Array[], intInputs?: ArrayLike<number>[]): string {
  const q = quantizeInputs(program, inputs);
  let s = `#include "test_vectors.h"\n\nconst int32_t tf_test_count = ${inputs.length};\n`;
  const api = integerApi(program);
  if (api) {
    const iin = intInputs ?? inputs.map((x) => quantizeIntInput(program, x));
    const values = integerApiValues(api);
    if (iin.length !== inputs.length || iin.some((v) => v.length !== values)) fail(`integer inputs: ${inputs.length} samples of ${values} values expected`);
    const int = (v: number) => (v === -2147483648 ? '(-2147483647 - 1)' : String(v));
    // several inputs: one struct per sample with an array per input ({ { {in0...}, {in1...} } })
    const sample = (x: ArrayLike<number>) => {
      if (api.inputs.length === 1) return `{\n${cList(x, int)}\n}`;
      let o = 0;
      return `{ {\n${api.inputs.map((io) => `{\n${cList(Array.from(x).slice(o, (o += io.ref.length)), int)}\n}`).join(',\n')}\n} }`;
    };
    s += `#if TF_MODEL_INT\nconst tf_model_int_in_t tf_test_iin[${inputs.length}][TF_MODEL_INT_INPUT_SIZE] = {\n${iin.map(sample).join(',\n')}\n};\n#endif\n`;
  }
  s += `const float tf_test_in[${inputs.length}][TF_MODEL_INPUT_SIZE] = {\n${inputs.map((x) => `{\n${cList(x, cFloat, 6)}\n}`).join(',\n')}\n};\n`;
  if (q) s += `#if TF_MODEL_INT8\nconst int8_t tf_test_qin[${inputs.length}][TF_MODEL_INT8_INPUT_SIZE] = {\n${q.map((x) => `{\n${cList(x)}\n}`).join(',\n')}\n};\n#endif\n`;
  return s;
}

function sizeOf(text: string, sections: string[]): number {
  let n = 0;
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+\d+/.exec(line.trim());
    if (m && sections.includes(m[1])) n += Number(m[2]);
  }
  return n;
}

export async function runOnQemu(program: Program, inputs: Float32Array[], opts: QemuRunOptions = {}): Promise<QemuRunResult> {
  if (inputs.length === 0) fail('runOnQemu needs at least one input sample');
  const inSize = elementCount(program.input.shape);
  for (const x of inputs) if (x.length !== inSize) fail(`input has ${x.length} values, the model takes ${inSize}`);
  const root = repoRoot();
  const boardDir = join(root, 'targets', 'boards', BOARD);
  const harnessDir = join(root, 'firmware', 'harness');
  const board = JSON.parse(readFileSync(join(boardDir, 'board.json'), 'utf8')) as BoardJson;
  const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'tinyforge-qemu-'));
  try {
    mkdirSync(dir, { recursive: true });
    const src = emitC(program, { target: opts.emit ?? 'cortex-m4f', dspWeights: opts.dspWeights });
    writeFileSync(join(dir, 'model.h'), src['model.h']);
    writeFileSync(join(dir, 'model.c'), src['model.c']);
    writeFileSync(join(dir, 'test_vectors.c'), testVectorsC(program, inputs, opts.intInputs));

    const cflags = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off', '-ffunction-sections', '-fdata-sections',
      ...board.cflags, `-I${dir}`, `-I${harnessDir}`, `-I${boardDir}`, ...(opts.intOnly ? ['-DTF_HARNESS_INT_ONLY'] : []), ...(opts.cflags ?? [])];
    const units = [join(dir, 'model.c'), join(dir, 'test_vectors.c'), join(harnessDir, 'harness.c'), ...board.sources.map((f) => join(boardDir, f))];
    const objs: string[] = [];
    const gcc = async (args: string[]) => {
      try { await run('arm-none-eabi-gcc', args, { cwd: dir }); } catch (e) { fail(`arm-none-eabi-gcc failed: ${(e as { stderr?: string }).stderr ?? String(e)}`); }
    };
    await Promise.all(units.map((u, i) => {
      const o = join(dir, `u${i}.o`);
      objs.push(o);
      return gcc([...cflags, '-c', '-o', o, u]);
    }));
    const elf = join(dir, 'fw.elf');
    await gcc([...board.cflags, '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections', `-T${join(boardDir, board.linkerScript)}`,
      '-o', elf, ...objs, '-lm', '-lc', '-lgcc']);

    const { stdout: sizeText } = await run('arm-none-eabi-size', ['-A', elf]);
    const flashBytes = sizeOf(sizeText, ['.text', '.rodata', '.data', '.ARM.exidx']);
    const { stdout: modelSize } = await run('arm-none-eabi-size', ['-A', objs[0]]);
    const modelFlashBytes = modelSize.split('\n').reduce((n, line) => {
      const m = /^(\.(?:text|rodata|data)\S*)\s+(\d+)/.exec(line.trim());
      return m ? n + Number(m[2]) : n;
    }, 0);
    const rodata = (text: string) => text.split('\n').reduce((n, line) => {
      const m = /^(\.rodata\S*)\s+(\d+)/.exec(line.trim());
      return m ? n + Number(m[2]) : n;
    }, 0);
    const modelRodataBytes = rodata(modelSize);
    // the test vectors actually linked (the float ones are dropped with TF_HARNESS_INT_ONLY)
    const { stdout: syms } = await run('arm-none-eabi-nm', ['-S', elf]);
    const vectorBytes = syms.split('\n').reduce((n, line) => {
      const m = /^[0-9a-f]+ ([0-9a-f]+) \S (tf_test_(?:in|qin|iin))$/.exec(line.trim());
      return m ? n + parseInt(m[1], 16) : n;
    }, 0);

    let uart: string;
    try {
      const r = await run(board.qemu.binary, ['-M', board.qemu.machine, ...board.qemu.args, '-kernel', elf],
        { cwd: dir, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 28 });
      uart = r.stdout;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number; killed?: boolean };
      fail(`QEMU run failed (${err.killed ? 'timeout' : `exit ${err.code}`}): ${(err.stdout ?? '').slice(-2000)}${err.stderr ?? ''}`);
    }
    const lines = uart.split(/\r?\n/);
    if (!lines.some((l) => l.startsWith('TF END'))) fail(`firmware did not finish: ${uart.slice(-2000)}`);
    const num = (tag: string) => Number(lines.find((l) => l.startsWith(tag))?.slice(tag.length).trim() ?? NaN);
    const instructions = lines.filter((l) => l.startsWith('I ')).map((l) => Number(l.slice(2)));
    const instructionsInt8 = lines.filter((l) => l.startsWith('J ')).map((l) => Number(l.slice(2)));
    const api = integerApi(program);
    let res: ReturnType<typeof parseOutputLines> = { outputs: [] };
    let outputsInt: number[][] | undefined;
    if (api) {
      outputsInt = lines.filter((l) => l.startsWith('Q')).map((l) => l.trim().split(/\s+/).slice(1).map(Number));
      if (outputsInt.length !== inputs.length || outputsInt.some((o) => o.length !== api.output.length)) fail(`firmware returned ${outputsInt.length} of ${inputs.length} integer outputs`);
      if (!opts.intOnly) {
        const o = parseOutputLines(lines.filter((l) => !l.startsWith('Q')), { ...program, quant: 'float32' }, inputs.length);
        res = { outputs: o.outputs, ...(api.output.dtype === 'int8' ? { outputsQ: outputsInt.map((v) => Int8Array.from(v)) } : {}) };
      }
    } else res = parseOutputLines(lines, program, inputs.length);
    const arenaBytes = Number(/#define TF_MODEL_ARENA_BYTES (\d+)/.exec(src['model.h'])![1]);
    const stackBytes = num('TF STACK ');
    return {
      ...res, instructions, ...(instructionsInt8.length ? (api ? { instructionsInt: instructionsInt8 } : { instructionsInt8 }) : {}),
      ...(outputsInt ? { outputsInt } : {}), modelRodataBytes, vectorBytes,
      flashBytes, modelFlashBytes, arenaBytes, stackBytes, ramBytes: arenaBytes + stackBytes, uart,
    };
  } finally {
    if (!opts.workDir) rmSync(dir, { recursive: true, force: true });
  }
}
