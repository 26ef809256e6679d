/**
 * MatFormer: sub-model extraction (uniform, Mix'n'Match, under a device budget), sub-model listing and
 * the packing that lets the single-input / single-output lowering (plan/lower.ts) run the multi-input
 * MatFormer graphs.
 *
 * Slicing is exact: a sub-model with FFN width m in a layer keeps the first m rows (and bias entries) of
 * that layer's up-projection and the first m columns of its down-projection; the down-projection bias
 * is kept in full.
 *
 * Sizes ("flash", "RAM") are predicted from the int8 lowering of the packed graph: flash = bytes of
 * every constant array the int8 program carries (weights, biases, multipliers, shifts, tables), RAM =
 * the planned arena (program.arenaBytes; the caller's float input/output buffers are not included).
 * They do not depend on calibration values, so a fixed dummy calibration is used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { importMatformerBert, matformerMeta, type MatformerImportOptions, type MatformerMeta } from '../frontends/matformer-bert.js';
import { importMatformerOlmo } from '../frontends/matformer-olmo.js';
import { modelNameFrom } from '../frontends/index.js';
import { readSafetensors, toFloat32 } from '../io/safetensors.js';
import { inferShapes, nodeMacs, nodeParameters, type Graph, type GraphNode } from '../ir/graph.js';
import type { DenseAttrs } from '../ops/dense/index.js';
import { quantizeEmbeddingAttrs, type EmbeddingAttrs } from '../ops/embedding/index.js';
import { lowerInt8 } from '../plan/lower.js';
import type { Program } from '../plan/program.js';
import type { Calibration } from '../quant/calibrate.js';

export type { MatformerMeta } from '../frontends/matformer-bert.js';

/** A MatFormer checkpoint folder imported for a given sequence length (default: the model's maximum). */
export function importMatformerCheckpoint(path: string, opts: MatformerImportOptions = {}): Graph {
  const cfgFile = join(path, 'config.json'), wFile = join(path, 'model.safetensors');
  if (!existsSync(cfgFile)) fail(`${cfgFile}: missing; a checkpoint folder needs config.json and model.safetensors`);
  if (!existsSync(wFile)) fail(`${wFile}: missing; a checkpoint folder needs config.json and model.safetensors`);
  let config: Record<string, unknown>;
  try { config = JSON.parse(readFileSync(cfgFile, 'utf8')); } catch (e) { fail(`${cfgFile}: not valid JSON (${(e as Error).message.split('\n')[0]})`); }
  if (config.model_type === 'matformer-olmo') return importMatformerOlmo(path, config, readSafetensors(wFile), modelNameFrom(path), opts);
  if (config.model_type === 'bert' && config.matformer) return importMatformerBert(path, config, readSafetensors(wFile), modelNameFrom(path), opts);
  return fail(`${cfgFile}: not a MatFormer checkpoint (model_type ${JSON.stringify(config.model_type)}${config.matformer ? '' : ', no "matformer" block'}); expected "matformer-olmo" or "bert" with "matformer": {"granularities": [...]}`);
}

function metaOf(g: Graph): MatformerMeta {
  const m = matformerMeta(g);
  if (!m) fail(`${g.source}: not a MatFormer model (no "matformer" granularities in its config.json); sub-models need a MatFormer checkpoint`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Sub-model specs

export interface Budget {
  /** bytes */
  flash?: number;
  /** bytes */
  ram?: number;
  /** multiply-accumulates per inference */
  macs?: number;
}

export type SubmodelSpec =
  | { kind: 'uniform'; width: number }
  | { kind: 'mix'; widths: number[] }
  | { kind: 'budget'; budget: Budget };

const SPEC_HELP = 'use uniform:M, mix:M1,M2,... (one width per layer) or budget:flash=SIZE,ram=SIZE[,macs=N]';

function parseCount(text: string, what: string, spec: string, bytes: boolean): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const units: Record<string, number> = bytes
    ? { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 }
    : { '': 1, k: 1e3, m: 1e6, g: 1e9 };
  const mult = m ? units[m[2].toLowerCase()] : undefined;
  if (!m || mult === undefined) fail(`sub-model '${spec}': ${what} '${text}' is not a number${bytes ? ' of bytes (suffix k = 1024, M = 1024^2)' : ' (suffix k, M, G = 10^3, 10^6, 10^9)'}`);
  return Math.floor(Number(m[1]) * mult);
}

function parseWidth(text: string, spec: string): number {
  const v = Number(text.trim());
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(v) || v <= 0) fail(`sub-model '${spec}': width '${text}' is not a positive integer; ${SPEC_HELP}`);
  return v;
}

