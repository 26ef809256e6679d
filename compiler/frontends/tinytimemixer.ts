/**
 * Frontend for IBM's TinyTimeMixer forecasters (granite-tsfm `TinyTimeMixerForPrediction`), read from
 * the HuggingFace folder as saved: config.json (`"model_type": "tinytimemixer"`) + model.safetensors
 * with the PyTorch state_dict names. One forecast = one graph evaluation on past_values [context, channels]:
 *   scale -> patchify -> patcher -> encoder mixers (adaptive patching levels, coarsest first)
 *   -> decoder adapter + mixers -> flatten + forecast head -> [horizon, channels] -> unscale.
 * Config values we do not implement are refused naming the field, never silently ignored.
 */
import { join } from 'node:path';
import { fail } from '../errors.js';
import { CheckpointTensors } from './checkpoint.js';
import type { SafeTensorsFile } from '../io/safetensors.js';
import { inferShapes, type Graph, type GraphNode } from '../ir/graph.js';
import { foldBatchNorm } from '../ops/batch-norm/index.js';
import { patchCount } from '../ops/patchify/index.js';
import type { ScalingKind } from '../ops/scaler/index.js';

export const MODEL_TYPE = 'tinytimemixer';

export interface TtmConfig {
  context_length: number;
  prediction_length: number;
  patch_length: number;
  patch_stride: number;
  num_patches?: number;
  num_input_channels: number;
  d_model: number;
  num_layers: number;
  expansion_factor: number;
  adaptive_patching_levels: number;
  decoder_d_model: number;
  decoder_num_layers: number;
  decoder_mode: string;
  decoder_adaptive_patching_levels?: number;
  decoder_raw_residual?: boolean;
  mode: string;
  norm_mlp: string;
  norm_eps: number;
  gated_attn: boolean;
  self_attn?: boolean;
  scaling: string | boolean | null;
  use_decoder?: boolean;
  use_positional_encoding?: boolean;
  resolution_prefix_tuning?: boolean;
  exogenous_channel_indices?: number[] | null;
  enable_forecast_channel_mixing?: boolean;
  categorical_vocab_size_list?: number[] | null;
  prediction_channel_indices?: number[] | null;
  prediction_filter_length?: number | null;
}

class TtmBuilder extends CheckpointTensors {
  readonly nodes: GraphNode[] = [];
  private counter = 0;

  private fresh(hint: string): string { return `${hint}#${this.counter++}`; }

  /** adds a node; `outputs` is a count of fresh value names or the names themselves */
  add(op: string, name: string, inputs: string[], attrs: unknown, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs !== 'number' ? outputs : Array.from({ length: outputs }, (_, i) => this.fresh(`${name}${outputs > 1 ? `.${i}` : ''}`));
    this.nodes.push({ op, name, inputs, outputs: outs, attrs });
    return outs;
  }

  one(op: string, name: string, inputs: string[], attrs: unknown = {}): string { return this.add(op, name, inputs, attrs)[0]; }

  linear(prefix: string, x: string, inF: number, outF: number, activation: 'linear' | 'gelu' = 'linear'): string {
    return this.one('dense', prefix, [x], {
      inFeatures: inF, outFeatures: outF, activation,
      weights: this.tensor(`${prefix}.weight`, [outF, inF]), bias: this.tensor(`${prefix}.bias`, [outF]),
    });
  }
}

