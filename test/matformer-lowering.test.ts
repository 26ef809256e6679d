/**
 * MatFormer sub-models lower to programs: the float32 program run by the TS executor equals the float
 * reference, and the int8 program (calibrated on the fixture inputs) keeps cosine similarity >= 0.999
 * with the float hidden states / logits for every uniform granularity. Also the integer attention's
 * edge semantics (no attended key -> uniform weights; causal masking).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { matformerMeta } from '../compiler/frontends/matformer-bert.js';
import { executeProgram } from '../compiler/exec/program.js';
import { runReference } from '../compiler/ir/reference.js';
import { attentionReference } from '../compiler/ops/attention/index.js';
import { extractSubmodel, importMatformerCheckpoint, packForLowering, readPackedSamples, unpackOutputs } from '../compiler/passes/matformer.js';
import { lowerFloat, lowerInt8 } from '../compiler/plan/lower.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { inferShapes, type Graph } from '../compiler/ir/graph.js';

const FIX = join(import.meta.dirname, 'fixtures');

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; }
  return d / Math.sqrt(x * y);
}

const cat = (xs: Float32Array[]) => { const y = new Float32Array(xs.reduce((s, x) => s + x.length, 0)); let o = 0; for (const x of xs) { y.set(x, o); o += x.length; } return y; };

describe.each([['matbert-tiny', 48], ['matlm-tiny', 64]] as const)('%s', (name, T) => {
  const dir = join(FIX, name);
  const g = importMatformerCheckpoint(dir, { sequenceLength: T });
  const meta = matformerMeta(g)!;
  const samples = readPackedSamples(join(dir, 'io.safetensors'), g);

  it.each(meta.granularities)('uniform:%i — float program equals the reference; int8 cosine >= 0.999', (m) => {
    const sub = extractSubmodel(g, meta.layers.map(() => m));
    const pf = packForLowering(sub);
    const prog = lowerFloat(pf);
    expect(prog.input.shape).toEqual([meta.inputNames.length, T]);
    let maxErr = 0;
    const refs = samples.map((x) => runReference(pf, x));
    samples.forEach((x, i) => {
      const y = executeProgram(prog, x).output;
      for (let k = 0; k < y.length; k++) maxErr = Math.max(maxErr, Math.abs(y[k] - refs[i][k]));
    });
    expect(maxErr).toBeLessThanOrEqual(1e-6);

    const pq = packForLowering(sub, { int8: true });
    const calib = calibrate(pq, samples, { method: 'minmax', percentile: 99.99 });
    const p8 = lowerInt8(pq, calib);
    expect(p8.steps.some((s) => s.op === ('attention_s8' as string))).toBe(true);
    const got = samples.map((x) => unpackOutputs(pf, executeProgram(p8, x).output));
    const want = refs.map((r) => unpackOutputs(pf, r));
    const report: string[] = [];
    for (const o of Object.keys(want[0])) {
      const all = cosine(cat(want.map((w) => w[o])), cat(got.map((w) => w[o])));
      const worst = Math.min(...want.map((w, i) => cosine(w[o], got[i][o])));
      report.push(`${o} cosine ${all.toFixed(5)} (worst sample ${worst.toFixed(5)})`);
      expect(worst).toBeGreaterThanOrEqual(0.999);
    }
    console.log(`${name} uniform:${m} float max abs diff ${maxErr}; int8 ${report.join('; ')}; flash ${p8.steps.reduce((s, st) => s + Object.values(st).reduce((a: number, v) => a + (ArrayBuffer.isView(v) ? v.byteLength : 0), 0), 0)} B, arena ${p8.arenaBytes} B`);
  });
});

describe('attention edge semantics', () => {
  const T = 3, D = 4, H = 2, dh = 2; // reference checks
  const q = Float32Array.from({ length: T * D }, (_, i) => Math.sin(i)), k = Float32Array.from({ length: T * D }, (_, i) => Math.cos(i));
  const v = Float32Array.from({ length: T * D }, (_, i) => i);
  it('a query with no attended key averages every value row; causal rows see only the past', () => {
    const none = attentionReference(q, k, v, new Float32Array(T), T, { heads: H, headDim: dh, causal: false });
    for (let c = 0; c < D; c++) expect(none[c]).toBeCloseTo((v[c] + v[D + c] + v[2 * D + c]) / 3, 5);
    const causal = attentionReference(q, k, v, Float32Array.of(1, 1, 1), T, { heads: H, headDim: dh, causal: true });
    for (let c = 0; c < D; c++) expect(causal[c]).toBeCloseTo(v[c], 6);
  });

  it('the int8 program follows the same rules (attention_s8 through lowerInt8)', () => {
    // x [T + 1, D]: rows 0..T-1 are q = k = v, row T is the key mask
    const T = 4, D = 4;
    const g: Graph = {
      name: 'att', source: 'test', modelType: 'test', inputs: [{ name: 'x', shape: [T + 1, D], dtype: 'float32' }],
      outputs: [{ name: 'y', shape: [], dtype: 'float32' }], values: new Map(),
      nodes: [
        { op: 'slice_rows', name: 'qkv', inputs: ['x'], outputs: ['qkv'], attrs: { start: 0, count: T } },
        { op: 'slice_rows', name: 'mask', inputs: ['x'], outputs: ['mask'], attrs: { start: T, count: 1, squeeze: true } },
        { op: 'attention', name: 'att', inputs: ['qkv', 'qkv', 'qkv', 'mask'], outputs: ['y'], attrs: { heads: 2, headDim: 2, causal: true } },
      ],
    };
    inferShapes(g);
    const data = Float32Array.from({ length: T * D }, (_, i) => Math.sin(1.7 * i));
    const sample = (mask: number[]) => { const x = new Float32Array((T + 1) * D); x.set(data); x.set(mask, T * D); return x; };
    const samples = [sample([1, 1, 1, 1]), sample([1, 0, 1, 1]), sample([0, 0, 0, 0])];
    const p8 = lowerInt8(g, calibrate(g, samples, { method: 'minmax', percentile: 99.99 }));
    for (const x of samples) {
      const ref = runReference(g, x), got = executeProgram(p8, x).output;
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(0.02);
    }
    // no attended key: every key weighs 1/T, future ones included
    const none = executeProgram(p8, samples[2]).output;
    for (let c = 0; c < D; c++) expect(none[c]).toBeCloseTo((data[c] + data[D + c] + data[2 * D + c] + data[3 * D + c]) / 4, 1);
  });
});