/** Parses `uniform:M`, `mix:M1,M2,...` or `budget:flash=64k,ram=16k[,macs=2M]` (one-line errors). */
export function parseSubmodelSpec(spec: string): SubmodelSpec {
  const i = spec.indexOf(':');
  const kind = i < 0 ? spec : spec.slice(0, i), body = i < 0 ? '' : spec.slice(i + 1);
  if (kind === 'uniform') return { kind, width: parseWidth(body, spec) };
  if (kind === 'mix') {
    if (!body.trim()) fail(`sub-model '${spec}': no widths; ${SPEC_HELP}`);
    return { kind, widths: body.split(',').map((w) => parseWidth(w, spec)) };
  }
  if (kind === 'budget') {
    const budget: Budget = {};
    for (const part of body.split(',').filter((p) => p.trim())) {
      const [k, v] = part.split('=');
      const key = k.trim().toLowerCase();
      if (v === undefined || !['flash', 'ram', 'macs'].includes(key)) fail(`sub-model '${spec}': '${part}' is not flash=SIZE, ram=SIZE or macs=N`);
      if (key in budget) fail(`sub-model '${spec}': ${key} is given twice`);
      budget[key as keyof Budget] = parseCount(v, key, spec, key !== 'macs');
    }
    if (budget.flash === undefined && budget.ram === undefined && budget.macs === undefined) fail(`sub-model '${spec}': empty budget; ${SPEC_HELP}`);
    return { kind, budget };
  }
  return fail(`sub-model '${spec}': unknown kind '${kind}'; ${SPEC_HELP}`);
}

/** Checks per-layer FFN widths against the model (one-line errors with the numbers). */
export function checkWidths(g: Graph, widths: number[]): void {
  const meta = metaOf(g);
  const L = meta.layers.length;
  const list = meta.granularities.join(', ');
  if (widths.length !== L) fail(`${g.source}: the sub-model lists ${widths.length} FFN width${widths.length === 1 ? '' : 's'} [${widths.join(', ')}] but the model has ${L} layers; give one width per layer`);
  widths.forEach((m, l) => {
    if (!Number.isInteger(m) || m <= 0) fail(`${g.source}: layer ${l} FFN width ${m} is not a positive integer`);
    if (m > meta.dFF) fail(`${g.source}: layer ${l} FFN width ${m} exceeds d_ff ${meta.dFF}; granularities: ${list}`);
    if (!meta.granularities.includes(m)) fail(`${g.source}: layer ${l} FFN width ${m} is not one of the MatFormer granularities ${list}`);
    if (m > meta.widths[l]) fail(`${g.source}: layer ${l} FFN width ${m} exceeds this graph's width ${meta.widths[l]} (already a sub-model); extract from the full checkpoint`);
  });
}

