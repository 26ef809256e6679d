/**
 * The compile pipeline: import -> graph IR -> (calibrate + quantize) -> lower + plan memory -> backend,
 * writing a compiled folder:
 *   tinyforge.json       manifest (model, target, quant, IO, sizes, quantization report)
 *   program.safetensors  the lowered program (any backend can be regenerated from it)
 *   check.safetensors    check vectors: `input` [N, ...], expected `output` (and `output_q` for int8)
 *   model.wasm           target wasm
 *   model.c, model.h     targets c and cortex-m4f
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from './errors.js';
import { executeProgram } from './exec/program.js';
import { importCheckpoint } from './frontends/index.js';
import { matformerMeta } from './frontends/matformer-bert.js';
import {
  applySubmodel, importMatformerCheckpoint, matformerMacs, matformerParameterCount, packForLowering, packingOf, readPackedSamples,
  syntheticMatformerSamples, type Packing, type SubmodelChoice,
} from './passes/matformer.js';
import { readSamples } from './io/samples.js';
import { samplesFromCsv } from './io/csv.js';
import { readSafetensors, toFloat32, writeSafetensors } from './io/safetensors.js';
import { macCount, parameterCount, type Graph } from './ir/graph.js';
import { runReference } from './ir/reference.js';
import { lowerFloat, lowerInt8 } from './plan/lower.js';
import { lowerQuantizedGraph, runQuantizedProgram, type QuantizedProgram } from './plan/lower-quantized.js';
import { checkRamBudget, type RamEstimate } from './backends/c/ram.js';
import type { Program } from './plan/program.js';
import { serializeProgram } from './plan/serialize.js';
import { calibrate, type CalibMethod } from './quant/calibrate.js';
import { quantizationErrors, type LayerError } from './quant/report.js';
import { TARGET_NAMES, type TargetName } from '../targets/index.js';

/** int4 = int4 weights (packed two per byte) with int8 activations */
export type QuantMode = 'float32' | 'int8' | 'int4';
export const QUANT_MODES: readonly QuantMode[] = ['float32', 'int8', 'int4'];

export interface CompileOptions {
  target: TargetName;
  /** default float32; TensorFlow Lite files keep the file's own quantization (no --quant) */
  quant?: QuantMode;
  /** RAM budget in bytes (targets c and cortex-m4f): arena + stack bound must fit, checked before anything is written */
  ramBytes?: number;
  out: string;
  /** calibration set (safetensors, tensor named like the model input, [N, ...]) */
  calib?: string;
  calibMethod?: CalibMethod;
  percentile?: number;
  onCalibProgress?: (done: number, total: number) => void;
  /** MatFormer checkpoints: `uniform:M`, `mix:M1,M2,...` or `budget:flash=..,ram=..[,macs=..]` */
  submodel?: string;
  /** MatFormer checkpoints: tokens per sequence (default: the calibration file's, else the model's maximum) */
  sequenceLength?: number;
}

/** What a MatFormer compile records: the sub-model and how the HF inputs/outputs map to the program. */
export interface MatformerReport {
  family: 'bert' | 'olmo';
  granularities: number[];
  /** FFN width per layer of the compiled (sub-)model */
  widths: number[];
  /** `compile --submodel`: the spec as given and what it resolved to, with the predicted int8 sizes */
  submodel?: { request: string; spec: string; widths: number[]; parameters: number; macs: number; predictedFlashBytes: number; predictedRamBytes: number; candidates?: number };
  /** program input = inputs [inputNames.length, tokens]; program output = the outputs concatenated */
  packing: Packing;
}

export interface CompileReport {
  tool: 'tinyforge';
  model: string;
  modelType: string;
  source: string;
  target: TargetName;
  /** TensorFlow Lite files: the file's quantization (int8, int16x8, float32, mixed) */
  quant: QuantMode | QuantizedProgram['quant'];
  input: Program['input'];
  output: Program['output'];
  parameters: number;
  macs: number;
  arenaBytes: number;
  weightBytes: number;
  calibration?: { file: string; method: CalibMethod; percentile?: number; samples: number; layers: LayerError[]; outputMaxAbsError: number };
  /** forecasters calibrated on a file that also holds `future_values`: MSE against the truth */
  forecast?: { samples: number; mseFloat: number; mseCompiled: number; ratio: number };
  /** MatFormer checkpoints */
  matformer?: MatformerReport;
  /** TensorFlow Lite files: the file's own IO tensors (the integer CSVs `tinyforge run` reads and writes) */
  tflite?: { inputs: TfliteIoReport[]; outputs: TfliteIoReport[] };
  /** `--ram`: the budget and the estimate it was checked against */
  ram?: RamEstimate & { budgetBytes: number };
  files: string[];
  compileMs: number;
}

