/**
 * A Program saved as one safetensors file (`program.safetensors` in a compiled folder): the step list
 * as JSON in __metadata__.program, every typed array as a tensor named `s<step>.<field>`.
 * Any backend can be regenerated from it (`tinyforge run --on c-host|qemu|wasm`).
 */
import { fail } from '../errors.js';
import { readSafetensors, serializeSafetensors, toFloat32, toInt32, toInt8, type TensorToWrite } from '../io/safetensors.js';
import type { Program } from './program.js';

export function serializeProgram(program: Program): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  const steps = program.steps.map((step, i) => {
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(step)) {
      if (v instanceof Float32Array) { tensors[`s${i}.${k}`] = { dtype: 'F32', shape: [v.length], data: v }; plain[k] = { $tensor: `s${i}.${k}` }; }
      else if (v instanceof Int8Array) { tensors[`s${i}.${k}`] = { dtype: 'I8', shape: [v.length], data: v }; plain[k] = { $tensor: `s${i}.${k}` }; }
      else if (v instanceof Int32Array) { tensors[`s${i}.${k}`] = { dtype: 'I32', shape: [v.length], data: v }; plain[k] = { $tensor: `s${i}.${k}` }; }
      else plain[k] = v;
    }
    return plain;
  });
  return serializeSafetensors(tensors, { program: JSON.stringify({ ...program, steps }) });
}

export function loadProgram(path: string): Program {
  const file = readSafetensors(path);
  const json = file.metadata.program;
  if (!json) fail(`${path}: not a tinyforge program (no __metadata__.program); compile the model again with 'tinyforge compile'`);
  const p = JSON.parse(json) as Program & { steps: Array<Record<string, unknown>> };
  if (p.format !== 'tinyforge-program/1') fail(`${path}: unsupported program format ${JSON.stringify(p.format)}; recompile with this tinyforge version`);
  for (const step of p.steps) {
    for (const [k, v] of Object.entries(step)) {
      if (v && typeof v === 'object' && '$tensor' in (v as object)) {
        const name = (v as { $tensor: string }).$tensor;
        const t = file.tensors.get(name);
        if (!t) fail(`${path}: program tensor '${name}' is missing; the file is corrupt`);
        step[k] = t.dtype === 'F32' ? toFloat32(t, name, path) : t.dtype === 'I8' ? toInt8(t, name, path) : toInt32(t, name, path);
      }
    }
  }
  return p as Program;
}
