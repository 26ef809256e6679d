/**
 * tinyforge WASM vs TensorFlow Lite's own interpreter compiled to WASM (@tensorflow/tfjs-tflite: TFLite with the
 * XNNPACK delegate, single-threaded SIMD build) on the .tflite files of test/fixtures/tflite/models, in the same
 * Node process. Both run one inference on tensors in the file's own dtypes: tinyforge through the module's
 * integer entry (run_int, compiler/backends/wasm/tflite.ts), tfjs-tflite through predict() on a prepared
 * tensor (its input conversion and output read-back are part of its call, as an application sees it).
 * Latency: median per-inference time over alternating rounds (tinyforge round, tfjs-tflite round, ...), each
 * round a batch of inferences timed together after a warm-up. Also reported: the outputs' agreement on the
 * timed input (elements differing, largest difference in output units).
 *
 * `loadTfjsTflite()` sets up the Node shims tfjs-tflite needs (shared/notes/tfjs-tflite-in-node.md) and returns
 * null with a reason when the package is not installed (it is a devDependency: @tensorflow/tfjs-tflite with
 * @tensorflow/tfjs-core@4.9.0 and @tensorflow/tfjs-backend-cpu@4.9.0).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { importTflite } from '../compiler/frontends/tflite.js';
import { FbReader } from '../compiler/frontends/tflite-schema.js';
import { lowerQuantizedGraph, type QuantizedProgram } from '../compiler/plan/lower-quantized.js';
import type { Program } from '../compiler/plan/program.js';
import { packageRoot } from '../compiler/paths.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { instantiateTfliteWasm, type IntTensor } from '../compiler/backends/wasm/tflite.js';

export const TFLITE_MODEL_DIR = join(packageRoot(), 'test', 'fixtures', 'tflite', 'models');
/** Bench order: the int16-input keyword models last (tfjs-tflite's heap breaks for later models after long runs of them). */
export const TFLITE_WASM_MODELS = ['person_detect', 'micro_speech_quantized', 'trained_lstm', 'trained_lstm_int8', 'hello_world_int8', 'hello_world_float', 'keyword_scrambled_8bit', 'keyword_scrambled'];

interface TfTensor { dataSync(): ArrayLike<number>; dispose(): void }
interface TfCore { tensor(values: ArrayLike<number>, shape: number[], dtype: string): TfTensor }
interface TfliteModel { predict(x: TfTensor): TfTensor | Record<string, TfTensor> | TfTensor[] }

export interface TfjsTflite {
  /** loads a .tflite file into TFLite's interpreter */
  load(file: string): Promise<{ run(input: ArrayLike<number>, shape: number[], dtype: string): Float64Array; timed(input: ArrayLike<number>, shape: number[], dtype: string): () => void; dispose(): void }>;
}

let loaded: Promise<TfjsTflite | string> | undefined;

/** TFLite's interpreter in Node, or the reason it is not available. */
export function loadTfjsTflite(): Promise<TfjsTflite | string> {
  loaded ??= setup();
  return loaded;
}