export interface TfliteIoReport { name: string; shape: number[]; dtype: string; scale: number; zeroPoint: number }

/** `--ram` sizes: a byte count with an optional k/K (1024) or m/M (1024²) suffix, e.g. `96k`. */
export function parseByteSize(text: string | number, flag = '--ram'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)[bB]?\s*$/.exec(String(text));
  const v = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]) ? 1024 : 1024 * 1024) : NaN;
  if (!Number.isInteger(v) || v <= 0) fail(`${flag} ${text}: expected a positive number of bytes, optionally with k (1024) or M (1024²), e.g. 96k`);
  return v;
}

/** Bytes of constant data (weights, biases, multipliers, tables) a program carries. */
export function weightBytes(p: Program): number {
  let n = 0;
  for (const s of p.steps) for (const v of Object.values(s)) if (ArrayBuffer.isView(v)) n += (v as Int8Array).byteLength;
  return n;
}

/** `future_values` [N, ...output shape] from the calibration file, when present and matching. */
function readFuture(file: string, outShape: number[], count: number): Float32Array[] | undefined {
  const t = readSafetensors(file).tensors.get('future_values');
  if (!t || t.shape.length !== outShape.length + 1 || t.shape.slice(1).join(',') !== outShape.join(',') || t.shape[0] !== count) return undefined;
  const all = toFloat32(t, 'future_values', file), per = all.length / count;
  return Array.from({ length: count }, (_, i) => all.slice(i * per, (i + 1) * per));
}

/** Deterministic inputs in [-1, 1) for check vectors when no calibration set is given. */
function syntheticSamples(count: number, length: number): Float32Array[] {
  let s = 0x9e3779b9;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 31 - 1; };
  return Array.from({ length: count }, () => Float32Array.from({ length }, next));
}

export function buildProgram(g: Graph, quant: QuantMode, samples: Float32Array[], opts: Pick<CompileOptions, 'calibMethod' | 'percentile' | 'onCalibProgress'> = {}) {
  if (quant === 'float32') return { program: lowerFloat(g) };
  const method = opts.calibMethod ?? 'minmax';
  const calib = calibrate(g, samples, { method, percentile: opts.percentile ?? 99.99, onProgress: opts.onCalibProgress });
  const program = lowerInt8(g, calib, quant === 'int4' ? 4 : 8);
  return { program, calib, layers: quantizationErrors(g, program, calib, samples) };
}

/** The calibration file's tokens per sample (its input_ids [N, T]), if it has that tensor. */
function calibTokens(file: string, name: string): number | undefined {
  const t = readSafetensors(file).tensors.get(name);
  return t && t.shape.length === 2 ? t.shape[1] : undefined;
}

/**
 * MatFormer checkpoints: import for the sequence length, extract the sub-model, pack the multi-input /
 * multi-output graph into the single-input / single-output form the lowering takes, and read the
 * calibration set by the HF input names (readPackedSamples).
 */
function prepareMatformer(modelPath: string, imported: Graph, opts: CompileOptions) {
  const meta0 = matformerMeta(imported)!;
  if (opts.calib && /\.csv$/i.test(opts.calib)) fail(`${opts.calib}: MatFormer models calibrate on a safetensors file holding ${meta0.inputNames.join(', ')} as [N, tokens]; CSV is not supported`);
  const T = opts.sequenceLength ?? (opts.calib ? calibTokens(opts.calib, meta0.inputNames[0]) : undefined);
  let full = T === undefined || T === meta0.sequenceLength ? imported : importMatformerCheckpoint(modelPath, { sequenceLength: T });
  let submodel: MatformerReport['submodel'];
  if (opts.submodel !== undefined) {
    const { graph, choice } = applySubmodel(full, opts.submodel);
    full = graph;
    submodel = submodelSummary(opts.submodel, choice);
  }
  const meta = matformerMeta(full)!;
  const packed = packForLowering(full, { int8: opts.quant !== 'float32' });
  let samples: Float32Array[];
  if (opts.calib) samples = readPackedSamples(opts.calib, full);
  else if (opts.quant !== 'float32') fail(`${modelPath}: --quant ${opts.quant} needs calibration data; pass --calib data.safetensors with ${meta.inputNames.map((n) => `'${n}'`).join(', ')} of shape [N, ${meta.sequenceLength}]`);
  else samples = syntheticMatformerSamples(full, 4);
  const report: MatformerReport = { family: meta.family, granularities: meta.granularities, widths: meta.widths, ...(submodel ? { submodel } : {}), packing: packingOf(packed) };
  return { graph: full, packed, samples, report };
}

