/** Loads the forward model an MPC controller is generated around: a checkpoint folder or a compiled folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { importCheckpoint } from '../frontends/index.js';
import { lowerFloat } from '../plan/lower.js';
import { loadProgram } from '../plan/serialize.js';
import { layersOf, planMpc, readSpec, type MpcLayer, type MpcPlan, type MpcSpec } from './spec.js';

export interface ForwardModel { name: string; layers: MpcLayer[]; source: string }

export function loadForwardModel(path: string): ForwardModel {
  const compiled = join(path, 'program.safetensors');
  if (existsSync(compiled)) {
    const program = loadProgram(compiled);
    return { name: program.name, layers: layersOf(program, compiled), source: path };
  }
  const g = importCheckpoint(path);
  const program = lowerFloat(g);
  return { name: program.name, layers: layersOf(program, path), source: path };
}

/** Model + spec file (or object) -> validated plan. */
export function loadPlan(modelPath: string, spec: string | MpcSpec): MpcPlan {
  const model = loadForwardModel(modelPath);
  const where = typeof spec === 'string' ? spec : 'mpc spec';
  return planMpc(typeof spec === 'string' ? readSpec(spec) : spec, model.layers, model.name, where);
}