/** The sub-model with FFN width widths[l] in layer l: exact slices of the nested FFNs. */
export function extractSubmodel(g: Graph, widths: number[]): Graph {
  checkWidths(g, widths);
  const meta = metaOf(g);
  const byName = new Map<string, { layer: number; role: 'up' | 'down' }>();
  meta.layers.forEach((l, i) => { byName.set(l.up, { layer: i, role: 'up' }); byName.set(l.down, { layer: i, role: 'down' }); });
  const nodes: GraphNode[] = g.nodes.map((n) => {
    const r = byName.get(n.name);
    if (!r || n.op !== 'dense') return { ...n, inputs: [...n.inputs], outputs: [...n.outputs] };
    const a = n.attrs as DenseAttrs, m = widths[r.layer];
    let attrs: DenseAttrs;
    if (r.role === 'up') {
      attrs = { ...a, outFeatures: m, weights: a.weights.slice(0, m * a.inFeatures), bias: a.bias.slice(0, m) };
    } else {
      const w = new Float32Array(a.outFeatures * m);
      for (let o = 0; o < a.outFeatures; o++) w.set(a.weights.subarray(o * a.inFeatures, o * a.inFeatures + m), o * m);
      attrs = { ...a, inFeatures: m, weights: w, bias: a.bias.slice() };
    }
    return { ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs };
  });
  const out: Graph = {
    ...g, inputs: g.inputs.map((v) => ({ ...v, shape: [...v.shape] })), outputs: g.outputs.map((v) => ({ ...v, shape: [...v.shape] })),
    nodes, values: new Map(), meta: { ...g.meta, matformer: { ...meta, widths: [...widths] } },
  };
  inferShapes(out);
  return out;
}

/** Parameters of a MatFormer graph as the checkpoint counts them (no implicit zero biases, tied weights once). */
export function matformerParameterCount(g: Graph): number {
  const meta = metaOf(g);
  let n = 0;
  for (const node of g.nodes) {
    n += nodeParameters(node);
    if (node.op !== 'dense') continue;
    const a = node.attrs as DenseAttrs;
    if (meta.biasFree.includes(node.name)) n -= a.bias.length;
    if (meta.tied.includes(node.name)) n -= a.weights.length;
  }
  return n;
}

export function matformerMacs(g: Graph): number {
  return g.nodes.reduce((s, n) => s + nodeMacs(g, n), 0);
}

// ---------------------------------------------------------------------------------------------
// Packing for lowering

export interface Packing {
  /** the program input `inputs` [inputNames.length, T]: row i = graph input inputNames[i] */
  inputNames: string[];
  tokens: number;
  /** the program output: `outputs` [rows, last] holding each graph output's values in order (BERT), or the one output as is */
  outputName: string;
  outputs: Array<{ name: string; shape: number[]; offset: number; length: number }>;
}

/**
 * A single-input, single-output graph the lowering can take: input `inputs` [k, T] (the graph inputs
 * as rows, in meta.inputNames order, sliced off by `slice` nodes that run in float32 in every program),
 * and, for several outputs, `outputs` [rows, last] = the outputs concatenated (BERT: T rows of
 * last_hidden_state, then pooler_output). With int8: the embedding tables are stored as int8 with a
 * per-row scale (their dequantized values replace the float tables, so reference and program agree).
 */
export function packForLowering(g: Graph, opts: { int8?: boolean } = {}): Graph {
  const meta = metaOf(g);
  const T = meta.sequenceLength, k = g.inputs.length;
  const nodes: GraphNode[] = g.inputs.map((v, i) => ({ op: 'slice_rows', name: `inputs.${v.name}`, inputs: ['inputs'], outputs: [v.name], attrs: { start: i, count: 1, squeeze: true } }));
  for (const n of g.nodes) {
    if (opts.int8 && n.op === 'embedding' && !(n.attrs as EmbeddingAttrs).q8) nodes.push({ ...n, attrs: quantizeEmbeddingAttrs(n.attrs as EmbeddingAttrs) });
    else nodes.push(n);
  }
  let outputName = g.outputs[0].name;
  const outputs: Packing['outputs'] = [];
  let offset = 0;
  for (const o of g.outputs) {
    const length = o.shape.reduce((a, b) => a * b, 1);
    outputs.push({ name: o.name, shape: [...o.shape], offset, length });
    offset += length;
  }
  if (g.outputs.length > 1) {
    outputName = 'outputs';
    nodes.push({ op: 'concat_rows', name: 'outputs', inputs: g.outputs.map((o) => o.name), outputs: [outputName], attrs: {} });
  }
  const packing: Packing = { inputNames: g.inputs.map((v) => v.name), tokens: T, outputName, outputs };
  const out: Graph = {
    ...g, inputs: [{ name: 'inputs', shape: [k, T], dtype: 'float32' }], outputs: [{ name: outputName, shape: [], dtype: 'float32' }],
    nodes, values: new Map(), meta: { ...g.meta, packing },
  };
  inferShapes(out);
  return out;
}

