/** Reads sample tensors ([N, ...shape] or one sample [...shape]) from a safetensors file. */
import { fail } from '../errors.js';
import { readSafetensors, toFloat32 } from './safetensors.js';

export function readSamples(file: string, inputName: string, shape: readonly number[]): Float32Array[] {
  const st = readSafetensors(file);
  const names = [...st.tensors.keys()];
  const name = st.tensors.has(inputName) ? inputName : st.tensors.has('input') ? 'input' : names.length === 1 ? names[0] : undefined;
  if (!name) fail(`${file}: no tensor named '${inputName}' (found: ${names.join(', ') || 'none'}); name the input tensor '${inputName}'`);
  const t = st.tensors.get(name)!;
  const per = shape.reduce((a, b) => a * b, 1);
  const tail = t.shape.slice(-shape.length);
  const oneSample = t.shape.length === shape.length;
  if (tail.join(',') !== shape.join(',') || (!oneSample && t.shape.length !== shape.length + 1)) {
    fail(`${file}: tensor '${name}' has shape ${JSON.stringify(t.shape)} but the model takes [N, ${shape.join(', ')}] (or [${shape.join(', ')}]); fix the input file`);
  }
  const all = toFloat32(t, name, file);
  const n = all.length / per;
  if (n === 0) fail(`${file}: tensor '${name}' holds no samples`);
  return Array.from({ length: n }, (_, i) => all.slice(i * per, (i + 1) * per));
}
