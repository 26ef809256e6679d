/** Seeded dense checkpoints used by the benchmark and the tests (written as real checkpoint folders). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../compiler/io/safetensors.js';

export interface MlpSpec { inputSize: number; layers: Array<{ units: number; activation: string }> }

export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

export function writeMlp(dir: string, spec: MlpSpec, seed = 7): string {
  mkdirSync(dir, { recursive: true });
  const r = xorshift(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const tensors: Record<string, TensorToWrite> = {};
  let n = spec.inputSize;
  spec.layers.forEach((l, i) => {
    tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [l.units, n], data: Float32Array.from({ length: l.units * n }, () => gauss() / Math.sqrt(n)) };
    tensors[`layers.${i}.bias`] = { dtype: 'F32', shape: [l.units], data: Float32Array.from({ length: l.units }, () => 0.1 * gauss()) };
    n = l.units;
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'tinyforge-mlp', input_size: spec.inputSize, layers: spec.layers }));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

export function writeCalib(file: string, samples: number, features: number, seed = 11, scale = 1.5): string {
  const r = xorshift(seed);
  writeSafetensors(file, { input: { dtype: 'F32', shape: [samples, features], data: Float32Array.from({ length: samples * features }, () => (r() * 2 - 1) * scale) } });
  return file;
}

/** The dense models of the cross-target proof and the benchmark. */
export const PROOF_MODELS: Record<string, MlpSpec> = {
  // the nn4mc forward-model size: 26 inputs -> 3 outputs
  forward26: { inputSize: 26, layers: [{ units: 32, activation: 'tanh' }, { units: 32, activation: 'tanh' }, { units: 3, activation: 'linear' }] },
  // > 100k parameters
  wide115k: { inputSize: 64, layers: [{ units: 256, activation: 'relu' }, { units: 256, activation: 'gelu' }, { units: 128, activation: 'relu' }, { units: 8, activation: 'linear' }] },
  // every activation, odd sizes
  mixed: { inputSize: 13, layers: [{ units: 47, activation: 'sigmoid' }, { units: 29, activation: 'gelu' }, { units: 17, activation: 'relu' }, { units: 5, activation: 'tanh' }] },
};

/** TFLite Micro's hello_world shape (1 -> 16 -> 16 -> 1, ReLU), for the side-by-side with its CMSIS-NN numbers. */
export const HELLO_WORLD_SHAPE: MlpSpec = { inputSize: 1, layers: [{ units: 16, activation: 'relu' }, { units: 16, activation: 'relu' }, { units: 1, activation: 'linear' }] };
