/**
 * Frontend for our dense "forward model" family: a folder with config.json
 *   { "model_type": "tinyforge-mlp", "input_size": 26,
 *     "layers": [{ "units": 64, "activation": "tanh" }, { "units": 3, "activation": "linear" }],
 *     "input_name"?: "input", "output_name"?: "output" }
 * and model.safetensors holding `layers.<i>.weight` [units, in] (PyTorch nn.Linear layout) and
 * `layers.<i>.bias` [units], in F32/F16/BF16.
 */
import { join } from 'node:path';
import { fail } from '../errors.js';
import { toFloat32, type SafeTensorsFile } from '../io/safetensors.js';
import { inferShapes, type Graph, type GraphNode } from '../ir/graph.js';
import { ACTIVATIONS, type Activation } from '../plan/program.js';

export const MODEL_TYPE = 'tinyforge-mlp';

interface MlpConfig {
  input_size: number;
  layers: Array<{ units: number; activation: string }>;
  input_name?: string;
  output_name?: string;
}

export function importMlp(dir: string, config: Record<string, unknown>, weights: SafeTensorsFile, name: string): Graph {
  const cfgFile = join(dir, 'config.json');
  const wFile = join(dir, 'model.safetensors');
  const cfg = config as unknown as MlpConfig;
  if (!Number.isInteger(cfg.input_size) || cfg.input_size <= 0) fail(`${cfgFile}: "input_size" must be a positive integer, got ${JSON.stringify(cfg.input_size)}`);
  if (!Array.isArray(cfg.layers) || cfg.layers.length === 0) fail(`${cfgFile}: "layers" must be a non-empty list of {units, activation}`);
  const nodes: GraphNode[] = [];
  const expected = new Set<string>();
  let inFeatures = cfg.input_size;
  const inputName = cfg.input_name ?? 'input';
  const outputName = cfg.output_name ?? 'output';
  let prev = inputName;
  cfg.layers.forEach((layer, i) => {
    if (!Number.isInteger(layer?.units) || layer.units <= 0) fail(`${cfgFile}: layers[${i}].units must be a positive integer, got ${JSON.stringify(layer?.units)}`);
    const act = (layer.activation ?? 'linear') as Activation;
    if (!ACTIVATIONS.includes(act)) fail(`${cfgFile}: layers[${i}] has unknown activation '${layer.activation}' (supported: ${ACTIVATIONS.join(', ')})`);
    const wName = `layers.${i}.weight`, bName = `layers.${i}.bias`;
    expected.add(wName); expected.add(bName);
    const w = weights.tensors.get(wName), b = weights.tensors.get(bName);
    if (!w) fail(`${wFile}: missing tensor '${wName}' for layers[${i}] of config.json`);
    if (!b) fail(`${wFile}: missing tensor '${bName}' for layers[${i}] of config.json`);
    if (w.shape.length !== 2 || w.shape[0] !== layer.units || w.shape[1] !== inFeatures) {
      fail(`${wFile}: tensor '${wName}' has shape ${JSON.stringify(w.shape)} but config.json needs [${layer.units}, ${inFeatures}]`);
    }
    if (b.shape.length !== 1 || b.shape[0] !== layer.units) fail(`${wFile}: tensor '${bName}' has shape ${JSON.stringify(b.shape)} but config.json needs [${layer.units}]`);
    const out = i === cfg.layers.length - 1 ? outputName : `layers.${i}.out`;
    nodes.push({
      op: 'dense', name: `layer${i}`, inputs: [prev], outputs: [out],
      attrs: { inFeatures, outFeatures: layer.units, weights: toFloat32(w, wName, wFile), bias: toFloat32(b, bName, wFile), activation: act },
    });
    prev = out;
    inFeatures = layer.units;
  });
  for (const t of weights.tensors.keys()) {
    if (!expected.has(t)) fail(`${wFile}: unexpected tensor '${t}' that config.json's ${cfg.layers.length} layers do not use; the weights do not match the config`);
  }
  const g: Graph = {
    name, source: dir, modelType: MODEL_TYPE,
    inputs: [{ name: inputName, shape: [cfg.input_size], dtype: 'float32' }],
    outputs: [{ name: outputName, shape: [], dtype: 'float32' }],
    nodes, values: new Map(),
  };
  inferShapes(g);
  return g;
}
