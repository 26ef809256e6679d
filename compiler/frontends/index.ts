/** Picks the frontend for a checkpoint folder by config.json's model_type. One frontend = one file. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fail } from '../errors.js';
import { readSafetensors } from '../io/safetensors.js';
import type { Graph } from '../ir/graph.js';
import { importMlp, MODEL_TYPE as MLP } from './tinyforge-mlp.js';
import { importTtm, MODEL_TYPE as TTM } from './tinytimemixer.js';
import { importTflite } from './tflite.js';
import { importMatformerBert, MODEL_TYPE as MATBERT } from './matformer-bert.js';
import { importMatformerOlmo, MODEL_TYPE as MATOLMO } from './matformer-olmo.js';

export const SUPPORTED_MODEL_TYPES = [MLP, TTM, `${MATBERT} (with "matformer")`, MATOLMO];

/** A C-identifier-safe model name from a folder name. */
export function modelNameFrom(dir: string): string {
  const n = basename(resolve(dir)).replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(n) ? n : `m_${n}`;
}

export function importCheckpoint(path: string): Graph {
  if (!existsSync(path)) fail(`${path}: no such model folder; pass a folder with config.json and model.safetensors`);
  if (/\.tflite$/i.test(path) && statSync(path).isFile()) return importTflite(path);
  if (!statSync(path).isDirectory()) fail(`${path}: expected a checkpoint folder (config.json + model.safetensors), got a file`);
  const cfgFile = join(path, 'config.json');
  if (!existsSync(cfgFile)) fail(`${cfgFile}: missing; a checkpoint folder needs config.json and model.safetensors`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    fail(`${cfgFile}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof config !== 'object' || config === null) fail(`${cfgFile}: expected a JSON object`);
  const weightsFile = join(path, 'model.safetensors');
  if (!existsSync(weightsFile)) fail(`${weightsFile}: missing; a checkpoint folder needs config.json and model.safetensors`);
  const type = config.model_type;
  switch (type) {
    case MLP: return importMlp(path, config, readSafetensors(weightsFile), modelNameFrom(path));
    case TTM: return importTtm(path, config, readSafetensors(weightsFile), modelNameFrom(path));
    case MATBERT: if (!config.matformer) fail(`${cfgFile}: model_type "bert" is supported for MatFormer checkpoints only (config.json needs "matformer": {"granularities": [...]})`);
      return importMatformerBert(path, config, readSafetensors(weightsFile), modelNameFrom(path));
    case MATOLMO: return importMatformerOlmo(path, config, readSafetensors(weightsFile), modelNameFrom(path));
    default: fail(`${cfgFile}: unsupported model_type ${JSON.stringify(type)} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
}
