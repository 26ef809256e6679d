/**
 * Browser-safe runtime for tinyforge `.wasm` models (no Node imports). Usage:
 *
 *   const model = await load(bytes);            // BufferSource or WebAssembly.Module
 *   const { output } = model.run({ input });    // Float32Array; k*sampleSize values run k samples
 *   model.run({ input }, { raw: true });         // int8 models: also records the int8 outputs of this run...
 *   model.lastOutputInt8();                      // ...returned here (Int8Array, before dequantization)
 *   model.runInt8({ input: int8 }).output;      // int8 models: int8 in, int8 out (skips quantize/dequantize)
 *   model.forecast(pastValues);                 // time-series models: [context][channels] -> [horizon][channels]
 *   model.encode(inputIds, attentionMask);       // MatFormer encoders: { lastHiddenState, pooled }
 *   model.logits(ids);                           // MatFormer decoders: next-token logits after every id
 *   model.generate(promptIds, { maxNewTokens, temperature, topK, seed });  // decoders, with a KV cache
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
  functions: { run: string; runInt8?: string; reset?: string };
  /** sequence models (MatFormer encoders and decoders): how the packed program IO maps to token inputs/outputs */
  sequence?: TinyforgeSequenceMeta;
}

/**
 * The `sequence` entry of the metadata. The program takes one float input [inputNames.length, tokens] (row i = the
 * input inputNames[i], ids as exact float values) and returns its outputs concatenated (`outputs`: element offset and
 * length of each in the program output).
 */
export interface TinyforgeSequenceMeta {
  /** 'decoder': causal attention (logits / generate); 'encoder': bidirectional (encode) */
  kind: 'encoder' | 'decoder';
  /** the compiled sequence length T */
  tokens: number;
  inputNames: string[];
  outputs: Array<{ name: string; shape: number[]; offset: number; length: number }>;
  /** rows of the word embedding: valid ids are 0 .. vocabSize - 1 */
  vocabSize: number;
  /** rows of the token-type embedding (0: none) */
  typeVocabSize: number;
  hiddenSize: number;
  /** decoders: export `decode(p)` running the network for the token at position p against the KV cache */
  decode?: string;
}

export interface EncodeOptions {
  /** segment ids (token_type_ids), same length as inputIds; default all 0 */
  tokenTypeIds?: ArrayLike<number>;
}

export interface EncodeResult {
  /** flat [tokens][hiddenSize]: row t (t * hiddenSize ..) is the hidden state of input token t */
  lastHiddenState: Float32Array;
  /** pooler_output [hiddenSize] (tanh(dense(h[0]))), null for a model without a pooler */
  pooled: Float32Array | null;
  /** rows in lastHiddenState: the number of input ids (at most the compiled length, see encode()) */
  tokens: number;
  hiddenSize: number;
}

export interface GenerateOptions {
  /** tokens to generate (default 16); generation also stops at the compiled context length or at eosTokenId */
  maxNewTokens?: number;
  /** 0 (default) = greedy (argmax, lowest id on ties); > 0 samples from softmax(logits / temperature) */
  temperature?: number;
  /** sample among the topK largest logits only (0 = all; ties by lower id) */
  topK?: number;
  /** seed of the sampler (deterministic: same seed, same tokens; default 0) */
  seed?: number;
  /** stop after emitting this id */
  eosTokenId?: number;
}

export interface GenerateResult {
  /** the generated ids (without the prompt) */
  tokens: number[];
  /** prompt + generated ids */
  sequence: number[];
  /** 'length': maxNewTokens reached; 'eos': eosTokenId emitted; 'context': the compiled context is full */
  finishReason: 'length' | 'eos' | 'context';
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
  /**
   * Float in, float out. A feed of k * sampleSize values runs k samples, in order; outputs are concatenated.
   * Stateful models (TFLite SVDF / LSTM variable tensors) carry their state from one sample and one call to the
   * next, as TFLite does; reset() starts over.
   */
  run(feeds: Record<string, Float32Array | number[]>, options?: RunOptions): Record<string, Float32Array>;
  /** True when the model keeps state between inferences (TFLite variable tensors). */
  readonly stateful: boolean;
  /** Persistent state back to its initial value (a no-op for stateless models). */
  reset(): void;
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
  /**
   * MatFormer encoders: the hidden states of `inputIds` (attentionMask: 1 = token, 0 = padding; default all 1).
   * Length rule: n ids with n < T (the compiled length) are padded at the end with id 0, mask 0, type 0, which
   * changes no real token's output, and only the n real rows are returned; n > T keeps the first T ids (HF's
   * truncation from the end) and returns T rows. Ids must be integers in [0, vocabSize).
   */
  encode(inputIds: ArrayLike<number>, attentionMask?: ArrayLike<number>, options?: EncodeOptions): EncodeResult;
  /**
   * MatFormer decoders: flat [n][vocab] logits, row t = the next-token logits after ids[0..t] (one full forward
   * pass, padded like encode()). 1 <= n <= T ids, integers in [0, vocabSize).
   */
  logits(ids: ArrayLike<number>): Float32Array;
  /**
   * MatFormer decoders: autoregressive generation with a KV cache: each token (prompt tokens included) runs the
   * module's decode(p) step, one token against the cached keys/values (O(weights + p) per token, no full re-run).
   * Greedy decoding gives exactly the argmax of repeated logits() passes. The prompt (1..T ids) plus the generated
   * tokens fit the compiled context: the last generated token may sit at position T (no further step needs it).
   */
  generate(promptIds: ArrayLike<number>, options?: GenerateOptions): GenerateResult;
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

