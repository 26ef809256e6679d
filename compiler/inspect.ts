/** `tinyforge inspect`: layer table, parameters, MACs and flash/RAM needs per target and quantization. */
import { importCheckpoint } from './frontends/index.js';
import { opDef } from './ops/registry.js';
import { isDense, macCount, nodeMacs, nodeParameters, parameterCount, type Graph } from './ir/graph.js';
import { planArena, type ArenaRequest } from './plan/memory.js';
import { lowerFloat, lowerInt8 } from './plan/lower.js';
import type { Program } from './plan/program.js';
import { weightBytes } from './compile.js';
import { TinyforgeError, fail } from './errors.js';
import { lowerQuantizedGraph, type QuantizedProgram } from './plan/lower-quantized.js';
import { matformerMeta } from './frontends/matformer-bert.js';
import { importMatformerCheckpoint, listSubmodels, matformerMacs, matformerParameterCount, packForLowering, type SubmodelInfo } from './passes/matformer.js';

export interface InspectLayer { name: string; op: string; activation: string; input: number[]; output: number[]; parameters: number; macs: number }
export interface SizeEstimate { target: string; quant: string; flashBytes: number; ramBytes: number; arenaBytes: number; note: string }
export interface InspectReport {
  model: string; modelType: string; source: string; parameters: number; macs: number; layers: InspectLayer[]; estimates: SizeEstimate[]; backendsReady: boolean;
  /** MatFormer checkpoints: tokens per sequence the sizes are for, and (with --submodels) every uniform granularity */
  matformer?: { sequenceLength: number; granularities: number[]; submodels?: SubmodelInfo[] };
}
export interface InspectOptions {
  /** MatFormer: list size and MACs of every uniform granularity */
  submodels?: boolean;
  /** MatFormer: tokens per sequence (default: the model's maximum) */
  sequenceLength?: number;
}

// Code-size constants measured on the generated C (arm-none-eabi-gcc -O2) and the WASM kernels; a
// compile for the real target reports exact numbers.
const C_CODE_BYTES_BASE = 1200, C_CODE_BYTES_PER_LAYER = 160, STACK_BYTES = 256, WASM_BASE_BYTES = 4096;

/**
 * For graphs the backends cannot lower yet: arena from liveness over the graph's values (graph input
 * and output included), constants from the parameter count (int8: 1 byte per weight plus ~12 bytes of
 * bias/multiplier/shift per output channel).
 */
function graphEstimate(g: Graph, quant: 'float32' | 'int8'): { arenaBytes: number; constBytes: number } {
  const bytes = quant === 'int8' ? 1 : 4;
  const reqs = new Map<string, ArenaRequest>();
  const touch = (name: string, at: number) => {
    const v = g.values.get(name)!;
    const r = reqs.get(name);
    if (r) r.last = Math.max(r.last, at);
    else reqs.set(name, { id: name, bytes: v.shape.reduce((a, b) => a * b, 1) * bytes, first: at, last: at });
  };
  g.inputs.forEach((v) => touch(v.name, 0));
  g.nodes.forEach((n, i) => { n.inputs.forEach((x) => touch(x, i)); n.outputs.forEach((y) => touch(y, i)); });
  g.outputs.forEach((v) => touch(v.name, g.nodes.length));
  const channels = g.nodes.reduce((s, n) => s + (isDense(n) ? n.attrs.outFeatures : 0), 0);
  const params = parameterCount(g);
  return { arenaBytes: planArena([...reqs.values()]).peakBytes, constBytes: quant === 'int8' ? params + 12 * channels : 4 * params };
}

type Quant = 'float32' | 'int8' | 'int4';

/** gq: the graph the int8 lowering takes (MatFormer: packed with int8 embedding tables), default g. */
function sizedPrograms(g: Graph, gq: Graph = g): Record<Quant, Program> {
  // Arena and constant sizes depend only on shapes, so any calibration range will do here.
  const ranges = new Map<string, { min: number; max: number }>();
  for (const v of gq.values.keys()) ranges.set(v, { min: -1, max: 1 });
  for (const n of gq.nodes) ranges.set(`${n.name}:preact`, { min: -1, max: 1 });
  const calib = { ranges, traces: [] };
  return { float32: lowerFloat(g), int8: lowerInt8(gq, calib, 8), int4: lowerInt8(gq, calib, 4) };
}

/** TensorFlow Lite imports lower with the file's own quantization; null when one of their ops cannot. */
function tfliteProgram(g: Graph): QuantizedProgram | null {
  if (g.modelType !== 'tflite') return null;
  try {
    return lowerQuantizedGraph(g);
  } catch (e) {
    if (e instanceof TinyforgeError) return null;
    throw e;
  }
}

/** C stores per-channel requantization compactly: int32 bias + uint16 multiplier mantissa + int8 shift. */
function cConstBytes(p: Program): number {
  let n = weightBytes(p);
  for (const s of p.steps) if (s.op === 'dense_s8' || s.op === 'dense_s4' || s.op === 'affine_s8') n -= s.multiplier.length * 5;
  return n;
}

