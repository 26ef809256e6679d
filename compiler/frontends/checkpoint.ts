/** The tensors of a checkpoint as a frontend consumes them: each taken by name with its shape checked, extras refused. */
import { fail } from '../errors.js';
import { toFloat32, type SafeTensorsFile } from '../io/safetensors.js';

export class CheckpointTensors {
  private used = new Set<string>();
  constructor(private weights: SafeTensorsFile, readonly wFile: string) {}

  /** A tensor config.json requires, as float32; missing or misshapen is an error naming it. */
  tensor(name: string, shape: number[]): Float32Array {
    const t = this.weights.tensors.get(name);
    if (!t) fail(`${this.wFile}: missing tensor '${name}' that config.json requires`);
    if (t.shape.join(',') !== shape.join(',')) fail(`${this.wFile}: tensor '${name}' has shape ${JSON.stringify(t.shape)} but config.json needs ${JSON.stringify(shape)}`);
    this.used.add(name);
    return toFloat32(t, name, this.wFile);
  }

  /** Accepts a tensor the model does not need (e.g. BatchNorm's num_batches_tracked). */
  markUsed(name: string): void { if (this.weights.tensors.has(name)) this.used.add(name); }

  /** Fails on tensors config.json does not use: the weights do not match the config. */
  checkNoExtra(): void {
    const extra = [...this.weights.tensors.keys()].filter((k) => !this.used.has(k));
    if (extra.length) fail(`${this.wFile}: unexpected tensor '${extra[0]}'${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''} that config.json does not use; the weights do not match the config`);
  }
}