export function packingOf(g: Graph): Packing {
  const p = g.meta?.packing as Packing | undefined;
  if (!p) fail(`${g.source}: graph is not packed; run packForLowering first`);
  return p;
}

/** One packed program input from the graph inputs by name (each [T]). */
export function packFeeds(g: Graph, feeds: Record<string, Float32Array | Int32Array | number[]>): Float32Array {
  return packFeedsFor(packingOf(g), feeds);
}

/** packFeeds from a Packing alone (e.g. the one a compiled folder's tinyforge.json records). */
export function packFeedsFor(p: Packing, feeds: Record<string, Float32Array | Int32Array | number[]>): Float32Array {
  const x = new Float32Array(p.inputNames.length * p.tokens);
  p.inputNames.forEach((name, i) => {
    const v = feeds[name];
    if (!v) fail(`missing input '${name}' (the model takes ${p.inputNames.join(', ')}, each [${p.tokens}])`);
    if (v.length !== p.tokens) fail(`input '${name}' has ${v.length} values but the model was built for ${p.tokens} tokens`);
    for (let t = 0; t < p.tokens; t++) x[i * p.tokens + t] = v[t];
  });
  return x;
}

/** Splits a packed program output back into the graph outputs by name. */
export function unpackOutputs(g: Graph, y: Float32Array): Record<string, Float32Array> {
  return unpackOutputsFor(packingOf(g), y);
}

/** unpackOutputs from a Packing alone. */
export function unpackOutputsFor(p: Packing, y: Float32Array): Record<string, Float32Array> {
  return Object.fromEntries(p.outputs.map((o) => [o.name, y.slice(o.offset, o.offset + o.length)]));
}

/**
 * Packed samples from a safetensors file holding the graph inputs as [N, T] tensors (io.safetensors
 * layout: input_ids, token_type_ids, attention_mask; I32 or float).
 */
export function readPackedSamples(file: string, g: Graph): Float32Array[] {
  const meta = metaOf(g);
  const st = readSafetensors(file);
  const cols = meta.inputNames.map((name) => {
    const t = st.tensors.get(name);
    if (!t) fail(`${file}: missing tensor '${name}' (the model takes ${meta.inputNames.join(', ')} as [N, ${meta.sequenceLength}])`);
    if (t.shape.length !== 2 || t.shape[1] !== meta.sequenceLength) fail(`${file}: tensor '${name}' has shape ${JSON.stringify(t.shape)} but the model was built for [N, ${meta.sequenceLength}]`);
    return { n: t.shape[0], data: toFloat32(t, name, file) };
  });
  const N = cols[0].n;
  if (cols.some((c) => c.n !== N)) fail(`${file}: the input tensors disagree on the number of samples`);
  const T = meta.sequenceLength;
  return Array.from({ length: N }, (_, s) => {
    const x = new Float32Array(cols.length * T);
    cols.forEach((c, i) => x.set(c.data.subarray(s * T, (s + 1) * T), i * T));
    return x;
  });
}

/** HF defaults for inputs a caller may leave out: no padding, segment 0. */
const INPUT_DEFAULTS: Record<string, number> = { attention_mask: 1, token_type_ids: 0 };
/** Ids and masks are exact integers: anything else is a wrong file, not a rounding question. */
const ID_LIMIT = 2 ** 24;

export interface HfInputs {
  /** packed program inputs, one per sample */
  samples: Float32Array[];
  /** tokens per sample in the file (<= packing.tokens; shorter sequences are padded with mask 0) */
  tokens: number;
  /** inputs the file did not hold, filled with their HF default */
  defaulted: string[];
}

