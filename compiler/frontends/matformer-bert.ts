/**
 * Frontend for MatFormer BERT-style encoders: a HF `BertModel` checkpoint (config.json with
 * `"model_type": "bert"` and `"matformer": {"granularities": [...]}`, model.safetensors with the
 * BertModel state_dict names). Post-LN encoder, for a fixed sequence length T (the graph is built per T):
 *   inputs  input_ids [T], token_type_ids [T], attention_mask [T] (float32 values holding exact integers)
 *   embeddings: word + token_type + position (0..T-1), LayerNorm
 *   per layer: Q/K/V dense -> attention (additive key mask) -> attention.output.dense + residual -> LayerNorm
 *              -> intermediate.dense + erf GELU -> output.dense + residual -> LayerNorm
 *   outputs last_hidden_state [T, hidden], pooler_output [hidden] = tanh(pooler.dense(h[0]))
 * The FFN of every layer is the MatFormer-nested part; g.meta.matformer (MatformerMeta) says where.
 * This file also holds what both MatFormer frontends share (meta, granularity checks, the builder).
 */
import { join } from 'node:path';
import { fail } from '../errors.js';
import { CheckpointTensors } from './checkpoint.js';
import type { SafeTensorsFile } from '../io/safetensors.js';
import { inferShapes, type Graph, type GraphNode } from '../ir/graph.js';
import type { Activation } from '../plan/program.js';

export const MODEL_TYPE = 'bert';

/** What extraction and listing need to know about a MatFormer graph (g.meta.matformer). */
export interface MatformerMeta {
  family: 'bert' | 'olmo';
  /** ascending FFN widths the checkpoint was trained to nest */
  granularities: number[];
  /** full FFN width */
  dFF: number;
  /** per layer: the FFN up-projection (rows sliced) and down-projection (columns sliced) dense nodes */
  layers: Array<{ up: string; down: string }>;
  /** the FFN width of each layer in this graph (d_ff after import; the sub-model's after extraction) */
  widths: number[];
  sequenceLength: number;
  /** dense nodes whose bias is an implicit zero (bias-free checkpoints): not parameters */
  biasFree: string[];
  /** dense nodes whose weights are another tensor's (tied embeddings): not counted twice */
  tied: string[];
  /** graph input names in order (they are packed in this order for lowering) */
  inputNames: string[];
  configFile: string;
}

export function matformerMeta(g: Graph): MatformerMeta | undefined {
  return g.meta?.matformer as MatformerMeta | undefined;
}

/** Validates config.json's "matformer" block against d_ff; returns the ascending granularities. */
export function checkGranularities(config: Record<string, unknown>, dFF: number, dffField: string, cfgFile: string): number[] {
  const mf = config.matformer as { granularities?: unknown } | undefined;
  if (!mf || typeof mf !== 'object' || !Array.isArray(mf.granularities) || mf.granularities.length === 0) {
    fail(`${cfgFile}: "matformer": {"granularities": [...]} is missing or empty; list the nested FFN widths (e.g. [${dFF / 8}, ${dFF / 4}, ${dFF / 2}, ${dFF}])`);
  }
  const gs = mf.granularities as unknown[];
  for (const m of gs) {
    if (typeof m !== 'number' || !Number.isInteger(m) || m <= 0) fail(`${cfgFile}: matformer granularity ${JSON.stringify(m)} is not a positive integer`);
    if (m > dFF) fail(`${cfgFile}: matformer granularity ${m} exceeds ${dffField} ${dFF}; granularities must be at most the full FFN width`);
    if (dFF % m !== 0) fail(`${cfgFile}: matformer granularity ${m} does not divide ${dffField} ${dFF} (${dFF} / ${m} = ${(dFF / m).toFixed(3)}); use divisors of ${dFF}`);
  }
  const sorted = [...(gs as number[])].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) fail(`${cfgFile}: matformer granularity ${sorted[i]} is listed twice`);
  return sorted;
}

