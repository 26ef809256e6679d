/** `tinyforge inspect`: layer table, parameters, MACs and flash/RAM needs per target and quantization. */
import { importCheckpoint } from './frontends/index.js';
import { opDef } from './ops/registry.js';
import { isDense, macCount, nodeMacs, nodeParameters, parameterCount, type Graph } from './ir/graph.js';
import { planArena, type ArenaRequest } from './plan/memory.js';
import { lowerFloat, lowerInt8 } from './plan/lower.js';
import type { Program } from './plan/program.js';
import { weightBytes } from './compile.js';

export interface InspectLayer { name: string; op: string; activation: string; input: number[]; output: number[]; parameters: number; macs: number }
export interface SizeEstimate { target: string; quant: string; flashBytes: number; ramBytes: number; arenaBytes: number; note: string }
export interface InspectReport { model: string; modelType: string; source: string; parameters: number; macs: number; layers: InspectLayer[]; estimates: SizeEstimate[]; backendsReady: boolean }

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

function sizedPrograms(g: Graph): Record<Quant, Program> {
  // Arena and constant sizes depend only on shapes, so any calibration range will do here.
  const ranges = new Map<string, { min: number; max: number }>();
  for (const v of g.values.keys()) ranges.set(v, { min: -1, max: 1 });
  for (const n of g.nodes) ranges.set(`${n.name}:preact`, { min: -1, max: 1 });
  const calib = { ranges, traces: [] };
  return { float32: lowerFloat(g), int8: lowerInt8(g, calib, 8), int4: lowerInt8(g, calib, 4) };
}

/** C stores per-channel requantization compactly: int32 bias + uint16 multiplier mantissa + int8 shift. */
function cConstBytes(p: Program): number {
  let n = weightBytes(p);
  for (const s of p.steps) if (s.op === 'dense_s8' || s.op === 'dense_s4' || s.op === 'affine_s8') n -= s.multiplier.length * 5;
  return n;
}

export function inspectModel(path: string): InspectReport {
  const g = importCheckpoint(path);
  const layers = g.nodes.map((n) => ({
    name: n.name, op: n.op, activation: (n.attrs as { activation?: string; fn?: string }).activation ?? (n.attrs as { fn?: string }).fn ?? '',
    input: g.values.get(n.inputs[0])!.shape, output: g.values.get(n.outputs[0])!.shape,
    parameters: nodeParameters(n), macs: nodeMacs(g, n),
  }));
  const lowerable = g.nodes.every((n) => !!opDef(n.op, n.name).lowerFloat);
  const progs = lowerable ? sizedPrograms(g) : null;
  const estimates: SizeEstimate[] = [];
  for (const quant of ['float32', 'int8', 'int4'] as const) {
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
  return { model: g.name, modelType: g.modelType, source: path, parameters: parameterCount(g), macs: macCount(g), layers, estimates, backendsReady: lowerable };
}

export function formatInspect(r: InspectReport): string {
  const lines = [`${r.model} (${r.modelType}) from ${r.source}`, ''];
  const rows = [['layer', 'op', 'activation', 'input', 'output', 'params', 'MACs'], ...r.layers.map((l) => [l.name, l.op, l.activation, `[${l.input}]`, `[${l.output}]`, String(l.parameters), String(l.macs)])];
  lines.push(...table(rows), '', `parameters: ${r.parameters}   MACs per inference: ${r.macs}`, '');
  if (r.backendsReady === false) lines.push('note: the C and WASM backends do not lower this model family yet; sizes below are estimates from the graph', '');
  const est = [['target', 'quant', 'flash bytes', 'RAM bytes', 'arena bytes'], ...r.estimates.map((e) => [e.target, e.quant, String(e.flashBytes), String(e.ramBytes), String(e.arenaBytes)])];
  lines.push('size estimates (flash = code + constants; RAM = arena + stack/IO):', ...table(est));
  return lines.join('\n');
}

export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  });
}