  const sequence = (what: string, kind: TinyforgeSequenceMeta['kind']): TinyforgeSequenceMeta => {
    const sq = meta.sequence;
    if (!sq) return fail(`${what} needs a MatFormer ${kind} model; '${meta.name}' is not a sequence model (recompile a MatFormer checkpoint with this tinyforge)`);
    if (sq.kind !== kind) fail(`${what} needs a ${kind === 'decoder' ? 'causal decoder (MatFormer-OLMo)' : 'bidirectional encoder (MatFormer BERT)'}; '${meta.name}' is ${sq.kind === 'encoder' ? 'an encoder, use encode()' : 'a decoder, use logits() / generate()'}`);
    return sq;
  };

  const logitsOutput = (sq: TinyforgeSequenceMeta) => {
    const o = sq.outputs.find((t) => t.name === 'logits') ?? sq.outputs[0];
    if (o.shape.length !== 2 || o.shape[0] !== sq.tokens) fail(`corrupt tinyforge model '${meta.name}': output '${o.name}' [${o.shape}] is not [${sq.tokens}, vocab]`);
    return { offset: o.offset, vocab: o.shape[1] };
  };

  /** Validates ids (integers in [0, limit), 1..maxLen of them). */
  function idList(what: string, arg: string, v: unknown, limit: number, maxLen: number): number[] {
    if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') return fail(`${what}: ${arg} must be an array of integer ids (number[], Int32Array, ...), got ${typeName(v)}`);
    const a = Array.from(v as ArrayLike<number>);
    if (a.length === 0) fail(`${what}: ${arg} is empty; pass at least one id`);
    if (a.length > maxLen) fail(`${what}: ${arg} has ${a.length} ids but '${meta.name}' was compiled for a context of ${maxLen} tokens; pass at most ${maxLen} (or recompile with a longer --sequence-length)`);
    a.forEach((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
        fail(`${what}: ${arg}[${i}] = ${typeof id === 'number' ? id : typeName(id)} is not ${limit === 2 ? '0 or 1' : `an integer id in [0, ${limit})`}${arg === 'inputIds' || arg === 'ids' || arg === 'promptIds' ? ` (the vocabulary of '${meta.name}' has ${limit} rows)` : ''}`);
      }
    });
    return a;
  }

  /** One forward pass over the packed sequence input; ids shorter than T are padded with zeros (mask 0). */
  function runSequence(sq: TinyforgeSequenceMeta, feed: Record<string, number[]>): Float32Array {
    const T = sq.tokens;
    const x = new Float32Array(memory.buffer, meta.inputs[0].address, sq.inputNames.length * T);
    x.fill(0);
    sq.inputNames.forEach((name, r) => {
      const v = feed[name];
      if (v === undefined) fail(`'${meta.name}' takes an input '${name}' this runtime cannot fill; recompile the model with this tinyforge`);
      for (let t = 0; t < v.length; t++) x[r * T + t] = v[t];
    });
    runFn();
    lastInt8 = undefined;
    return new Float32Array(memory.buffer, meta.outputs[0].address, count(meta.outputs[0].shape)).slice();
  }

  const isFloatFeed = (v: unknown) => v instanceof Float32Array || (Array.isArray(v) && v.every((x) => typeof x === 'number'));

  const resetFn = meta.functions.reset ? ex[meta.functions.reset] as () => void : undefined;
  if (meta.functions.reset && typeof resetFn !== 'function') fail(`corrupt tinyforge model '${meta.name}': missing reset export`);
  return {
    name: meta.name,
    quant: meta.quant,
    inputs: meta.inputs.map(info),
    outputs: meta.outputs.map(info),
    stateful: !!resetFn,
    reset() { resetFn?.(); },

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

    encode(inputIds, attentionMask, options) {
      const sq = sequence('encode()', 'encoder');
      const hs = sq.outputs.find((o) => o.name === 'last_hidden_state');
      if (!hs) return fail(`encode() needs an encoder with a last_hidden_state output; '${meta.name}' has ${sq.outputs.map((o) => o.name).join(', ')}`);
      const all = idList('encode()', 'inputIds', inputIds, sq.vocabSize, Infinity);
      const n = Math.min(all.length, sq.tokens);
      const mask = attentionMask === undefined ? null : idList('encode()', 'attentionMask', attentionMask, 2, Infinity);
      if (mask && mask.length !== all.length) fail(`encode(): attentionMask has ${mask.length} values but inputIds has ${all.length}; pass one 0/1 value per id`);
      const types = options?.tokenTypeIds === undefined ? null : idList('encode()', 'tokenTypeIds', options.tokenTypeIds, Math.max(sq.typeVocabSize, 1), Infinity);
      if (types && types.length !== all.length) fail(`encode(): tokenTypeIds has ${types.length} values but inputIds has ${all.length}; pass one segment id per id`);
      const feed = { input_ids: all.slice(0, n), attention_mask: mask ? mask.slice(0, n) : new Array<number>(n).fill(1), token_type_ids: types ? types.slice(0, n) : new Array<number>(n).fill(0) };
      const y = runSequence(sq, feed);
      const pool = sq.outputs.find((o) => o.name === 'pooler_output');
      return {
        lastHiddenState: y.slice(hs.offset, hs.offset + n * sq.hiddenSize), pooled: pool ? y.slice(pool.offset, pool.offset + pool.length) : null,
        tokens: n, hiddenSize: sq.hiddenSize,
      };
    },

    logits(ids) {
      const sq = sequence('logits()', 'decoder');
      const lo = logitsOutput(sq);
      const list = idList('logits()', 'ids', ids, sq.vocabSize, sq.tokens);
      const y = runSequence(sq, { input_ids: list, attention_mask: new Array<number>(list.length).fill(1) });
      return y.slice(lo.offset, lo.offset + list.length * lo.vocab);
    },

    generate(promptIds, options = {}) {
      const sq = sequence('generate()', 'decoder');
      const lo = logitsOutput(sq);
      const decodeFn = sq.decode ? ex[sq.decode] as (p: number) => void : undefined;
      if (typeof decodeFn !== 'function') return fail(`generate() needs a decoder step; '${meta.name}' was compiled without one (a program whose steps do not all run token by token); use logits()`);
      if (options === null || typeof options !== 'object') fail(`generate() options must be an object like { maxNewTokens, temperature, topK, seed }, got ${typeName(options)}`);
      const opt = (name: keyof GenerateOptions, dflt: number, ok: (v: number) => boolean, want: string): number => {
        const v = options[name];
        if (v === undefined) return dflt;
        if (typeof v !== 'number' || !ok(v)) fail(`generate(): ${name} ${typeof v === 'number' ? String(v) : typeName(v)} must be ${want}`);
        return v as number;
      };
      const maxNew = opt('maxNewTokens', 16, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
      const temperature = opt('temperature', 0, (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0 (0 = greedy)');
      const topK = opt('topK', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (0 = all tokens)');
      const seed = opt('seed', 0, (v) => Number.isInteger(v), 'an integer');
      const eos = opt('eosTokenId', -1, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer id');
      const prompt = idList('generate()', 'promptIds', promptIds, sq.vocabSize, sq.tokens);
      const T = sq.tokens, buf = memory.buffer;
      const x = new Float32Array(buf, meta.inputs[0].address, sq.inputNames.length * T);
      const rowOf = (name: string) => sq.inputNames.indexOf(name);
      const idRow = rowOf('input_ids'), maskRow = rowOf('attention_mask'), typeRow = rowOf('token_type_ids');
      const step = (p: number, id: number) => {
        x[idRow * T + p] = id;
        if (maskRow >= 0) x[maskRow * T + p] = 1;
        if (typeRow >= 0) x[typeRow * T + p] = 0;
        decodeFn(p);
      };
      prompt.forEach((id, p) => step(p, id));
      const rng = mulberry32(seed);
      const tokens: number[] = [];
      let p = prompt.length - 1;
      let finishReason: GenerateResult['finishReason'] = 'length';
      while (tokens.length < maxNew) {
        const row = new Float32Array(buf, meta.outputs[0].address + 4 * (lo.offset + p * lo.vocab), lo.vocab);
        const next = temperature === 0 ? argmax(row) : sample(row, temperature, topK, rng);
        tokens.push(next);
        if (next === eos) { finishReason = 'eos'; break; }
        if (tokens.length >= maxNew) break;
        if (p + 1 >= T) { finishReason = 'context'; break; }
        p++;
        step(p, next);
      }
      lastInt8 = undefined;
      return { tokens, sequence: [...prompt, ...tokens], finishReason };
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

/** Deterministic PRNG (mulberry32), uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Samples from softmax(logits / temperature) over the topK largest logits (0 = all), in double. */
function sample(row: Float32Array, temperature: number, topK: number, rng: () => number): number {
  let ids = Array.from(row.keys());
  if (topK > 0 && topK < ids.length) ids = ids.sort((a, b) => row[b] - row[a] || a - b).slice(0, topK).sort((a, b) => a - b);
  let m = -Infinity;
  for (const i of ids) if (row[i] > m) m = row[i];
  const w = ids.map((i) => Math.exp((row[i] - m) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let r = rng() * total;
  for (let k = 0; k < ids.length; k++) {
    r -= w[k];
    if (r < 0) return ids[k];
  }
  return ids[ids.length - 1];
}

// MPC controllers (tinyforge mpc --target wasm): model + Newton-Raphson controller in one module.
export { loadController, TinyforgeControllerError, type TinyforgeController, type TinyforgeMpcMetadata } from './controller.js';
