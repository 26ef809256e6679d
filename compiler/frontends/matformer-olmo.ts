/**
 * Frontend for MatFormer-OLMo causal LMs (`"model_type": "matformer-olmo"`, OLMo state_dict names under
 * `transformer.`). Sequential pre-LN blocks for a fixed sequence length T:
 *   inputs  input_ids [T], attention_mask [T] (float32 values holding exact integers)
 *   x = wte[input_ids]
 *   per block: x += attn_out(attention(RoPE(q), RoPE(k), v)) with [q; k; v] = att_proj(attn_norm(x))
 *              (causal + key padding mask); x += ff_out(GELU(ff_proj(ff_norm(x))))
 *   logits [T, vocab] = ln_f(x) @ wte^T (weight_tying) or @ transformer.ff_out.weight^T
 * LayerNorms without bias (bias_for_layer_norm: false) or with; linear biases when include_bias.
 * RoPE: rotate-half, theta = rope_theta (default 10000), positions 0..T-1.
 */
import { join } from 'node:path';
import { fail } from '../errors.js';
import type { SafeTensorsFile } from '../io/safetensors.js';
import { inferShapes, type Graph } from '../ir/graph.js';
import {
  checkGranularities, MatformerBuilder, positiveInt, sequenceLengthFor, type MatformerImportOptions, type MatformerMeta,
} from './matformer-bert.js';

export const MODEL_TYPE = 'matformer-olmo';

