/**
 * Runs a generated C controller over a measurement/reference sequence: on the host (gcc) or on the emulated
 * Cortex-M4F board (QEMU mps2-an386, the board folder of targets/boards used read-only), with the fixed-rate
 * loop of firmware/mpc/mpc_loop.c. Returns the controls bit-exactly, and on QEMU instructions per step.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fail } from '../errors.js';
import { packageRoot } from '../paths.js';
import { cFloat, cList } from '../backends/c/cformat.js';
import { emitMpcC } from './c.js';
import type { MpcPlan } from './spec.js';

const run = promisify(execFile);
const BOARD = 'mps2-an386';
export const MPC_CFLAGS = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off', '-fno-math-errno', '-ffunction-sections', '-fdata-sections'];

export interface MpcSequence { measurements: ArrayLike<number>[]; references: ArrayLike<number>[] }

export interface MpcCRun {
  u: Float32Array[];
  status: number[];
  /** QEMU only */
  instructions?: number[];
  overruns?: number;
  stackBytes?: number;
  /** QEMU only: flash of mpc.o (.text + .rodata + .data) and of the whole firmware */
  controllerFlashBytes?: number;
  firmwareFlashBytes?: number;
  uart: string;
}

export function sequenceC(plan: MpcPlan, seq: MpcSequence): string {
  const T = seq.measurements.length;
  if (T === 0 || seq.references.length !== T) fail('the MPC sequence needs as many references as measurements (at least one)');
  const rows = (a: ArrayLike<number>[], n: number, what: string) => a.map((v, t) => {
    if (v.length !== n) fail(`${what}[${t}] has ${v.length} values, expected ${n}`);
    return `  {\n${cList(v, cFloat, 6)}\n  }`;
  }).join(',\n');
  return `#include "mpc_sequence.h"\n\nconst int32_t mpc_seq_count = ${T};\n`
    + `const float mpc_seq_measurement[${T}][MPC_MEASUREMENT_SIZE] = {\n${rows(seq.measurements, plan.p + plan.s, 'measurement')}\n};\n`
    + `const float mpc_seq_reference[${T}][MPC_REFERENCE_SIZE] = {\n${rows(seq.references, plan.refSize, 'reference')}\n};\n`;
}

function parse(uart: string, plan: MpcPlan, T: number): MpcCRun {
  const lines = uart.split(/\r?\n/);
  if (!lines.some((l) => l.startsWith('MPC END'))) fail(`controller firmware did not finish: ${uart.slice(-1500)}`);
  const u: Float32Array[] = [], status: number[] = [], instructions: number[] = [];
  const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
  for (const l of lines) {
    if (l.startsWith('U')) {
      const v = l.slice(1).trim().split(/\s+/).map((h) => { bits[0] = parseInt(h, 16); return f[0]; });
      u.push(Float32Array.from(v));
    } else if (l.startsWith('S ')) status.push(Number(l.slice(2)));
    else if (l.startsWith('I ')) instructions.push(Number(l.slice(2)));
  }
  if (u.length !== T || u.some((x) => x.length !== plan.m)) fail(`controller firmware reported ${u.length} steps, expected ${T}`);
  const num = (tag: string) => { const l = lines.find((x) => x.startsWith(tag)); return l ? Number(l.slice(tag.length).trim()) : undefined; };
  return { u, status, instructions, overruns: num('MPC OVERRUNS '), stackBytes: num('MPC STACK '), uart };
}

/** Writes mpc.h/mpc.c (+ model.h/model.c for int8 forward models); returns the controller's C units. */
export function writeControllerSources(dir: string, plan: MpcPlan, target: 'c' | 'cortex-m4f'): string[] {
  const src = emitMpcC(plan, target);
  const units: string[] = [];
  for (const [name, text] of Object.entries(src)) {
    writeFileSync(join(dir, name), text);
    if (name.endsWith('.c')) units.push(join(dir, name));
  }
  return units;
}

function writeSources(dir: string, plan: MpcPlan, seq: MpcSequence, target: 'c' | 'cortex-m4f'): string[] {
  const units = writeControllerSources(dir, plan, target);
  writeFileSync(join(dir, 'mpc_sequence.c'), sequenceC(plan, seq));
  const fw = join(packageRoot(), 'firmware', 'mpc');
  return [...units, join(dir, 'mpc_sequence.c'), join(fw, 'mpc_loop.c')];
}