function submodelSummary(request: string, c: SubmodelChoice): NonNullable<MatformerReport['submodel']> {
  return {
    request, spec: c.spec, widths: c.widths, parameters: c.parameters, macs: c.macs, predictedFlashBytes: c.flashBytes, predictedRamBytes: c.ramBytes,
    ...(c.candidates !== undefined ? { candidates: c.candidates } : {}),
  };
}

/** Integer-valued check inputs in the file's input dtypes (a quarter of each range), deterministic. */
function syntheticTfliteFeeds(p: QuantizedProgram, count: number): number[][][] {
  let s = 0x2545f491;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
  return Array.from({ length: count }, () => p.inputs.map((io) => {
    const n = io.shape.reduce((a, b) => a * b, 1);
    if (io.dtype === 'float32') return Array.from({ length: n }, () => Math.fround(2 * next() - 1));
    const [lo, hi] = io.dtype === 'int8' ? [-128, 127] : io.dtype === 'int16' ? [-32768, 32767] : [-(2 ** 31), 2 ** 31 - 1];
    const half = io.dtype === 'int8' ? 32 : io.dtype === 'int16' ? 8192 : 1 << 20;
    return Array.from({ length: n }, () => Math.min(hi, Math.max(lo, Math.round((2 * next() - 1) * half) + io.zeroPoint)));
  }));
}

/** The float32 value of a file-dtype tensor: (q - zp) * scale in float32 (float tensors unchanged). */
export function dequantizeFeed(io: QuantizedProgram['inputs'][number], q: ArrayLike<number>): Float32Array {
  if (io.dtype === 'float32') return Float32Array.from(q);
  const f = Math.fround, s = f(io.scale);
  return Float32Array.from(q, (v) => f((v - io.zeroPoint) * s));
}