/**
 * `tinyforge run` inputs by their HF names from a safetensors file: each [N, T'] (or one sample [T']),
 * I32/I64/float holding exact integers. `input_ids` is required; a missing `attention_mask` means all
 * ones and a missing `token_type_ids` all zeros (as HF does). T' < T (the compiled length) is padded at
 * the end with id 0, mask 0 (padding at the end changes no real token's output: keys are masked and
 * causal queries never see later tokens); T' > T is an error. Other tensors in the file are ignored.
 */
export function readHfInputs(file: string, p: Packing): HfInputs {
  const st = readSafetensors(file);
  const T = p.tokens;
  const first = p.inputNames[0];
  const found = [...st.tensors.keys()];
  if (!st.tensors.has(first)) fail(`${file}: missing tensor '${first}' (found: ${found.join(', ') || 'none'}); the model takes ${p.inputNames.join(', ')} as [N, ${T}] (or [${T}])`);
  const shapeOf = (name: string) => st.tensors.get(name)!.shape;
  const s0 = shapeOf(first);
  if (s0.length < 1 || s0.length > 2) fail(`${file}: tensor '${first}' has shape ${JSON.stringify(s0)}; expected [N, tokens] or [tokens]`);
  const N = s0.length === 2 ? s0[0] : 1, Tin = s0[s0.length - 1];
  if (N === 0 || Tin === 0) fail(`${file}: tensor '${first}' has shape ${JSON.stringify(s0)} and holds no tokens`);
  if (Tin > T) fail(`${file}: tensor '${first}' has ${Tin} tokens per sample but the model was compiled for ${T}; recompile with --sequence-length ${Tin} (at most the model's maximum) or shorten the input`);
  const defaulted: string[] = [];
  const cols = p.inputNames.map((name) => {
    if (!st.tensors.has(name)) {
      if (!(name in INPUT_DEFAULTS)) fail(`${file}: missing tensor '${name}'; the model takes ${p.inputNames.join(', ')} as [N, ${T}]`);
      defaulted.push(name);
      return new Float32Array(N * Tin).fill(INPUT_DEFAULTS[name]);
    }
    const sh = shapeOf(name);
    if (sh.join(',') !== s0.join(',')) fail(`${file}: tensor '${name}' has shape ${JSON.stringify(sh)} but '${first}' has ${JSON.stringify(s0)}; all inputs must have the same [N, tokens] shape`);
    const data = toFloat32(st.tensors.get(name)!, name, file);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < 0 || v >= ID_LIMIT) fail(`${file}: tensor '${name}' value ${v} at sample ${Math.floor(i / Tin)}, token ${i % Tin} is not a non-negative integer id below 2^24`);
    }
    return data;
  });
  const samples = Array.from({ length: N }, (_, s) => {
    const x = new Float32Array(p.inputNames.length * T); // padding: id 0, type 0, mask 0
    cols.forEach((c, i) => x.set(c.subarray(s * Tin, (s + 1) * Tin), i * T));
    return x;
  });
  return { samples, tokens: Tin, defaulted };
}

/** Output tensors by HF name for N packed outputs, [N, ...shape]; with tokens < packing.tokens, the
 *  per-token outputs (first dimension = packing.tokens) keep only the first `tokens` rows. */
export function hfOutputs(p: Packing, ys: Float32Array[], tokens = p.tokens): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const o of p.outputs) {
    const perToken = o.shape.length >= 2 && o.shape[0] === p.tokens;
    const shape = perToken ? [tokens, ...o.shape.slice(1)] : o.shape;
    const per = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(ys.length * per);
    ys.forEach((y, i) => data.set(y.subarray(o.offset, o.offset + per), i * per));
    out[o.name] = { shape: [ys.length, ...shape], data };
  }
  return out;
}