export function importMatformerOlmo(dir: string, config: Record<string, unknown>, weights: SafeTensorsFile, name: string, opts: MatformerImportOptions = {}): Graph {
  const cfgFile = join(dir, 'config.json');
  const b = new MatformerBuilder(weights, join(dir, 'model.safetensors'));
  const refuse = (field: string, why: string) => fail(`${cfgFile}: ${field} = ${JSON.stringify(config[field])} is not supported (${why})`);
  const D = positiveInt(config, 'd_model', cfgFile), L = positiveInt(config, 'n_layers', cfgFile), H = positiveInt(config, 'n_heads', cfgFile);
  const V = positiveInt(config, 'vocab_size', cfgFile), maxT = positiveInt(config, 'max_sequence_length', cfgFile);
  const rows = typeof config.embedding_size === 'number' ? positiveInt(config, 'embedding_size', cfgFile) : V;
  if (rows < V) fail(`${cfgFile}: embedding_size ${rows} is smaller than vocab_size ${V}`);
  let F: number;
  if (config.mlp_hidden_size !== undefined && config.mlp_hidden_size !== null) F = positiveInt(config, 'mlp_hidden_size', cfgFile);
  else F = positiveInt(config, 'mlp_ratio', cfgFile) * D;
  if (D % H !== 0) fail(`${cfgFile}: d_model ${D} is not divisible by n_heads ${H}`);
  if (config.block_type !== undefined && config.block_type !== 'sequential') refuse('block_type', 'only "sequential" blocks');
  if (config.activation_type !== undefined && config.activation_type !== 'gelu') refuse('activation_type', 'only "gelu" (exact erf form); SwiGLU is not implemented');
  if (config.alibi === true) refuse('alibi', 'ALiBi is not implemented; use rope');
  if (config.rope !== true) refuse('rope', 'only RoPE position encoding is implemented');
  if (config.multi_query_attention === true) refuse('multi_query_attention', 'multi-query attention is not implemented');
  if (config.attention_layer_norm === true) refuse('attention_layer_norm', 'q/k layer norms are not implemented');
  if (config.layer_norm_type !== undefined && config.layer_norm_type !== 'default') refuse('layer_norm_type', 'only "default" LayerNorm');
  if (config.layer_norm_with_affine === false) refuse('layer_norm_with_affine', 'LayerNorms without weights are not implemented');
  if (config.clip_qkv !== undefined && config.clip_qkv !== null) refuse('clip_qkv', 'q/k/v clipping is not implemented');
  const theta = config.rope_theta === undefined ? 10000 : Number(config.rope_theta);
  if (!(theta > 0)) refuse('rope_theta', 'must be a positive number');
  const withBias = config.include_bias === true, lnBias = config.bias_for_layer_norm === true;
  const eps = typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-5;
  const tiedWeights = config.weight_tying !== false;
  const granularities = checkGranularities(config, F, config.mlp_hidden_size ? 'mlp_hidden_size' : 'mlp_ratio x d_model', cfgFile);
  const T = sequenceLengthFor(opts.sequenceLength, maxT, 'max_sequence_length', cfgFile);
  const dh = D / H;
  if (dh % 2 !== 0) fail(`${cfgFile}: head dimension ${dh} (d_model / n_heads) must be even for RoPE`);

  const biasFree: string[] = [];
  const linear = (name: string, x: string, w: Float32Array, bias: Float32Array | null, inF: number, outF: number, act: 'linear' | 'gelu' = 'linear', output?: string) => {
    if (!bias) biasFree.push(name);
    return b.dense(name, x, w, bias ?? new Float32Array(outF), inF, outF, act, output);
  };
  const tensorOrNull = (n: string, shape: number[]) => (withBias ? b.tensor(n, shape) : null);

  const wte = b.tensor('transformer.wte.weight', [rows, D]);
  let x = b.add('embedding', 'transformer.wte', ['input_ids'], { dim: D, word: { weight: wte, rows }, tokenType: null, position: null });
  const layers: MatformerMeta['layers'] = [];
  for (let n = 0; n < L; n++) {
    const p = `transformer.blocks.${n}`;
    let h = b.layerNorm(`${p}.attn_norm`, x, D, eps, lnBias);
    const w = b.tensor(`${p}.att_proj.weight`, [3 * D, D]);
    const bias = tensorOrNull(`${p}.att_proj.bias`, [3 * D]);
    const part = (i: number, tag: string) => linear(`${p}.att_proj.${tag}`, h, w.slice(i * D * D, (i + 1) * D * D), bias ? bias.slice(i * D, (i + 1) * D) : null, D, D);
    const q = b.add('rope', `${p}.rope_q`, [part(0, 'q')], { heads: H, headDim: dh, theta });
    const k = b.add('rope', `${p}.rope_k`, [part(1, 'k')], { heads: H, headDim: dh, theta });
    const v = part(2, 'v');
    const c = b.add('attention', `${p}.attention`, [q, k, v, 'attention_mask'], { heads: H, headDim: dh, causal: true });
    const a = linear(`${p}.attn_out`, c, b.tensor(`${p}.attn_out.weight`, [D, D]), tensorOrNull(`${p}.attn_out.bias`, [D]), D, D);
    x = b.add('add', `${p}.attn_residual`, [a, x], {});
    h = b.layerNorm(`${p}.ff_norm`, x, D, eps, lnBias);
    const u = linear(`${p}.ff_proj`, h, b.tensor(`${p}.ff_proj.weight`, [F, D]), tensorOrNull(`${p}.ff_proj.bias`, [F]), D, F, 'gelu');
    const o = linear(`${p}.ff_out`, u, b.tensor(`${p}.ff_out.weight`, [D, F]), tensorOrNull(`${p}.ff_out.bias`, [D]), F, D);
    x = b.add('add', `${p}.ff_residual`, [o, x], {});
    layers.push({ up: `${p}.ff_proj`, down: `${p}.ff_out` });
  }
  const f = b.layerNorm('transformer.ln_f', x, D, eps, lnBias);
  const tied: string[] = [];
  let head: Float32Array;
  if (tiedWeights) { head = wte.slice(0, V * D); tied.push('lm_head'); }
  else head = b.tensor('transformer.ff_out.weight', [V, D]);
  const headBias = withBias && !tiedWeights ? b.tensor('transformer.ff_out.bias', [V]) : null;
  linear(tiedWeights ? 'lm_head' : 'transformer.ff_out', f, head, headBias, D, V, 'linear', 'logits');
  b.checkNoExtra();

  const meta: MatformerMeta = {
    family: 'olmo', granularities, dFF: F, layers, widths: layers.map(() => F), sequenceLength: T,
    biasFree, tied, inputNames: ['input_ids', 'attention_mask'], configFile: cfgFile,
  };
  const g: Graph = {
    name, source: dir, modelType: MODEL_TYPE,
    inputs: meta.inputNames.map((n) => ({ name: n, shape: [T], dtype: 'float32' as const })),
    outputs: [{ name: 'logits', shape: [T, V], dtype: 'float32' }],
    nodes: b.nodes, values: new Map(), meta: { matformer: meta },
  };
  inferShapes(g);
  return g;
}