/** `compile model.tflite`: the file's quantization, check vectors in both the float and the file's integer form. */
async function compileTflite(modelPath: string, g: Graph, opts: CompileOptions, t0: number): Promise<{ program: Program; graph: Graph; report: CompileReport }> {
  if (opts.quant !== undefined) fail(`${modelPath}: --quant does not apply to TensorFlow Lite files (the file's quantization is kept); drop --quant`);
  if (opts.calib !== undefined) fail(`${modelPath}: --calib does not apply to TensorFlow Lite files (the file carries its quantization); drop --calib`);
  if (opts.submodel !== undefined || opts.sequenceLength !== undefined) fail(`${modelPath}: --submodel and --sequence-length apply to MatFormer checkpoints only; this is a TensorFlow Lite file`);
  const qp = lowerQuantizedGraph(g);
  const program = qp as unknown as Program;
  const ram = ramCheck(program, opts);
  const feeds = syntheticTfliteFeeds(qp, 4);
  const floats = feeds.map((f) => {
    const parts = qp.inputs.map((io, k) => dequantizeFeed(io, f[k]));
    const x = new Float32Array(parts.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const pt of parts) { x.set(pt, o); o += pt.length; }
    return x;
  });
  const results = floats.map((x) => executeProgram(program, x));
  const ints = feeds.map((f) => runQuantizedProgram(qp, f));
  // backends first: nothing is written when one of them refuses the program
  const outBuf: { name: string; data: Uint8Array }[] = [];
  if (opts.target === 'wasm') {
    const { emitWasm } = await import('./backends/wasm/index.js');
    outBuf.push({ name: 'model.wasm', data: await emitWasm(program) });
  } else {
    const { emitC } = await import('./backends/c/index.js');
    const c = emitC(program, { target: opts.target });
    outBuf.push({ name: 'model.h', data: Buffer.from(c['model.h']) }, { name: 'model.c', data: Buffer.from(c['model.c']) });
  }

  mkdirSync(opts.out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => { writeFileSync(join(opts.out, name), data); files.push(name); };
  write('program.safetensors', serializeProgram(program));
  const N = feeds.length, inLen = floats[0].length, outLen = results[0].output.length;
  const cat = <T extends Float32Array | Int8Array | Int32Array>(arrs: ArrayLike<number>[], C: new (n: number) => T, len: number) => { const o = new C(arrs.length * len); arrs.forEach((a, i) => o.set(a, i * len)); return o; };
  const check: Parameters<typeof writeSafetensors>[1] = {
    input: { dtype: 'F32', shape: [N, ...program.input.shape], data: cat(floats, Float32Array, inLen) },
    output: { dtype: 'F32', shape: [N, ...program.output.shape], data: cat(results.map((r) => r.output), Float32Array, outLen) },
  };
  if (program.int8Output) check.output_q = { dtype: 'I8', shape: [N, ...program.output.shape], data: cat(results.map((r) => r.outputQ!), Int8Array, outLen) };
  qp.inputs.forEach((io, k) => {
    if (io.dtype !== 'float32') check[`input_int${k}`] = { dtype: 'I32', shape: [N, ...io.shape], data: cat(feeds.map((f) => f[k]), Int32Array, f32len(io.shape)) };
  });
  const o0 = qp.outputs[0];
  if (o0.dtype !== 'float32') check.output_int = { dtype: 'I32', shape: [N, ...o0.shape], data: cat(ints, Int32Array, f32len(o0.shape)) };
  writeSafetensors(join(opts.out, 'check.safetensors'), check);
  files.push('check.safetensors');
  for (const b of outBuf) write(b.name, b.data);

  const io = (x: QuantizedProgram['inputs'][number]): TfliteIoReport => ({ name: x.name, shape: x.shape, dtype: x.dtype, scale: x.scale, zeroPoint: x.zeroPoint });
  const report: CompileReport = {
    tool: 'tinyforge', model: g.name, modelType: g.modelType, source: modelPath, target: opts.target, quant: qp.quant,
    input: program.input, output: program.output, parameters: parameterCount(g), macs: safeMacs(g),
    arenaBytes: program.arenaBytes, weightBytes: weightBytes(program),
    tflite: { inputs: qp.inputs.map(io), outputs: qp.outputs.map(io) },
    ...(ram ? { ram } : {}), files: [...files, 'tinyforge.json'], compileMs: Math.round(performance.now() - t0),
  };
  write('tinyforge.json', JSON.stringify(report, null, 2) + '\n');
  return { program, graph: g, report };
}

const f32len = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function safeMacs(g: Graph): number {
  try { return macCount(g); } catch { return 0; }
}

/** `--ram`: C targets only; fails (one line, exit 2) before anything is written when the program does not fit. */
function ramCheck(program: Program, opts: CompileOptions): (RamEstimate & { budgetBytes: number }) | undefined {
  if (opts.ramBytes === undefined) return undefined;
  if (opts.target === 'wasm') fail(`--ram applies to --target c and cortex-m4f (a microcontroller's RAM); drop it for --target wasm`);
  return { budgetBytes: opts.ramBytes, ...checkRamBudget(program, opts.ramBytes) };
}

export async function compileModel(modelPath: string, opts: CompileOptions): Promise<{ program: Program; graph: Graph; report: CompileReport }> {
  const t0 = performance.now();
  if (!TARGET_NAMES.includes(opts.target)) fail(`unknown target '${opts.target}' (supported: ${TARGET_NAMES.join(', ')})`);
  if (opts.quant !== undefined && !QUANT_MODES.includes(opts.quant)) fail(`unknown quantization '${opts.quant}' (supported: ${QUANT_MODES.join(', ')})`);
  const imported = importCheckpoint(modelPath);
  if (imported.meta?.tflite) return compileTflite(modelPath, imported, opts, t0);
  opts = { ...opts, quant: opts.quant ?? 'float32' };
  const quant: QuantMode = opts.quant ?? 'float32';
  const mat = matformerMeta(imported) ? prepareMatformer(modelPath, imported, opts) : undefined;
  if (!mat && opts.submodel !== undefined) fail(`${modelPath}: --submodel needs a MatFormer checkpoint ("matformer": {"granularities": [...]} in config.json); this is a ${imported.modelType} model`);
  if (!mat && opts.sequenceLength !== undefined) fail(`${modelPath}: --sequence-length applies to MatFormer checkpoints only; this is a ${imported.modelType} model`);
  const g = mat ? mat.packed : imported;
  const input = g.inputs[0];
  let samples: Float32Array[];
  if (mat) samples = mat.samples;
  else if (opts.calib) samples = /\.csv$/i.test(opts.calib) ? samplesFromCsv(opts.calib, input.shape) : readSamples(opts.calib, input.name, input.shape);
  else if (opts.quant !== 'float32') fail(`${modelPath}: --quant ${opts.quant} needs calibration data; pass --calib data.safetensors with a tensor '${input.name}' of shape [N, ${input.shape.join(', ')}]`);
  else samples = syntheticSamples(8, input.shape.reduce((a, b) => a * b, 1));
  const built = buildProgram(g, quant, samples, opts);
  const program = built.program;
  const ram = ramCheck(program, opts);

  mkdirSync(opts.out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => { writeFileSync(join(opts.out, name), data); files.push(name); };
  write('program.safetensors', serializeProgram(program));

  // Check vectors: a few samples with the oracle's outputs (targets must reproduce them).
  const check = samples.slice(0, 8);
  const results = check.map((x) => executeProgram(program, x));
  const outLen = results[0].output.length, inLen = check[0].length;
  const cat = <T extends Float32Array | Int8Array>(arrs: T[], C: new (n: number) => T, len: number) => { const o = new C(arrs.length * len); arrs.forEach((a, i) => o.set(a, i * len)); return o; };
  const checkTensors: Parameters<typeof writeSafetensors>[1] = {
    input: { dtype: 'F32', shape: [check.length, ...input.shape], data: cat(check, Float32Array, inLen) },
    output: { dtype: 'F32', shape: [check.length, ...program.output.shape], data: cat(results.map((r) => r.output), Float32Array, outLen) },
  };
  if (program.int8Output) checkTensors.output_q = { dtype: 'I8', shape: [check.length, ...program.output.shape], data: cat(results.map((r) => r.outputQ!), Int8Array, outLen) };
  writeSafetensors(join(opts.out, 'check.safetensors'), checkTensors);
  files.push('check.safetensors');

  // Backends load lazily: the wasm one pulls in binaryen.
  if (opts.target === 'wasm') {
    const { emitWasm } = await import('./backends/wasm/index.js');
    write('model.wasm', await emitWasm(program, mat ? { packing: mat.report.packing } : {}));
  } else {
    const { emitC } = await import('./backends/c/index.js');
    const c = emitC(program, { target: opts.target });
    write('model.h', c['model.h']);
    write('model.c', c['model.c']);
  }

  let calibration: CompileReport['calibration'];
  if (built.calib && opts.calib) {
    let maxErr = 0;
    samples.forEach((x) => {
      const ref = runReference(g, x), got = executeProgram(program, x).output;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ref[i] - got[i]));
    });
    const method = opts.calibMethod ?? 'minmax';
    calibration = { file: opts.calib, method, ...(method === 'percentile' ? { percentile: opts.percentile ?? 99.99 } : {}), samples: samples.length, layers: built.layers!, outputMaxAbsError: maxErr };
  }
  let forecast: CompileReport['forecast'];
  const truth = opts.calib ? readFuture(opts.calib, program.output.shape, samples.length) : undefined;
  if (truth) {
    let eF = 0, eQ = 0;
    const per = truth[0].length;
    samples.forEach((x, i) => {
      const ref = runReference(g, x), got = executeProgram(program, x).output;
      for (let k = 0; k < per; k++) { eF += (ref[k] - truth[i][k]) ** 2; eQ += (got[k] - truth[i][k]) ** 2; }
    });
    const n = samples.length * per;
    forecast = { samples: samples.length, mseFloat: eF / n, mseCompiled: eQ / n, ratio: eQ / eF };
  }
  const report: CompileReport = {
    tool: 'tinyforge', model: g.name, modelType: g.modelType, source: modelPath, target: opts.target, quant,
    input: program.input, output: program.output,
    parameters: mat ? matformerParameterCount(mat.graph) : parameterCount(g), macs: mat ? matformerMacs(mat.graph) : macCount(g),
    arenaBytes: program.arenaBytes, weightBytes: weightBytes(program), calibration, ...(forecast ? { forecast } : {}),
    ...(mat ? { matformer: mat.report } : {}), ...(ram ? { ram } : {}), files: [...files, 'tinyforge.json'],
    compileMs: Math.round(performance.now() - t0),
  };
  write('tinyforge.json', JSON.stringify(report, null, 2) + '\n');
  return { program, graph: g, report };
}
