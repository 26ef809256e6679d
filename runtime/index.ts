/**
 * Browser-safe runtime for tinyforge `.wasm` models (no Node imports). Usage:
 *
 *   const model = await load(bytes);            // BufferSource or WebAssembly.Module
 *   const { output } = model.run({ input });    // Float32Array; k*sampleSize values run k samples
 *   model.run({ input }, { raw: true });         // int8 models: also records the int8 outputs of this run...
 *   model.lastOutputInt8();                      // ...returned here (Int8Array, before dequantization)
 *   model.runInt8({ input: int8 }).output;      // int8 models: int8 in, int8 out (skips quantize/dequantize)
 *   model.forecast(pastValues);                 // time-series models: [context][channels] -> [horizon][channels]
 */

export interface QuantParams { scale: number; zeroPoint: number }

export interface TensorInfo {
  name: string;
  /** shape of one sample */
  shape: number[];
  dtype: 'float32';
  /** int8 models: how the float tensor maps to the int8 tensor of runInt8 / lastOutputInt8 */
  quant?: QuantParams;
}

/** Per-tensor entry of the `tinyforge` custom section. */
export interface TinyforgeTensorMeta extends TensorInfo {
  /** byte address of the float buffer in linear memory */
  address: number;
  /** int8 models: byte address of the int8 buffer */
  int8Address?: number;
}

/** JSON stored in the module's `tinyforge` custom section (written by compiler/backends/wasm). */
export interface TinyforgeWasmMetadata {
  format: 'tinyforge-wasm/1';
  name: string;
  quant: 'float32' | 'int8';
  inputs: TinyforgeTensorMeta[];
  outputs: TinyforgeTensorMeta[];
  arena: { address: number; bytes: number };
  constants: { address: number; bytes: number };
  memoryBytes: number;
  functions: { run: string; runInt8?: string };
}

export class TinyforgeRuntimeError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'TinyforgeRuntimeError';
  }
}

export interface RunOptions {
  /** int8 models: also record the int8 outputs (before dequantization) for lastOutputInt8() */
  raw?: boolean;
}

export interface TinyforgeModel {
  readonly name: string;
  readonly quant: 'float32' | 'int8';
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /** Float in, float out. A feed of k * sampleSize values runs k samples; outputs are concatenated. */
  run(feeds: Record<string, Float32Array | number[]>, options?: RunOptions): Record<string, Float32Array>;
  /** int8 models only: int8 in, int8 out, batched like run(). */
  runInt8(feeds: Record<string, Int8Array>): Record<string, Int8Array>;
  /**
   * int8 models only: the int8 output `name` (default: the first output) of the last run(feeds, { raw: true }),
   * before dequantization, all samples concatenated.
   */
  lastOutputInt8(name?: string): Int8Array;
  /**
   * Forecasting models (one input [context, channels], one output [horizon, channels], e.g. TinyTimeMixer):
   * one forecast from the past values, returned as number[][] shaped [horizon][channels] (prediction_length rows).
   * `pastValues` is either a Float32Array of time-major values (t * channels + c) or number[][] as [time][channel].
   * A series longer than the model's context is cut to its last `context` time steps (the most recent values);
   * a shorter one, or one with a different number of channels, throws a TinyforgeRuntimeError.
   */
  forecast(pastValues: Float32Array | number[][]): number[][];
}

const fail = (message: string): never => { throw new TinyforgeRuntimeError(message); };
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const typeName = (v: unknown) => v === null ? 'null' : Array.isArray(v) ? 'Array' : typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;

function readMetadata(module: WebAssembly.Module): TinyforgeWasmMetadata {
  const sections = WebAssembly.Module.customSections(module, 'tinyforge');
  if (sections.length === 0) fail("not a tinyforge model: the WebAssembly module has no 'tinyforge' custom section; compile it with tinyforge");
  let meta: TinyforgeWasmMetadata;
  try {
    meta = JSON.parse(new TextDecoder().decode(sections[0])) as TinyforgeWasmMetadata;
  } catch {
    return fail("corrupt tinyforge model: the 'tinyforge' custom section is not valid JSON");
  }
  if (meta.format !== 'tinyforge-wasm/1') fail(`unsupported tinyforge model format ${JSON.stringify(meta.format)}; recompile the model with this tinyforge version`);
  return meta;
}