function validate(cfg: TtmConfig, cfgFile: string): void {
  const refuse = (field: string, value: unknown, why: string) => fail(`${cfgFile}: ${field} = ${JSON.stringify(value)} is not supported (${why})`);
  const posInt = (field: keyof TtmConfig) => {
    const v = cfg[field];
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`${cfgFile}: "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
  };
  for (const f of ['context_length', 'prediction_length', 'patch_length', 'patch_stride', 'num_input_channels', 'd_model', 'num_layers', 'expansion_factor', 'decoder_d_model', 'decoder_num_layers'] as const) posInt(f);
  if (cfg.resolution_prefix_tuning) refuse('resolution_prefix_tuning', true, 'resolution-prefix tuning is not implemented; use a checkpoint without it');
  if (cfg.exogenous_channel_indices && cfg.exogenous_channel_indices.length) refuse('exogenous_channel_indices', cfg.exogenous_channel_indices, 'exogenous channels are not implemented');
  if (cfg.enable_forecast_channel_mixing) refuse('enable_forecast_channel_mixing', true, 'forecast-channel mixing is not implemented');
  if (cfg.categorical_vocab_size_list && cfg.categorical_vocab_size_list.length) refuse('categorical_vocab_size_list', cfg.categorical_vocab_size_list, 'static categorical features are not implemented');
  if (cfg.self_attn) refuse('self_attn', true, 'the self-attention variant of the patch mixer is not implemented');
  if (cfg.use_positional_encoding) refuse('use_positional_encoding', true, 'positional encodings are not implemented');
  if (cfg.decoder_raw_residual) refuse('decoder_raw_residual', true, 'raw-residual decoders are not implemented');
  for (const [field, mode] of [['mode', cfg.mode], ['decoder_mode', cfg.decoder_mode]] as const) {
    if (mode !== 'common_channel' && mode !== 'mix_channel') refuse(field, mode, 'expected common_channel or mix_channel');
  }
  if (!/^(layernorm|batchnorm)$/i.test(cfg.norm_mlp ?? '')) refuse('norm_mlp', cfg.norm_mlp, 'expected LayerNorm or BatchNorm');
  const levels = cfg.adaptive_patching_levels ?? 0;
  if (!Number.isInteger(levels) || levels < 0) refuse('adaptive_patching_levels', levels, 'expected an integer >= 0');
  if (levels > 0 && cfg.d_model % 2 ** (levels - 1) !== 0) refuse('adaptive_patching_levels', levels, `d_model ${cfg.d_model} is not divisible by 2^${levels - 1}`);
  const np = patchCount(cfg.context_length, { patchLength: cfg.patch_length, stride: cfg.patch_stride });
  if (cfg.num_patches !== undefined && cfg.num_patches !== np) refuse('num_patches', cfg.num_patches, `context_length ${cfg.context_length}, patch_length ${cfg.patch_length} and patch_stride ${cfg.patch_stride} give ${np}`);
}

export function scalingKind(v: TtmConfig['scaling'], cfgFile: string): ScalingKind {
  if (v === 'std') return 'std';
  if (v === 'mean' || v === true) return 'mean';
  if (v === null || v === false || v === undefined || v === 'none') return 'none';
  return fail(`${cfgFile}: scaling = ${JSON.stringify(v)} is not supported (expected "std", "mean" or null)`);
}

/** One TinyTimeMixerLayer (channel mixer if mix_channel, patch mixer if np > 1, feature mixer) on [C, np, d]. */
function mixerLayer(b: TtmBuilder, prefix: string, x: string, C: number, np: number, d: number, cfg: TtmConfig, mode: string): string {
  const e = cfg.expansion_factor;
  const norm = (p: string, v: string) => {
    if (/^batchnorm$/i.test(cfg.norm_mlp)) {
      const bn = `${p}.norm.norm.batchnorm`;
      b.markUsed(`${bn}.num_batches_tracked`);
      return b.one('affine', `${p}.norm`, [v], foldBatchNorm(b.tensor(`${bn}.weight`, [d]), b.tensor(`${bn}.bias`, [d]), b.tensor(`${bn}.running_mean`, [d]), b.tensor(`${bn}.running_var`, [d]), cfg.norm_eps));
    }
    return b.one('layer_norm', `${p}.norm`, [v], { eps: cfg.norm_eps, weight: b.tensor(`${p}.norm.norm.weight`, [d]), bias: b.tensor(`${p}.norm.norm.bias`, [d]) });
  };
  const gate = (p: string, v: string, n: number) => {
    if (!cfg.gated_attn) return v;
    const logits = b.linear(`${p}.gating_block.attn_layer`, v, n, n);
    const w = b.one('softmax', `${p}.gating_block.softmax`, [logits]);
    return b.one('mul', `${p}.gating_block`, [v, w]);
  };
  const mlp = (p: string, v: string, n: number) => b.linear(`${p}.mlp.fc2`, b.linear(`${p}.mlp.fc1`, v, n, n * e, 'gelu'), n * e, n);

  if (mode === 'mix_channel') {
    const p = `${prefix}.channel_feature_mixer`;
    let h = norm(p, x);
    h = b.one('transpose', `${p}.permute`, [h], { perm: [2, 1, 0] }); // [d, np, C]
    h = gate(p, h, C);
    h = mlp(p, h, C);
    h = b.one('transpose', `${p}.unpermute`, [h], { perm: [2, 1, 0] });
    x = b.one('add', `${p}.residual`, [h, x]);
  }
  if (np > 1) {
    const p = `${prefix}.patch_mixer`;
    let h = norm(p, x);
    h = b.one('transpose', `${p}.transpose`, [h], { perm: [0, 2, 1] }); // [C, d, np]
    h = mlp(p, h, np);
    h = gate(p, h, np);
    h = b.one('transpose', `${p}.untranspose`, [h], { perm: [0, 2, 1] });
    x = b.one('add', `${p}.residual`, [h, x]);
  }
  const p = `${prefix}.feature_mixer`;
  let h = norm(p, x);
  h = mlp(p, h, d);
  h = gate(p, h, d);
  return b.one('add', `${p}.residual`, [h, x]);
}

/** A TinyTimeMixerBlock: adaptive-patching levels (coarsest first) or plain layers. */
function mixerBlock(b: TtmBuilder, prefix: string, x: string, C: number, np: number, d: number, layers: number, levels: number, cfg: TtmConfig, mode: string): string {
  if (levels === 0) {
    for (let n = 0; n < layers; n++) x = mixerLayer(b, `${prefix}.mixers.${n}`, x, C, np, d, cfg, mode);
    return x;
  }
  for (let li = 0; li < levels; li++) {
    const f = 2 ** (levels - 1 - li);
    let h = f > 1 ? b.one('reshape', `${prefix}.mixers.${li}.reshape`, [x], { shape: [C, np * f, d / f] }) : x;
    for (let n = 0; n < layers; n++) h = mixerLayer(b, `${prefix}.mixers.${li}.mixer_layers.${n}`, h, C, np * f, d / f, cfg, mode);
    x = f > 1 ? b.one('reshape', `${prefix}.mixers.${li}.unreshape`, [h], { shape: [C, np, d] }) : h;
  }
  return x;
}

export function importTtm(dir: string, config: Record<string, unknown>, weights: SafeTensorsFile, name: string): Graph {
  const cfgFile = join(dir, 'config.json');
  const wFile = join(dir, 'model.safetensors');
  const cfg = config as unknown as TtmConfig;
  validate(cfg, cfgFile);
  const b = new TtmBuilder(weights, wFile);
  const L = cfg.context_length, C = cfg.num_input_channels, d = cfg.d_model, dd = cfg.decoder_d_model;
  const np = patchCount(L, { patchLength: cfg.patch_length, stride: cfg.patch_stride });

  const [scaled, loc, scale] = b.add('scale_series', 'backbone.scaler', ['past_values'], { kind: scalingKind(cfg.scaling, cfgFile) }, 3);
  const patches = b.one('patchify', 'backbone.patching', [scaled], { patchLength: cfg.patch_length, stride: cfg.patch_stride });
  let h = b.linear('backbone.encoder.patcher', patches, cfg.patch_length, d);
  h = mixerBlock(b, 'backbone.encoder.mlp_mixer_encoder', h, C, np, d, cfg.num_layers, cfg.adaptive_patching_levels ?? 0, cfg, cfg.mode);
  let headIn = d;
  if (cfg.use_decoder !== false) {
    h = b.linear('decoder.adapter', h, d, dd);
    h = mixerBlock(b, 'decoder.decoder_block', h, C, np, dd, cfg.decoder_num_layers, cfg.decoder_adaptive_patching_levels ?? 0, cfg, cfg.decoder_mode);
    headIn = dd;
  }
  h = b.one('reshape', 'head.flatten', [h], { shape: [C, np * headIn] });
  const headT = weights.tensors.get('head.base_forecast_block.weight');
  const horizon = cfg.prediction_filter_length ?? cfg.prediction_length;
  if (headT && headT.shape[0] !== horizon) {
    fail(`${wFile}: tensor 'head.base_forecast_block.weight' has shape ${JSON.stringify(headT.shape)} but config.json needs [${horizon}, ${np * headIn}] (${cfg.prediction_filter_length ? 'prediction_filter_length' : 'prediction_length'} = ${horizon})`);
  }
  h = b.linear('head.base_forecast_block', h, np * headIn, horizon);
  let y = b.one('transpose', 'head.transpose', [h], { perm: [1, 0] }); // [H, C]
  let yLoc = loc, yScale = scale, outC = C;
  const pci = cfg.prediction_channel_indices;
  if (pci !== undefined && pci !== null && !Array.isArray(pci)) fail(`${cfgFile}: prediction_channel_indices must be a list of channel indices or null, got ${JSON.stringify(pci)}`);
  if (pci && pci.length) {
    if (pci.some((i) => !Number.isInteger(i) || i < 0 || i >= C)) fail(`${cfgFile}: prediction_channel_indices ${JSON.stringify(pci)} are out of range for ${C} channels`);
    y = b.one('gather', 'head.prediction_channels', [y], { axis: 1, indices: pci });
    yLoc = b.one('gather', 'head.prediction_channels.loc', [loc], { axis: 0, indices: pci });
    yScale = b.one('gather', 'head.prediction_channels.scale', [scale], { axis: 0, indices: pci });
    outC = pci.length;
  }
  b.add('unscale_series', 'prediction_outputs', [y, yLoc, yScale], {}, ['prediction_outputs']);

  b.checkNoExtra();
  const g: Graph = {
    name, source: dir, modelType: MODEL_TYPE,
    inputs: [{ name: 'past_values', shape: [L, C], dtype: 'float32' }],
    outputs: [{ name: 'prediction_outputs', shape: [horizon, outC], dtype: 'float32' }],
    nodes: b.nodes, values: new Map(),
    meta: { contextLength: L, predictionLength: horizon, channels: C, outputChannels: outC, numPatches: np },
  };
  inferShapes(g);
  return g;
}