export function inspectModel(path: string, opts: InspectOptions = {}): InspectReport {
  let g = importCheckpoint(path);
  const isMat = !!matformerMeta(g);
  if (!isMat && opts.submodels) fail(`${path}: --submodels needs a MatFormer checkpoint ("matformer": {"granularities": [...]} in config.json); this is a ${g.modelType} model`);
  if (!isMat && opts.sequenceLength !== undefined) fail(`${path}: --sequence-length applies to MatFormer checkpoints only; this is a ${g.modelType} model`);
  if (isMat && opts.sequenceLength !== undefined && opts.sequenceLength !== matformerMeta(g)!.sequenceLength) g = importMatformerCheckpoint(path, { sequenceLength: opts.sequenceLength });
  const layers = g.nodes.map((n) => ({
    name: n.name, op: n.op, activation: (n.attrs as { activation?: string; fn?: string }).activation ?? (n.attrs as { fn?: string }).fn ?? '',
    input: g.values.get(n.inputs[0])!.shape, output: g.values.get(n.outputs[0])!.shape,
    parameters: nodeParameters(n), macs: nodeMacs(g, n),
  }));
  const tp = tfliteProgram(g);
  const lowerable = !!tp || (g.modelType !== 'tflite' && g.nodes.every((n) => !!opDef(n.op, n.name).lowerFloat));
  // MatFormer graphs (several inputs/outputs) lower in their packed form (passes/matformer.ts)
  const progs = lowerable && !tp ? (isMat ? sizedPrograms(packForLowering(g), packForLowering(g, { int8: true })) : sizedPrograms(g)) : null;
  const estimates: SizeEstimate[] = [];
  if (tp) {
    // the program the backends compile, in the file's quantization
    const w = weightBytes(tp as unknown as Program), ioElems = tp.inputs.concat(tp.outputs).reduce((s, io) => s + io.shape.reduce((a, b) => a * b, 1), 0);
    estimates.push({ target: 'wasm', quant: tp.quant, flashBytes: WASM_BASE_BYTES + w, ramBytes: tp.arenaBytes + ioElems * 4, arenaBytes: tp.arenaBytes, note: 'module bytes; RAM = arena + IO buffers' });
    for (const target of ['c', 'cortex-m4f']) {
      estimates.push({ target, quant: tp.quant, flashBytes: C_CODE_BYTES_BASE + C_CODE_BYTES_PER_LAYER * g.nodes.length + w, ramBytes: tp.arenaBytes + STACK_BYTES, arenaBytes: tp.arenaBytes, note: 'model code + constants; RAM = arena + stack' });
    }
  }
  for (const quant of tp ? [] : (['float32', 'int8', 'int4'] as const)) {
    const p = progs?.[quant];
    if (!p && quant === 'int4') continue;
    const { arenaBytes, constBytes: w } = p ? { arenaBytes: p.arenaBytes, constBytes: weightBytes(p) } : graphEstimate(g, quant === 'int4' ? 'int8' : quant);
    const cw = p ? cConstBytes(p) : w;
    const ioElems = g.inputs.concat(g.outputs).reduce((s, v) => s + v.shape.reduce((a, b) => a * b, 1), 0);
    estimates.push({ target: 'wasm', quant, flashBytes: WASM_BASE_BYTES + w, ramBytes: arenaBytes + ioElems * 4, arenaBytes, note: 'module bytes; RAM = arena + IO buffers' });
    for (const target of ['c', 'cortex-m4f']) {
      estimates.push({ target, quant, flashBytes: C_CODE_BYTES_BASE + C_CODE_BYTES_PER_LAYER * g.nodes.length + cw, ramBytes: arenaBytes + STACK_BYTES, arenaBytes, note: 'model code + constants; RAM = arena + stack' });
    }
  }
  const meta = matformerMeta(g);
  return {
    model: g.name, modelType: g.modelType, source: path, parameters: meta ? matformerParameterCount(g) : parameterCount(g), macs: meta ? matformerMacs(g) : macCount(g),
    layers, estimates, backendsReady: lowerable,
    ...(meta ? { matformer: { sequenceLength: meta.sequenceLength, granularities: meta.granularities, ...(opts.submodels ? { submodels: listSubmodels(g) } : {}) } } : {}),
  };
}

export function formatInspect(r: InspectReport): string {
  const lines = [`${r.model} (${r.modelType}) from ${r.source}`, ''];
  const rows = [['layer', 'op', 'activation', 'input', 'output', 'params', 'MACs'], ...r.layers.map((l) => [l.name, l.op, l.activation, `[${l.input}]`, `[${l.output}]`, String(l.parameters), String(l.macs)])];
  lines.push(...table(rows), '', `parameters: ${r.parameters}   MACs per inference: ${r.macs}`, '');
  if (r.backendsReady === false) lines.push('note: the C and WASM backends do not lower this model family yet; sizes below are estimates from the graph', '');
  const est = [['target', 'quant', 'flash bytes', 'RAM bytes', 'arena bytes'], ...r.estimates.map((e) => [e.target, e.quant, String(e.flashBytes), String(e.ramBytes), String(e.arenaBytes)])];
  lines.push('size estimates (flash = code + constants; RAM = arena + stack/IO):', ...table(est));
  const m = r.matformer;
  if (m) {
    lines.push('', `MatFormer: ${m.sequenceLength} tokens per sequence, FFN granularities ${m.granularities.join(', ')} (compile one with --submodel uniform:M, mix:M1,M2,... or budget:flash=..,ram=..)`);
    if (m.submodels) {
      const rows = [['sub-model', 'FFN widths', 'params', 'MACs', 'int8 flash B', 'int8 RAM B'], ...m.submodels.map((s) => [s.spec, `[${s.widths.join(',')}]`, String(s.parameters), String(s.macs), String(s.flashBytes), String(s.ramBytes)])];
      lines.push('sub-models (flash = int8 constants, RAM = int8 arena):', ...table(rows));
    }
  }
  return lines.join('\n');
}

export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  });
}