async function setup(): Promise<TfjsTflite | string> {
  const require = createRequire(join(packageRoot(), 'package.json'));
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('@tensorflow/tfjs-tflite/package.json'));
    require.resolve('@tensorflow/tfjs-core');
    require.resolve('@tensorflow/tfjs-backend-cpu');
  } catch {
    return '@tensorflow/tfjs-tflite (with @tensorflow/tfjs-core@4.9.0 and @tensorflow/tfjs-backend-cpu@4.9.0) is not installed';
  }
  const wasmDir = join(pkgDir, 'wasm') + '/';
  const g = globalThis as Record<string, unknown>;
  // the shims of shared/notes/tfjs-tflite-in-node.md: a worker-like global, local fetch of its .wasm, the single-threaded SIMD build
  g.self ??= globalThis;
  g.location ??= { origin: 'file://', href: `file://${wasmDir}` };
  if (!('navigator' in globalThis) || !(globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent) g.navigator = { userAgent: 'node', hardwareConcurrency: 1 };
  g.importScripts = (url: string) => {
    const file = existsSync(url) ? url : join(wasmDir, url.split('/').pop()!);
    vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (u: string | URL | Request, o?: RequestInit) => {
    const s = typeof u === 'string' ? u : u instanceof URL ? u.href : u.url;
    const file = s.startsWith('file://') ? s.slice(7) : s;
    if (file.startsWith(wasmDir) && existsSync(file)) return new Response(readFileSync(file), { headers: { 'content-type': 'application/wasm' } });
    return realFetch(u, o);
  }) as typeof fetch;
  const messageChannel = g.MessageChannel;
  try {
    g.MessageChannel = undefined;
    require('@tensorflow/tfjs-backend-cpu');
    const tf = require('@tensorflow/tfjs-core') as TfCore;
    // one fresh copy of the package (and of its WASM interpreter) per model: interpreters sharing one instance
    // corrupt each other's heap once the heap grows ("memory access out of bounds") in this package version
    type Tflite = { setWasmPath(p: string): void; loadTFLiteModel(b: ArrayBuffer): Promise<TfliteModel> };
    const main = require.resolve('@tensorflow/tfjs-tflite');
    const fresh = (): Tflite => {
      delete require.cache[main];
      const t = require(main) as Tflite;
      t.setWasmPath(wasmDir);
      return t;
    };
    const quiet = <T>(fn: () => T): T => {
      const warn = console.warn;
      console.warn = () => {};
      try { return fn(); } finally { console.warn = warn; }
    };
    const first = (r: ReturnType<TfliteModel['predict']>): TfTensor => (Array.isArray(r) ? r[0] : 'dataSync' in r ? (r as TfTensor) : Object.values(r)[0]);
    return {
      async load(file) {
        const b = perTensorDimensionsZeroed(new Uint8Array(readFileSync(file)), file);
        g.MessageChannel = undefined;
        const model = await fresh().loadTFLiteModel(b.buffer as ArrayBuffer);
        g.MessageChannel = messageChannel;
        // integer tensors go in as int32 (tfjs has no int8/int16 dtype; tfjs-tflite converts to the model's type)
        const dt = (d: string) => (d === 'float32' ? 'float32' : 'int32');
        return {
          run(input, shape, dtype) {
            return quiet(() => {
              const x = tf.tensor(input, shape, dt(dtype));
              const y = first(model.predict(x));
              const out = Float64Array.from(y.dataSync());
              x.dispose(); y.dispose();
              return out;
            });
          },
          dispose() { /* the runner is kept: cleanUp() leaves the shared WASM heap unusable for the next model */ },
          timed(input, shape, dtype) {
            const x = tf.tensor(input, shape, dt(dtype));
            return () => {
              const warn = console.warn;
              console.warn = () => {};
              const y = first(model.predict(x));
              y.dataSync();
              y.dispose();
              console.warn = warn;
            };
          },
        };
      },
    };
  } catch (e) {
    return `@tensorflow/tfjs-tflite failed to load in Node: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    g.MessageChannel = messageChannel;
  }
}

/**
 * TFLite Micro's person_detect.tflite gives its 1-D per-channel bias tensors quantized_dimension 3 (the filter's
 * channel axis), which TFLite (not Micro) refuses ("quantized_dimension must be in range [0, 1)"); on a 1-D tensor
 * (or one scale) only 0 is meaningful, so the copy handed to tfjs-tflite has it set to 0 (the file is unchanged).
 */
export function perTensorDimensionsZeroed(bytes: Uint8Array, file: string): Uint8Array {
  const r = new FbReader(bytes, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const sg of r.root().tables(2, 'subgraphs')) {
    for (const t of sg.tables(0, 'tensors')) {
      const q = t.table(4, 'quantization');
      if (!q) continue;
      const dim = q.field(6, 4, 'quantized_dimension');
      const rank = t.vector(0, 'shape', 4)?.length ?? 0;
      if (dim && view.getInt32(dim, true) >= Math.max(rank, 1) && ((q.vector(2, 'scale', 4)?.length ?? 0) <= 1 || rank === 1)) view.setInt32(dim, 0, true);
    }
  }
  return bytes;
}

export interface TfliteWasmBenchRow {
  model: string;
  /** median microseconds per inference */
  tinyforgeUs: number;
  tfjsTfliteUs: number;
  /** tfjs-tflite time / tinyforge time */
  speedup: number;
  /** output elements that differ on the timed input, and the largest difference (output units: integers, or absolute for floats) */
  differing: number;
  elements: number;
  maxDiff: number;
  wasmBytes: number;
}

/** Deterministic input in the file's dtype (int8 full range, int16 +-10000, float [0, 1)). */
export function tfliteSample(p: QuantizedProgram, seed: number): number[] {
  const io = p.inputs[0];
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 8) / 2 ** 23;
  const n = io.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => (io.dtype === 'int8' ? Math.floor(rnd() * 256) - 128 : io.dtype === 'int16' ? Math.round((rnd() - 0.5) * 20000) : Math.fround(rnd())));
}

export function compareOutputs(a: ArrayLike<number>, b: ArrayLike<number>): { differing: number; maxDiff: number } {
  let differing = 0, maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d === 0)) { differing++; maxDiff = Math.max(maxDiff, Number.isNaN(d) ? Infinity : d); }
  }
  return { differing, maxDiff };
}

/**
 * tfjs-tflite 0.0.1-alpha.10 fails ("memory access out of bounds") after ~180 invocations of keyword_scrambled_8bit
 * in one process (its heap grows per call on this model): fewer, longer-timed calls there.
 */
const TFJS_CALL_LIMIT: Record<string, number> = { keyword_scrambled_8bit: 150 };

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

export async function runTfliteWasmBench(log: (s: string) => void = console.error, options: { rounds?: number; budgetMs?: number } = {}): Promise<TfliteWasmBenchRow[]> {
  const tfl = await loadTfjsTflite();
  if (typeof tfl === 'string') { log(`tflite-wasm bench skipped: ${tfl}`); return []; }
  const rounds = options.rounds ?? 15, budget = options.budgetMs ?? 40;
  const rows: TfliteWasmBenchRow[] = [];
  // every interpreter is created before the first inference (creating one after inferences have run fails in
  // tfjs-tflite's WASM heap with this package version)
  const interpreters = new Map<string, Awaited<ReturnType<TfjsTflite['load']>>>();
  for (const name of TFLITE_WASM_MODELS) interpreters.set(name, await tfl.load(join(TFLITE_MODEL_DIR, `${name}.tflite`)));
  for (const name of TFLITE_WASM_MODELS) {
    const file = join(TFLITE_MODEL_DIR, `${name}.tflite`);
    const p = lowerQuantizedGraph(importTflite(file));
    const wasm = await emitWasm(p as unknown as Program);
    const ours = await instantiateTfliteWasm(p, wasm);
    const theirs = interpreters.get(name)!;
    try {
    const io = p.inputs[0];
    const x = tfliteSample(p, 1234);
    const want: IntTensor = ours.run([x]);
    const got = theirs.run(x, io.shape, io.dtype);
    const { differing, maxDiff } = compareOutputs(want, got);
    const oursCall = () => ours.runRaw();
    const theirsCall = theirs.timed(x, io.shape, io.dtype);
    // batch size: enough calls for ~budget/rounds ms per round, from one warm-up timing of each
    const calib = (fn: () => void) => { for (let i = 0; i < 3; i++) fn(); const t = performance.now(); fn(); return Math.max(performance.now() - t, 0.001); };
    const nOurs = Math.max(1, Math.round(budget / calib(oursCall)));
    const nTheirs = Math.max(1, Math.min(Math.round(budget / calib(theirsCall)), Math.floor((TFJS_CALL_LIMIT[name] ?? Infinity) / rounds)));
    const tOurs: number[] = [], tTheirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      for (let i = 0; i < nOurs; i++) oursCall();
      tOurs.push(((performance.now() - t) / nOurs) * 1000);
      t = performance.now();
      for (let i = 0; i < nTheirs; i++) theirsCall();
      tTheirs.push(((performance.now() - t) / nTheirs) * 1000);
    }
    const row: TfliteWasmBenchRow = {
      model: name, tinyforgeUs: median(tOurs), tfjsTfliteUs: median(tTheirs), speedup: median(tTheirs) / median(tOurs),
      differing, elements: want.length, maxDiff, wasmBytes: wasm.byteLength,
    };
    theirs.dispose();
    log(`${name}: tinyforge ${row.tinyforgeUs.toFixed(1)} us, tfjs-tflite ${row.tfjsTfliteUs.toFixed(1)} us (x${row.speedup.toFixed(2)}), ${differing}/${want.length} outputs differ (max ${maxDiff})`);
    rows.push(row);
    } catch (e) {
      // tfjs-tflite's own failure (its heap): reported, the other models still run
      log(`${name}: tfjs-tflite failed (${(e as Error).message.split('\n')[0]})`);
      rows.push({ model: name, tinyforgeUs: NaN, tfjsTfliteUs: NaN, speedup: NaN, differing: 0, elements: 0, maxDiff: 0, wasmBytes: wasm.byteLength });
    }
  }
  return rows;
}

export function formatTfliteWasmBench(rows: TfliteWasmBenchRow[]): string {
  if (rows.length === 0) return 'tinyforge WASM vs tfjs-tflite: skipped (@tensorflow/tfjs-tflite is not installed)\n';
  const lines = [
    'tinyforge WASM vs TensorFlow Lite (tfjs-tflite, XNNPACK, SIMD, 1 thread) in Node, median per inference, same process, alternating rounds',
    '| model | tinyforge | tfjs-tflite | tfjs-tflite / tinyforge | outputs differing (max diff) | module bytes |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
    ...rows.map((r) => Number.isNaN(r.tfjsTfliteUs) ? `| ${r.model} | - | tfjs-tflite failed | - | - | ${r.wasmBytes} |` : `| ${r.model} | ${r.tinyforgeUs.toFixed(1)} us | ${r.tfjsTfliteUs.toFixed(1)} us | ${r.speedup.toFixed(2)}x | ${r.differing} of ${r.elements}${r.differing ? ` (${r.maxDiff.toPrecision(3)})` : ''} | ${r.wasmBytes} |`),
  ];
  return `${lines.join('\n')}\n`;
}
