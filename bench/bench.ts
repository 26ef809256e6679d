/**
 * `npm run bench` / `tinyforge bench`: per model, side by side in one run —
 *  - WASM (Node, 1 thread) median latency, int8 and float32, and the TS reference interpreter as a baseline;
 *  - emulated Cortex-M4F (QEMU mps2-an386, -icount shift=0): instructions per inference and per MAC,
 *    portable C vs the DSP (__SMLAD) path; flash (.text+.rodata+.data) and RAM (arena + peak stack);
 *  - compile time.
 * Writes bench/results.json and prints a Markdown table.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModel } from '../compiler/compile.js';
import { executeProgram } from '../compiler/exec/program.js';
import { readSamples } from '../compiler/io/samples.js';
import { packageRoot } from '../compiler/paths.js';
import type { Program } from '../compiler/plan/program.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { load } from '../runtime/index.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';
import { HELLO_WORLD_SHAPE, PROOF_MODELS, writeCalib, writeMlp } from './models.js';

export interface BenchRow {
  model: string;
  parameters: number;
  macs: number;
  wasmInt8Us: number;
  wasmF32Us: number;
  jsReferenceUs: number;
  wasmInt8Bytes: number;
  m4fInstrDsp: number;
  /** the int8 API alone (no float quantize/dequantize): what TFLite Micro's int8 Invoke() measures */
  m4fInstrInt8Api: number;
  m4fInstrPortable: number;
  m4fInstrPerMacDsp: number;
  m4fInstrF32: number;
  flashBytes: number;
  ramBytes: number;
  arenaBytes: number;
  stackBytes: number;
  compileMsInt8: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median microseconds per call, timing batches so the clock's resolution does not dominate. */
function timeMedianUs(fn: () => void, budgetMs = 400): number {
  for (let i = 0; i < 20; i++) fn();
  let per = 1;
  for (;;) { const t = performance.now(); for (let i = 0; i < per; i++) fn(); if (performance.now() - t > 2 || per > 1e5) break; per *= 2; }
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || samples.length < 15) {
    const t = performance.now();
    for (let i = 0; i < per; i++) fn();
    samples.push(((performance.now() - t) * 1000) / per);
  }
  return median(samples);
}

async function wasmLatency(program: Program, x: Float32Array): Promise<{ us: number; bytes: number }> {
  const bytes = await emitWasm(program);
  const m = await load(bytes);
  const feeds = { [program.input.name]: x };
  return { us: timeMedianUs(() => m.run(feeds)), bytes: bytes.byteLength };
}

export async function runBench(log: (s: string) => void = console.log): Promise<BenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'tf-bench-'));
  const models: Array<{ name: string; dir: string; calib: string }> = [
    { name: 'forward-model (example)', dir: join(packageRoot(), 'examples', 'forward-model'), calib: join(packageRoot(), 'examples', 'forward-model', 'calib.safetensors') },
    ...Object.entries({ ...PROOF_MODELS, hello16: HELLO_WORLD_SHAPE }).map(([name, spec]) => ({
      name, dir: writeMlp(join(root, name), spec), calib: writeCalib(join(root, `${name}.calib.safetensors`), 64, spec.inputSize),
    })),
  ];
  const rows: BenchRow[] = [];
  for (const m of models) {
    log(`bench: ${m.name}`);
    const int8 = await compileModel(m.dir, { target: 'cortex-m4f', quant: 'int8', out: join(root, 'out', m.name, 'int8'), calib: m.calib });
    const f32 = await compileModel(m.dir, { target: 'c', quant: 'float32', out: join(root, 'out', m.name, 'f32'), calib: m.calib });
    const x = readSamples(m.calib, int8.program.input.name, int8.program.input.shape)[0];
    const w8 = await wasmLatency(int8.program, x);
    const wf = await wasmLatency(f32.program, x);
    const jsUs = timeMedianUs(() => executeProgram(f32.program, x), 200);
    const inputs = [x];
    const dsp = await runOnQemu(int8.program, inputs, { emit: 'cortex-m4f' });
    const portable = await runOnQemu(int8.program, inputs, { emit: 'c' });
    const fl = await runOnQemu(f32.program, inputs, { emit: 'cortex-m4f' });
    const instr = (r: { instructions: number[] }) => median(r.instructions);
    rows.push({
      model: m.name, parameters: int8.report.parameters, macs: int8.report.macs,
      wasmInt8Us: w8.us, wasmF32Us: wf.us, jsReferenceUs: jsUs, wasmInt8Bytes: w8.bytes,
      m4fInstrDsp: instr(dsp), m4fInstrInt8Api: median(dsp.instructionsInt8 ?? []), m4fInstrPortable: instr(portable), m4fInstrPerMacDsp: instr(dsp) / int8.report.macs, m4fInstrF32: instr(fl),
      flashBytes: dsp.flashBytes, ramBytes: dsp.ramBytes, arenaBytes: dsp.arenaBytes, stackBytes: dsp.stackBytes,
      compileMsInt8: int8.report.compileMs,
    });
  }
  return rows;
}

export function formatBench(rows: BenchRow[]): string {
  const head = '| model | params | MACs | WASM int8 median µs | WASM f32 median µs | JS reference f32 µs | .wasm bytes (int8) | M4F instr/inference int8 DSP | per MAC | int8 API only | portable C | f32 | flash bytes | RAM bytes (arena + stack) | compile ms |';
  const sep = '|' + head.split('|').slice(1, -1).map(() => '---').join('|') + '|';
  const lines = rows.map((r) => `| ${r.model} | ${r.parameters} | ${r.macs} | ${r.wasmInt8Us.toFixed(2)} | ${r.wasmF32Us.toFixed(2)} | ${r.jsReferenceUs.toFixed(1)} | ${r.wasmInt8Bytes} | ${r.m4fInstrDsp} | ${r.m4fInstrPerMacDsp.toFixed(3)} | ${r.m4fInstrInt8Api} | ${r.m4fInstrPortable} | ${r.m4fInstrF32} | ${r.flashBytes} | ${r.ramBytes} (${r.arenaBytes} + ${r.stackBytes}) | ${r.compileMsInt8} |`);
  return [head, sep, ...lines].join('\n');
}