/** Deterministic valid inputs (ids below the vocabulary, no padding, segment 0) for check vectors. */
export function syntheticMatformerSamples(g: Graph, count: number): Float32Array[] {
  const meta = metaOf(g);
  const emb = g.nodes.find((n) => n.op === 'embedding');
  const rows = emb ? (emb.attrs as EmbeddingAttrs).word.rows : 1;
  const T = meta.sequenceLength;
  return Array.from({ length: count }, (_, s) => {
    const feeds: Record<string, Float32Array> = {};
    for (const name of meta.inputNames) {
      feeds[name] = name === 'input_ids' ? Float32Array.from({ length: T }, (_, t) => (t * 31 + s * 17 + 1) % rows)
        : new Float32Array(T).fill(INPUT_DEFAULTS[name] ?? 0);
    }
    const x = new Float32Array(meta.inputNames.length * T);
    meta.inputNames.forEach((n, i) => x.set(feeds[n], i * T));
    return x;
  });
}

// ---------------------------------------------------------------------------------------------
// Sizes, listing and the budget search

/** Bytes of constant data a program carries (the same count as compile's weightBytes). */
export function programConstantBytes(p: Program): number {
  let n = 0;
  for (const s of p.steps) for (const v of Object.values(s)) if (ArrayBuffer.isView(v)) n += v.byteLength;
  return n;
}

/** A calibration whose every range is [-1, 1]: sizes do not depend on the values. */
function sizingCalibration(): Calibration {
  const ranges = new Map<string, { min: number; max: number }>();
  ranges.get = () => ({ min: -1, max: 1 });
  ranges.has = () => true;
  return { ranges, traces: [] };
}

export interface SizeEstimate { flashBytes: number; ramBytes: number }

/** Predicted int8 flash (constants) and RAM (arena) of a MatFormer graph. */
export function estimateInt8Size(g: Graph): SizeEstimate {
  const p = lowerInt8(packForLowering(g, { int8: true }), sizingCalibration());
  return { flashBytes: programConstantBytes(p), ramBytes: p.arenaBytes };
}

export interface SubmodelInfo {
  /** `uniform:M` or `mix:...` */
  spec: string;
  widths: number[];
  parameters: number;
  macs: number;
  /** int8 prediction */
  flashBytes: number;
  ramBytes: number;
}

function infoOf(sub: Graph, spec: string): SubmodelInfo {
  return { spec, widths: [...metaOf(sub).widths], parameters: matformerParameterCount(sub), macs: matformerMacs(sub), ...estimateInt8Size(sub) };
}

const specOf = (widths: number[]) => (widths.every((w) => w === widths[0]) ? `uniform:${widths[0]}` : `mix:${widths.join(',')}`);

/** Size and MACs of every uniform granularity (ascending), for `inspect --submodels`. */
export function listSubmodels(graphOrCheckpoint: Graph | string, opts: MatformerImportOptions = {}): SubmodelInfo[] {
  const g = typeof graphOrCheckpoint === 'string' ? importMatformerCheckpoint(graphOrCheckpoint, opts) : graphOrCheckpoint;
  const meta = metaOf(g);
  return meta.granularities.filter((m) => meta.widths.every((w) => m <= w)).map((m) => infoOf(extractSubmodel(g, meta.layers.map(() => m)), `uniform:${m}`));
}

export interface SubmodelChoice extends SubmodelInfo {
  /** for budget specs: the budget, and how many width assignments were compared */
  budget?: Budget;
  candidates?: number;
}

/**
 * Searches the Mix'n'Match space for the largest sub-model (most parameters) whose int8 flash, RAM and
 * MACs fit the budget. Among equally large ones it prefers widths that change slowly across layers:
 * the fewest granularity steps between the narrowest and widest layer, widths non-decreasing with
 * depth (the MatFormer paper's Mix'n'Match heuristic). Flash and MACs of a width assignment are exact
 * sums of per-layer costs (measured on the uniform sub-models); RAM is checked by lowering the candidate.
 */
