/**
 * TinyTimeMixer in WASM, side by side in one process, 1 thread: tinyforge (float32, int8, int4) vs
 * onnxruntime-web (wasm backend, SIMD, numThreads 1) on the fixture's model.onnx. Median latency per
 * forecast (alternating rounds after a warm-up), cold start (load + instantiate + first forecast) and module size.
 * tinyforge int8/int4 programs are lowered like `tinyforge compile --quant int8|int4` (calibrated on the fixture's
 * 8 samples); their forecasts are bit-identical to the TS oracle and the C backend (test/ttm-wasm.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { buildProgram, type QuantMode } from '../compiler/compile.js';
import { readSamples } from '../compiler/io/samples.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { load } from '../runtime/index.js';
import { packageRoot } from '../compiler/paths.js';

export interface TtmBenchRow {
  model: string;
  engine: string;
  medianUs: number;
  coldStartMs: number;
  moduleBytes: number;
  /** onnxruntime-web median / this engine's median */
  speedupVsOrt: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runTtmBench(log: (s: string) => void = console.log, rounds = 30, perRound = 20): Promise<TtmBenchRow[]> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const ortWasmBytes = statSync(join(createRequire(import.meta.url).resolve('onnxruntime-web'), '..', 'ort-wasm-simd-threaded.wasm')).size;
  const rows: TtmBenchRow[] = [];
  for (const name of ['ttm-mini', 'ttm-r1-512-96']) {
    log(`bench ttm: ${name}`);
    const dir = join(packageRoot(), 'test', 'fixtures', name);
    const g = importCheckpoint(dir);
    const [L, C] = g.inputs[0].shape;
    const samples = readSamples(join(dir, 'io.safetensors'), 'past_values', [L, C]);
    const x = samples[0];
    const engines: Array<{ engine: string; run: () => Promise<unknown> | unknown; cold: number; bytes: number }> = [];
    for (const quant of ['float32', 'int8', 'int4'] as QuantMode[]) {
      const { program } = buildProgram(g, quant, samples);
      const bytes = await emitWasm(program);
      const t0 = performance.now();
      const m = await load(bytes);
      m.run({ past_values: x });
      const cold = performance.now() - t0;
      engines.push({ engine: `tinyforge ${quant}`, run: () => m.run({ past_values: x }), cold, bytes: bytes.byteLength });
    }
    const onnx = readFileSync(join(dir, 'model.onnx'));
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
    const feed = { past_values: new ort.Tensor('float32', x, [1, L, C]) };
    await session.run(feed);
    engines.push({ engine: 'onnxruntime-web', run: () => session.run(feed), cold: performance.now() - t0, bytes: ortWasmBytes + onnx.byteLength });
    // warm-up: every engine's code tiered up (V8 compiles WebAssembly with Liftoff first, TurboFan when hot)
    for (const e of engines) for (let i = 0; i < 2 * perRound; i++) await e.run();
    const times = new Map<string, number[]>(engines.map((e) => [e.engine, []]));
    for (let r = 0; r < rounds; r++) {
      for (const e of engines) {
        const t = performance.now();
        for (let i = 0; i < perRound; i++) await e.run();
        times.get(e.engine)!.push(((performance.now() - t) * 1000) / perRound);
      }
    }
    const ortMedian = median(times.get('onnxruntime-web')!);
    for (const e of engines) {
      const med = median(times.get(e.engine)!);
      rows.push({ model: name, engine: e.engine, medianUs: med, coldStartMs: e.cold, moduleBytes: e.bytes, speedupVsOrt: ortMedian / med });
    }
  }
  return rows;
}

export function formatTtmBench(rows: TtmBenchRow[]): string {
  return ['| model | engine | median µs / forecast | × vs onnxruntime-web | cold start ms | module bytes |', '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.engine} | ${r.medianUs.toFixed(1)} | ${r.speedupVsOrt.toFixed(2)} | ${r.coldStartMs.toFixed(1)} | ${r.moduleBytes} |`)].join('\n');
}
