/**
 * Loads the forward model an MPC controller is generated around: a checkpoint folder or a compiled folder,
 * float32 or int8. An int8 checkpoint model is calibrated (min/max) on `calib` (safetensors or CSV of model
 * input rows) or, for models trained by `tinyforge mpc train`, on the training data regenerated from
 * training.json (same plant, samples and seed, windowed with the spec's input layout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { importCheckpoint } from '../frontends/index.js';
import { samplesFromCsv } from '../io/csv.js';
import { readSamples } from '../io/samples.js';
import { lowerFloat, lowerInt8 } from '../plan/lower.js';
import type { Program } from '../plan/program.js';
import { loadProgram } from '../plan/serialize.js';
import { calibrate } from '../quant/calibrate.js';
import { makePlant, PLANT_NAMES, type PlantName } from './sim/plants.js';
import { collect, windows } from './sim/train.js';
import { int8LayersOf, layersOf, planMpc, readSpec, type MpcLayer, type MpcPlan, type MpcSpec } from './spec.js';

export type ForwardQuant = 'float32' | 'int8';
export const FORWARD_QUANTS: readonly ForwardQuant[] = ['float32', 'int8'];

export interface ForwardModel {
  name: string;
  layers: MpcLayer[];
  source: string;
  /** set for int8 models */
  int8?: Program;
  /** int8 checkpoint models: where the calibration samples came from */
  calibration?: { source: string; samples: number };
}

export interface ForwardModelOptions {
  /** forward model arithmetic for a checkpoint (a compiled folder has its own); default float32 */
  quant?: ForwardQuant;
  /** calibration rows for int8 (safetensors tensor [N, nIn] or CSV) */
  calib?: string;
  /** the spec whose input layout windows the training data (calibration without `calib`) */
  spec?: MpcSpec;
}

/** Model-input rows of the data the model was trained on (training.json of `tinyforge mpc train`). */
function trainingRows(path: string, spec: MpcSpec | undefined): Float32Array[] | undefined {
  const f = join(path, 'training.json');
  if (!existsSync(f) || !spec) return undefined;
  const t = JSON.parse(readFileSync(f, 'utf8')) as { plant?: string; samples?: number; seed?: number; dt?: number };
  if (!t.plant || !PLANT_NAMES.includes(t.plant as PlantName) || !t.samples) return undefined;
  const plant = makePlant(t.plant as PlantName, t.dt ?? 1 / (spec.rate_hz ?? 50));
  const { u, y } = collect(plant, t.samples, t.seed ?? 17);
  return windows(spec, u, y).X.map((x) => Float32Array.from(x));
}

export function loadForwardModel(path: string, opts: ForwardModelOptions = {}): ForwardModel {
  const quant = opts.quant ?? 'float32';
  if (!FORWARD_QUANTS.includes(quant)) fail(`unknown forward-model quantization '${quant}' for mpc (supported: ${FORWARD_QUANTS.join(', ')})`);
  const compiled = join(path, 'program.safetensors');
  if (existsSync(compiled)) {
    const program = loadProgram(compiled);
    if (program.quant === 'int8') return { name: program.name, layers: int8LayersOf(program, compiled), source: path, int8: program };
    if (quant === 'int8') fail(`${path}: a compiled float32 model; recompile it with 'tinyforge compile --quant int8 --calib ...' or pass the checkpoint folder`);
    return { name: program.name, layers: layersOf(program, compiled), source: path };
  }
  const g = importCheckpoint(path);
  if (quant === 'float32') {
    if (opts.calib) fail('--calib only applies to int8 forward models (--quant int8)');
    const program = lowerFloat(g);
    return { name: program.name, layers: layersOf(program, path), source: path };
  }
  const input = g.inputs[0];
  let samples: Float32Array[] | undefined, source: string;
  if (opts.calib) {
    if (!existsSync(opts.calib)) fail(`${opts.calib}: no such calibration file`);
    samples = /\.csv$/i.test(opts.calib) ? samplesFromCsv(opts.calib, input.shape) : readSamples(opts.calib, input.name, input.shape);
    source = opts.calib;
  } else {
    samples = trainingRows(path, opts.spec);
    source = join(path, 'training.json');
    if (!samples) fail(`${path}: an int8 forward model needs calibration data; pass --calib rows.safetensors|rows.csv (model input rows [N, ${input.shape.join(', ')}]) or use a model trained by 'tinyforge mpc train' (its training.json)`);
  }
  const calib = calibrate(g, samples, { method: 'minmax', percentile: 99.99 });
  const program = lowerInt8(g, calib, 8);
  return { name: program.name, layers: int8LayersOf(program, path), source: path, int8: program, calibration: { source, samples: samples.length } };
}

/** Model + spec file (or object) -> validated plan. */
export function loadPlan(modelPath: string, spec: string | MpcSpec, opts: Omit<ForwardModelOptions, 'spec'> = {}): MpcPlan {
  const where = typeof spec === 'string' ? spec : 'mpc spec';
  const specObj = typeof spec === 'string' ? readSpec(spec) : spec;
  const model = loadForwardModel(modelPath, { ...opts, spec: specObj });
  return planMpc(specObj, model.layers, model.name, where, model.int8);
}