export function positiveInt(config: Record<string, unknown>, field: string, cfgFile: string): number {
  const v = config[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${cfgFile}: "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function sequenceLengthFor(requested: number | undefined, max: number, maxField: string, cfgFile: string): number {
  const T = requested ?? max;
  if (!Number.isInteger(T) || T < 1) fail(`${cfgFile}: sequence length ${T} must be a positive integer`);
  if (T > max) fail(`${cfgFile}: sequence length ${T} exceeds ${maxField} ${max}; use at most ${max}`);
  return T;
}

/** Graph builder shared by the MatFormer frontends: named tensors (checked), fresh value names. */
export class MatformerBuilder extends CheckpointTensors {
  readonly nodes: GraphNode[] = [];
  private counter = 0;

  add(op: string, name: string, inputs: string[], attrs: unknown, output?: string): string {
    const out = output ?? `${name}#${this.counter++}`;
    this.nodes.push({ op, name, inputs, outputs: [out], attrs });
    return out;
  }

  dense(name: string, x: string, weights: Float32Array, bias: Float32Array, inF: number, outF: number, activation: Activation = 'linear', output?: string): string {
    return this.add('dense', name, [x], { inFeatures: inF, outFeatures: outF, weights, bias, activation }, output);
  }

  /** nn.Linear with bias by its state_dict prefix */
  linear(prefix: string, x: string, inF: number, outF: number, activation: Activation = 'linear', output?: string): string {
    return this.dense(prefix, x, this.tensor(`${prefix}.weight`, [outF, inF]), this.tensor(`${prefix}.bias`, [outF]), inF, outF, activation, output);
  }

  layerNorm(prefix: string, x: string, d: number, eps: number, withBias: boolean, output?: string): string {
    return this.add('layer_norm', prefix, [x], { eps, weight: this.tensor(`${prefix}.weight`, [d]), bias: withBias ? this.tensor(`${prefix}.bias`, [d]) : null }, output);
  }
}

export interface MatformerImportOptions {
  /** tokens per sequence (default: the model's maximum) */
  sequenceLength?: number;
}

export function importMatformerBert(dir: string, config: Record<string, unknown>, weights: SafeTensorsFile, name: string, opts: MatformerImportOptions = {}): Graph {
  const cfgFile = join(dir, 'config.json');
  const b = new MatformerBuilder(weights, join(dir, 'model.safetensors'));
  const D = positiveInt(config, 'hidden_size', cfgFile), L = positiveInt(config, 'num_hidden_layers', cfgFile);
  const H = positiveInt(config, 'num_attention_heads', cfgFile), F = positiveInt(config, 'intermediate_size', cfgFile);
  const V = positiveInt(config, 'vocab_size', cfgFile), P = positiveInt(config, 'max_position_embeddings', cfgFile);
  const TV = positiveInt(config, 'type_vocab_size', cfgFile);
  const eps = typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-12;
  if (D % H !== 0) fail(`${cfgFile}: hidden_size ${D} is not divisible by num_attention_heads ${H}`);
  if (config.hidden_act !== undefined && config.hidden_act !== 'gelu') fail(`${cfgFile}: hidden_act = ${JSON.stringify(config.hidden_act)} is not supported (only "gelu", the exact erf form)`);
  if (config.position_embedding_type !== undefined && config.position_embedding_type !== 'absolute') fail(`${cfgFile}: position_embedding_type = ${JSON.stringify(config.position_embedding_type)} is not supported (only "absolute")`);
  if (config.is_decoder === true || config.add_cross_attention === true) fail(`${cfgFile}: decoder / cross-attention BERT variants are not supported`);
  const granularities = checkGranularities(config, F, 'intermediate_size', cfgFile);
  const T = sequenceLengthFor(opts.sequenceLength, P, 'max_position_embeddings', cfgFile);
  const dh = D / H;

  b.markUsed('embeddings.position_ids');
  const emb = b.add('embedding', 'embeddings', ['input_ids', 'token_type_ids'], {
    dim: D,
    word: { weight: b.tensor('embeddings.word_embeddings.weight', [V, D]), rows: V },
    tokenType: { weight: b.tensor('embeddings.token_type_embeddings.weight', [TV, D]), rows: TV },
    position: { weight: b.tensor('embeddings.position_embeddings.weight', [P, D]), rows: P },
  });
  let h = b.layerNorm('embeddings.LayerNorm', emb, D, eps, true);
  const layers: MatformerMeta['layers'] = [];
  for (let n = 0; n < L; n++) {
    const p = `encoder.layer.${n}`;
    const q = b.linear(`${p}.attention.self.query`, h, D, D);
    const k = b.linear(`${p}.attention.self.key`, h, D, D);
    const v = b.linear(`${p}.attention.self.value`, h, D, D);
    const c = b.add('attention', `${p}.attention.self`, [q, k, v, 'attention_mask'], { heads: H, headDim: dh, causal: false });
    const a = b.linear(`${p}.attention.output.dense`, c, D, D);
    h = b.layerNorm(`${p}.attention.output.LayerNorm`, b.add('add', `${p}.attention.output.residual`, [a, h], {}), D, eps, true);
    const u = b.linear(`${p}.intermediate.dense`, h, D, F, 'gelu');
    const o = b.linear(`${p}.output.dense`, u, F, D);
    h = b.layerNorm(`${p}.output.LayerNorm`, b.add('add', `${p}.output.residual`, [o, h], {}), D, eps, true, n === L - 1 ? 'last_hidden_state' : undefined);
    layers.push({ up: `${p}.intermediate.dense`, down: `${p}.output.dense` });
  }
  if (L === 0) h = b.add('reshape', 'last_hidden_state', [h], { shape: [T, D] }, 'last_hidden_state');
  const first = b.add('gather', 'pooler.first_token', ['last_hidden_state'], { axis: 0, indices: [0] });
  const pooled = b.linear('pooler.dense', first, D, D, 'tanh');
  b.add('reshape', 'pooler', [pooled], { shape: [D] }, 'pooler_output');
  b.checkNoExtra();

  const meta: MatformerMeta = {
    family: 'bert', granularities, dFF: F, layers, widths: layers.map(() => F), sequenceLength: T,
    biasFree: [], tied: [], inputNames: ['input_ids', 'token_type_ids', 'attention_mask'], configFile: cfgFile,
  };
  const g: Graph = {
    name, source: dir, modelType: 'matformer-bert',
    inputs: meta.inputNames.map((n) => ({ name: n, shape: [T], dtype: 'float32' as const })),
    outputs: [{ name: 'last_hidden_state', shape: [T, D], dtype: 'float32' }, { name: 'pooler_output', shape: [D], dtype: 'float32' }],
    nodes: b.nodes, values: new Map(), meta: { matformer: meta },
  };
  inferShapes(g);
  return g;
}