export function searchBudget(g: Graph, budget: Budget): SubmodelChoice {
  const meta = metaOf(g);
  const L = meta.layers.length;
  const G = meta.granularities.filter((m) => meta.widths.every((w) => m <= w));
  const layerNames = new Set(meta.layers.flatMap((l) => [l.up, l.down]));
  // per-granularity uniform lowering: total constants, and each layer's FFN constants and MACs
  const uniform = G.map((m) => {
    const sub = extractSubmodel(g, meta.layers.map(() => m));
    const p = lowerInt8(packForLowering(sub, { int8: true }), sizingCalibration());
    const layerFlash = meta.layers.map((l) => programConstantBytes({ ...p, steps: p.steps.filter((s) => s.name === l.up || s.name === l.down) }));
    const layerMacs = meta.layers.map((l) => sub.nodes.filter((n) => n.name === l.up || n.name === l.down).reduce((s, n) => s + nodeMacs(sub, n), 0));
    const otherMacs = sub.nodes.filter((n) => !layerNames.has(n.name)).reduce((s, n) => s + nodeMacs(sub, n), 0);
    const flash = programConstantBytes(p);
    return { m, flash, base: flash - layerFlash.reduce((a, b) => a + b, 0), layerFlash, layerMacs, otherMacs, params: matformerParameterCount(sub), ram: p.arenaBytes };
  });
  // multisets of granularity indices, assigned non-decreasing over depth
  const candidates: number[][] = [];
  const rec = (prefix: number[], from: number) => {
    if (prefix.length === L) { candidates.push(prefix.slice()); return; }
    for (let i = from; i < G.length; i++) { prefix.push(i); rec(prefix, i); prefix.pop(); }
  };
  rec([], 0);
  const flashOf = (c: number[]) => uniform[0].base + c.reduce((s, i, l) => s + uniform[i].layerFlash[l], 0);
  const macsOf = (c: number[]) => uniform[0].otherMacs + c.reduce((s, i, l) => s + uniform[i].layerMacs[l], 0);
  const sizeOf = (c: number[]) => c.reduce((s, i) => s + G[i], 0);
  const spread = (c: number[]) => c[c.length - 1] - c[0];
  const fits = candidates.filter((c) => (budget.flash === undefined || flashOf(c) <= budget.flash) && (budget.macs === undefined || macsOf(c) <= budget.macs));
  fits.sort((a, b) => sizeOf(b) - sizeOf(a) || spread(a) - spread(b) || a.join(',').localeCompare(b.join(',')));
  let compared = 0;
  for (const c of fits) {
    compared++;
    const widths = c.map((i) => G[i]);
    const info = infoOf(extractSubmodel(g, widths), specOf(widths));
    if ((budget.ram === undefined || info.ramBytes <= budget.ram) && (budget.flash === undefined || info.flashBytes <= budget.flash)) {
      return { ...info, budget, candidates: compared };
    }
  }
  const small = uniform[0];
  const want = [budget.flash !== undefined ? `flash ${budget.flash} B` : '', budget.ram !== undefined ? `RAM ${budget.ram} B` : '', budget.macs !== undefined ? `${budget.macs} MACs` : ''].filter(Boolean).join(', ');
  return fail(`${g.source}: no sub-model fits the budget (${want}); the smallest, uniform:${small.m}, needs flash ${small.flash} B, RAM ${small.ram} B, ${macsOf(meta.layers.map(() => 0))} MACs (int8)`);
}

/** Resolves a spec (string or parsed) to per-layer widths with their predicted sizes. */
export function resolveSubmodel(g: Graph, spec: string | SubmodelSpec): SubmodelChoice {
  const s = typeof spec === 'string' ? parseSubmodelSpec(spec) : spec;
  const meta = metaOf(g);
  if (s.kind === 'budget') return searchBudget(g, s.budget);
  const widths = s.kind === 'uniform' ? meta.layers.map(() => s.width) : s.widths;
  return infoOf(extractSubmodel(g, widths), specOf(widths));
}

/** `compile --submodel SPEC`: the extracted graph and what was chosen. */
export function applySubmodel(g: Graph, spec: string | SubmodelSpec): { graph: Graph; choice: SubmodelChoice } {
  const choice = resolveSubmodel(g, spec);
  return { graph: extractSubmodel(g, choice.widths), choice };
}
