/** Hand-built Programs for backend tests: one float input, one float output, arena buffers handed out in order. */
import type { BufferRef, DType, Program, Step } from '../../compiler/plan/program.js';
import type { TinyforgeWasmMetadata } from '../../runtime/index.js';

export const align16 = (n: number) => (n + 15) & ~15;

export class ArenaProgramBuilder {
  /** the Program's quant field */
  protected readonly quant: Program['quant'] = 'float32';
  private arenaBytes = 0;
  readonly steps: Step[] = [];
  constructor(readonly inLen: number, readonly outLen: number) {}
  get input(): BufferRef { return { space: 'input', offset: 0, dtype: 'float32', length: this.inLen }; }
  get output(): BufferRef { return { space: 'output', offset: 0, dtype: 'float32', length: this.outLen }; }
  arena(dtype: DType, length: number): BufferRef {
    const ref: BufferRef = { space: 'arena', offset: this.arenaBytes, dtype, length };
    this.arenaBytes += align16(length * (dtype === 'int8' ? 1 : 4));
    return ref;
  }
  add(step: Step): this { this.steps.push(step); return this; }
  build(name: string, inShape: number[] = [this.inLen], outShape: number[] = [this.outLen]): Program {
    return {
      format: 'tinyforge-program/1', name, quant: this.quant,
      input: { name: 'x', shape: inShape, dtype: 'float32' }, output: { name: 'y', shape: outShape, dtype: 'float32' },
      arenaBytes: align16(this.arenaBytes), steps: this.steps,
    };
  }
}

/** Runs a module without the runtime wrapper, so every arena buffer can be compared, not only the output. */
export async function runRaw(bytes: Uint8Array, x: Float32Array): Promise<{ meta: TinyforgeWasmMetadata; memory: ArrayBuffer }> {
  const module = await WebAssembly.compile(new Uint8Array(bytes));
  const meta = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, 'tinyforge')[0])) as TinyforgeWasmMetadata;
  const instance = await WebAssembly.instantiate(module, {});
  const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
  new Float32Array(memory, meta.inputs[0].address, x.length).set(x);
  (instance.exports.run as () => void)();
  return { meta, memory };
}