async function compile(bytes: BufferSource | WebAssembly.Module): Promise<WebAssembly.Module> {
  if (bytes instanceof WebAssembly.Module) return bytes;
  if (!(bytes instanceof ArrayBuffer) && !ArrayBuffer.isView(bytes)) fail(`load() takes the model's bytes (ArrayBuffer/Uint8Array) or a WebAssembly.Module, got ${typeName(bytes)}`);
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    return fail(`not a tinyforge model: the bytes are not a valid WebAssembly module (${(e as Error).message})`);
  }
}

export async function load(bytes: BufferSource | WebAssembly.Module): Promise<TinyforgeModel> {
  const module = await compile(bytes);
  const meta = readMetadata(module);
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as Record<string, unknown>;
  const memory = ex.memory as WebAssembly.Memory;
  const runFn = ex[meta.functions.run] as () => void;
  const runInt8Fn = meta.functions.runInt8 ? ex[meta.functions.runInt8] as () => void : undefined;
  if (!(memory instanceof WebAssembly.Memory) || typeof runFn !== 'function') fail(`corrupt tinyforge model '${meta.name}': missing memory or run export`);
  const isInt8 = meta.quant === 'int8' && !!runInt8Fn;
  const info = (t: TinyforgeTensorMeta): TensorInfo => ({ name: t.name, shape: [...t.shape], dtype: t.dtype, ...(t.quant ? { quant: { ...t.quant } } : {}) });
  let lastInt8: Record<string, Int8Array> | undefined;

  const requireInt8 = (what: string) => { if (!isInt8) fail(`${what} needs an int8 model; '${meta.name}' is ${meta.quant}`); };

  /** Validates the feeds and returns the batch size. */
  function checkFeeds(feeds: unknown, accept: (v: unknown) => boolean, expected: string): number {
    if (feeds === null || typeof feeds !== 'object') fail(`run() takes an object of feeds like { ${meta.inputs[0].name}: ${expected} }, got ${typeName(feeds)}`);
    const f = feeds as Record<string, unknown>;
    for (const key of Object.keys(f)) {
      if (!meta.inputs.some((t) => t.name === key)) fail(`unknown feed '${key}'; model '${meta.name}' has inputs: ${meta.inputs.map((t) => t.name).join(', ')}`);
    }
    let batch = -1;
    for (const t of meta.inputs) {
      const v = f[t.name];
      const size = count(t.shape);
      if (v === undefined) fail(`missing feed '${t.name}': expected ${expected} of shape ${shapeText(t.shape)}`);
      if (!accept(v)) fail(`feed '${t.name}' must be ${expected}, got ${typeName(v)}`);
      const len = (v as ArrayLike<number>).length;
      if (len === 0 || len % size !== 0) fail(`feed '${t.name}' has ${len} values; expected shape ${shapeText(t.shape)} (${size} values) or a multiple of ${size} for a batch`);
      const k = len / size;
      if (batch !== -1 && k !== batch) fail(`feed '${t.name}' holds ${k} samples but other feeds hold ${batch}`);
      batch = k;
    }
    return batch;
  }

  const isFloatFeed = (v: unknown) => v instanceof Float32Array || (Array.isArray(v) && v.every((x) => typeof x === 'number'));

  return {
    name: meta.name,
    quant: meta.quant,
    inputs: meta.inputs.map(info),
    outputs: meta.outputs.map(info),

    run(feeds, options) {
      const raw = isInt8 && options?.raw === true;
      const k = checkFeeds(feeds, isFloatFeed, 'a Float32Array or number[]');
      const buf = memory.buffer;
      const outs: Record<string, Float32Array> = {};
      const outsQ: Record<string, Int8Array> = {};
      for (const t of meta.outputs) {
        outs[t.name] = new Float32Array(count(t.shape) * k);
        if (raw && t.int8Address !== undefined) outsQ[t.name] = new Int8Array(count(t.shape) * k);
      }
      for (let s = 0; s < k; s++) {
        for (const t of meta.inputs) {
          const n = count(t.shape), src = feeds[t.name];
          const dst = new Float32Array(buf, t.address, n);
          if (src instanceof Float32Array) dst.set(src.subarray(s * n, (s + 1) * n));
          else for (let i = 0; i < n; i++) dst[i] = src[s * n + i];
        }
        runFn();
        for (const t of meta.outputs) {
          const n = count(t.shape);
          outs[t.name].set(new Float32Array(buf, t.address, n), s * n);
          if (outsQ[t.name]) outsQ[t.name].set(new Int8Array(buf, t.int8Address!, n), s * n);
        }
      }
      lastInt8 = raw ? outsQ : undefined;
      return outs;
    },

    runInt8(feeds) {
      requireInt8('runInt8()');
      const k = checkFeeds(feeds, (v) => v instanceof Int8Array, 'an Int8Array');
      const buf = memory.buffer;
      const outs: Record<string, Int8Array> = {};
      for (const t of meta.outputs) outs[t.name] = new Int8Array(count(t.shape) * k);
      for (let s = 0; s < k; s++) {
        for (const t of meta.inputs) {
          const n = count(t.shape);
          new Int8Array(buf, t.int8Address!, n).set(feeds[t.name].subarray(s * n, (s + 1) * n));
        }
        runInt8Fn!();
        for (const t of meta.outputs) {
          const n = count(t.shape);
          outs[t.name].set(new Int8Array(buf, t.int8Address!, n), s * n);
        }
      }
      return outs;
    },

    forecast(pastValues) {
      const inT = meta.inputs[0], outT = meta.outputs[0];
      if (meta.inputs.length !== 1 || meta.outputs.length !== 1 || inT.shape.length !== 2 || outT.shape.length !== 2 || inT.shape[1] !== outT.shape[1]) {
        fail(`forecast() needs a model with one input [context, channels] and one output [horizon, channels]; '${meta.name}' maps ${meta.inputs.map((t) => shapeText(t.shape)).join(', ')} to ${meta.outputs.map((t) => shapeText(t.shape)).join(', ')}`);
      }
      const [context, channels] = inT.shape, horizon = outT.shape[0];
      let steps: number;
      let flat: Float32Array;
      if (pastValues instanceof Float32Array) {
        if (pastValues.length % channels !== 0) fail(`forecast(): ${pastValues.length} past values are not whole time steps of ${channels} channels; '${meta.name}' expects [time][${channels}] values`);
        steps = pastValues.length / channels;
        flat = pastValues;
      } else if (Array.isArray(pastValues)) {
        steps = pastValues.length;
        flat = new Float32Array(steps * channels);
        for (let t = 0; t < steps; t++) {
          const row = pastValues[t];
          if (!Array.isArray(row)) fail(`forecast(): pastValues[${t}] is ${typeName(row)}, not an array of ${channels} channel values; pass number[][] as [time][channel]`);
          if (row.length !== channels) fail(`forecast(): pastValues[${t}] has ${row.length} channels but '${meta.name}' forecasts ${channels}; pass number[][] as [time][channel]`);
          for (let c = 0; c < channels; c++) {
            if (typeof row[c] !== 'number') fail(`forecast(): pastValues[${t}][${c}] is ${typeName(row[c])}, not a number`);
            flat[t * channels + c] = row[c];
          }
        }
      } else {
        return fail(`forecast() takes a Float32Array or number[][] ([time][channel]), got ${typeName(pastValues)}`);
      }
      if (steps < context) fail(`forecast(): ${steps} time steps of history but '${meta.name}' needs a context of ${context}; pass at least ${context} rows`);
      const buf = memory.buffer;
      new Float32Array(buf, inT.address, context * channels).set(flat.subarray((steps - context) * channels, steps * channels));
      runFn();
      const y = new Float32Array(buf, outT.address, horizon * channels);
      const out: number[][] = [];
      for (let h = 0; h < horizon; h++) out.push(Array.from(y.subarray(h * channels, (h + 1) * channels)));
      lastInt8 = undefined;
      return out;
    },

    lastOutputInt8(name) {
      requireInt8('lastOutputInt8()');
      if (!lastInt8) return fail('lastOutputInt8() has no result: call run(feeds, { raw: true }) first');
      const key = name ?? meta.outputs[0].name;
      const q = lastInt8[key];
      if (!q) fail(`unknown output '${key}'; model '${meta.name}' has outputs: ${meta.outputs.map((t) => t.name).join(', ')}`);
      return q;
    },
  };
}

// MPC controllers (tinyforge mpc --target wasm): model + Newton-Raphson controller in one module.
export { loadController, TinyforgeControllerError, type TinyforgeController, type TinyforgeMpcMetadata } from './controller.js';
