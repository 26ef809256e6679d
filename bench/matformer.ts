/**
 * MatFormer BERT at TinyBERT scale (bench/tinybert.ts: 4 layers, hidden 312, 12 heads, FFN 1200, vocab 30522),
 * 128 tokens, 1 thread, one process: tinyforge WASM int8 (each uniform granularity 150 / 300 / 600 / 1200,
 * calibrated like `compile --quant int8 --calib-method percentile --percentile 99.9` on 4 random sequences)
 * vs onnxruntime-web fp32 (wasm backend, SIMD, numThreads 1) on `tinyforge export --format onnx` of the
 * full-width model. Median ms per encode of one full 128-token sequence, alternating rounds after a warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { exportOnnx } from '../compiler/export/onnx.js';
import { extractSubmodel, importMatformerCheckpoint, packForLowering, packingOf, readPackedSamples } from '../compiler/passes/matformer.js';
import { lowerInt8 } from '../compiler/plan/lower.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { load } from '../runtime/index.js';
import { randomTokens, TINYBERT_SHAPE, writeMatformerBert, writeTokens } from './tinybert.js';

export interface MatformerBenchRow {
  engine: string;
  /** FFN width of every layer */
  width: number;
  medianMs: number;
  /** onnxruntime-web fp32 (full width) median / this engine's median */
  speedupVsOrt: number;
  moduleBytes: number;
  /** load + instantiate (+ session create) + first inference */
  coldStartMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runMatformerBench(log: (s: string) => void = console.log, rounds = 15, perRound = 3, tokens = 128): Promise<MatformerBenchRow[]> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const tmp = mkdtempSync(join(tmpdir(), 'tf-bench-matformer-'));
  try {
    const dir = writeMatformerBert(join(tmp, 'tinybert'));
    const full = importMatformerCheckpoint(dir, { sequenceLength: tokens });
    const calibFile = writeTokens(join(tmp, 'calib.safetensors'), randomTokens(4, tokens, TINYBERT_SHAPE.vocab, 5));
    const x = readPackedSamples(writeTokens(join(tmp, 'x.safetensors'), randomTokens(1, tokens, TINYBERT_SHAPE.vocab, 99, false)), full)[0];
    const ids = Array.from(x.subarray(0, tokens)), types = Array.from(x.subarray(tokens, 2 * tokens)), mask = Array.from(x.subarray(2 * tokens));
    const engines: Array<{ engine: string; width: number; run: () => unknown; cold: number; bytes: number }> = [];
    for (const m of TINYBERT_SHAPE.granularities) {
      log(`bench matformer: tinyforge int8 uniform:${m} (calibrate + link)`);
      const sub = extractSubmodel(full, new Array<number>(TINYBERT_SHAPE.layers).fill(m));
      const packed = packForLowering(sub, { int8: true });
      const program = lowerInt8(packed, calibrate(packed, readPackedSamples(calibFile, sub), { method: 'percentile', percentile: 99.9 }));
      const bytes = await emitWasm(program, { packing: packingOf(packed) });
      const t0 = performance.now();
      const model = await load(bytes);
      model.encode(ids, mask, { tokenTypeIds: types });
      engines.push({ engine: 'tinyforge wasm int8', width: m, run: () => model.encode(ids, mask, { tokenTypeIds: types }), cold: performance.now() - t0, bytes: bytes.byteLength });
    }
    log('bench matformer: onnxruntime-web fp32 (full width, exported ONNX)');
    const onnx = exportOnnx(full).bytes;
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const t64 = (a: number[]) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [1, tokens]);
    const feed = { input_ids: t64(ids), token_type_ids: t64(types), attention_mask: t64(mask) };
    await session.run(feed);
    engines.push({ engine: 'onnxruntime-web fp32', width: TINYBERT_SHAPE.ffn, run: () => session.run(feed), cold: performance.now() - t0, bytes: onnx.byteLength });
    for (const e of engines) for (let i = 0; i < 2 * perRound; i++) await e.run();
    const times = engines.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [k, e] of engines.entries()) {
        const t = performance.now();
        for (let i = 0; i < perRound; i++) await e.run();
        times[k].push((performance.now() - t) / perRound);
      }
    }
    const ortMedian = median(times[times.length - 1]);
    await session.release();
    return engines.map((e, k) => ({ engine: e.engine, width: e.width, medianMs: median(times[k]), speedupVsOrt: ortMedian / median(times[k]), moduleBytes: e.bytes, coldStartMs: e.cold }));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatMatformerBench(rows: MatformerBenchRow[]): string {
  return ['| engine (TinyBERT-scale MatFormer, 128 tokens, 1 thread) | FFN width | median ms / encode | × vs onnxruntime-web fp32 | cold start ms | module bytes |', '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.engine} | ${r.width} | ${r.medianMs.toFixed(2)} | ${r.speedupVsOrt.toFixed(2)} | ${r.coldStartMs.toFixed(1)} | ${r.moduleBytes} |`)].join('\n');
}