/** Flash of the controller (+ its int8 model) after --gc-sections: the surviving mpc_* and tf_* symbols. */
export function controllerFlash(nm: string): number {
  let bytes = 0;
  for (const line of nm.split('\n')) {
    const m = /^[0-9a-f]+\s+([0-9a-f]+)\s+([tTrRdD])\s+((?:mpc|tf)_\w+)/.exec(line.trim());
    if (m && !m[3].startsWith('mpc_seq_') && !m[3].startsWith('mpc_hil_')) bytes += parseInt(m[1], 16);
  }
  return bytes;
}

export async function tool(cmd: string, args: string[], cwd: string): Promise<string> {
  try { return (await run(cmd, args, { cwd, maxBuffer: 1 << 28, timeout: 120_000 })).stdout; } catch (e) { return fail(`${cmd} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`); }
}

export async function runMpcOnHost(plan: MpcPlan, seq: MpcSequence, workDir?: string): Promise<MpcCRun> {
  const dir = workDir ?? mkdtempSync(join(tmpdir(), 'tinyforge-mpc-host-'));
  try {
    mkdirSync(dir, { recursive: true });
    const units = writeSources(dir, plan, seq, 'c');
    const exe = join(dir, 'mpc_host');
    await tool('gcc', [...MPC_CFLAGS, '-DMPC_HOST', `-I${dir}`, `-I${join(packageRoot(), 'firmware', 'mpc')}`, `-I${join(packageRoot(), 'firmware', 'harness')}`, '-o', exe, ...units, '-lm'], dir);
    const out = await tool(exe, [], dir);
    return parse(out, plan, seq.measurements.length);
  } finally {
    if (!workDir) rmSync(dir, { recursive: true, force: true });
  }
}

export function sizeSum(text: string, re: RegExp): number {
  let n = 0;
  for (const line of text.split('\n')) { const m = re.exec(line.trim()); if (m) n += Number(m[2]); }
  return n;
}

export async function runMpcOnQemu(plan: MpcPlan, seq: MpcSequence, opts: { workDir?: string; timeoutMs?: number } = {}): Promise<MpcCRun> {
  const root = packageRoot();
  const boardDir = join(root, 'targets', 'boards', BOARD);
  const board = JSON.parse(readFileSync(join(boardDir, 'board.json'), 'utf8')) as { cflags: string[]; qemu: { binary: string; machine: string; args: string[] }; sources: string[]; linkerScript: string };
  if (!existsSync(join(root, 'firmware', 'harness', 'board.h'))) fail('firmware/harness/board.h is missing');
  const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'tinyforge-mpc-qemu-'));
  try {
    mkdirSync(dir, { recursive: true });
    const units = [...writeSources(dir, plan, seq, 'cortex-m4f'), ...board.sources.map((f) => join(boardDir, f))];
    const cflags = [...MPC_CFLAGS, ...board.cflags, `-I${dir}`, `-I${join(root, 'firmware', 'mpc')}`, `-I${join(root, 'firmware', 'harness')}`, `-I${boardDir}`];
    const objs = units.map((_, i) => join(dir, `u${i}.o`));
    await Promise.all(units.map((u, i) => tool('arm-none-eabi-gcc', [...cflags, '-c', '-o', objs[i], u], dir)));
    const elf = join(dir, 'mpc.elf');
    await tool('arm-none-eabi-gcc', [...board.cflags, '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections', `-T${join(boardDir, board.linkerScript)}`,
      '-o', elf, ...objs, '-lc', '-lm', '-lgcc'], dir);
    // the controller's flash after --gc-sections: mpc.o's sections that survive in the ELF (symbols prefixed mpc_)
    const nm = await tool('arm-none-eabi-nm', ['-S', '--size-sort', elf], dir);
    const controllerFlashBytes = controllerFlash(nm);
    const sizeText = await tool('arm-none-eabi-size', ['-A', elf], dir);
    const firmwareFlashBytes = sizeSum(sizeText, /^(\.text|\.rodata|\.data|\.ARM\.exidx)\s+(\d+)/);
    let uart: string;
    try {
      const r = await run(board.qemu.binary, ['-M', board.qemu.machine, ...board.qemu.args, '-kernel', elf], { cwd: dir, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 1 << 28 });
      uart = r.stdout;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number; killed?: boolean };
      return fail(`QEMU run failed (${err.killed ? 'timeout' : `exit ${err.code}`}): ${(err.stdout ?? '').slice(-1500)}${err.stderr ?? ''}`);
    }
    return { ...parse(uart, plan, seq.measurements.length), controllerFlashBytes, firmwareFlashBytes };
  } finally {
    if (!opts.workDir) rmSync(dir, { recursive: true, force: true });
  }
}
