/**
 * MatFormer models compiled to WASM (embedding / RoPE / attention / slice / concat kernels) and run through the
 * runtime's sequence APIs: int8 programs give executeProgram's bits, float programs stay within 1e-5 of it and
 * within 1e-4 of io.safetensors for every sub-model of submodels.json; encode() / logits() unpack the packed IO;
 * generate() (KV-cache decoder step) with greedy decoding equals the argmax of repeated full logits() passes;
 * bad ids and lengths throw one-line TinyforgeRuntimeErrors. Prints the encode latency and generate tokens/s.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { extractSubmodel, importMatformerCheckpoint, packForLowering, packingOf, readPackedSamples } from '../compiler/passes/matformer.js';
import { lowerFloat, lowerInt8 } from '../compiler/plan/lower.js';
import type { Program } from '../compiler/plan/program.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import type { Graph } from '../compiler/ir/graph.js';
import { load, TinyforgeRuntimeError, type TinyforgeModel } from '../runtime/index.js';

const FIX = join(import.meta.dirname, 'fixtures');

interface Built { program: Program; model: TinyforgeModel; samples: Float32Array[]; graph: Graph; bytes: number; emitMs: number }

async function build(name: string, T: number, quant: 'float32' | 'int8', widths?: number[]): Promise<Built> {
  const dir = join(FIX, name);
  let g = importMatformerCheckpoint(dir, { sequenceLength: T });
  if (widths) g = extractSubmodel(g, widths);
  const samples = readPackedSamples(join(dir, 'io.safetensors'), g);
  let program: Program, packed: Graph;
  if (quant === 'int8') {
    packed = packForLowering(g, { int8: true });
    program = lowerInt8(packed, calibrate(packed, samples, { method: 'minmax', percentile: 99.99 }));
  } else {
    packed = packForLowering(g);
    program = lowerFloat(packed);
  }
  const t0 = performance.now();
  const bytes = await emitWasm(program, { packing: packingOf(packed) });
  const emitMs = performance.now() - t0;
  return { program, model: await load(bytes), samples, graph: packed, bytes: bytes.byteLength, emitMs };
}

const maxAbs = (a: Float32Array, b: Float32Array) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const argmax = (r: Float32Array) => { let b = 0; for (let i = 1; i < r.length; i++) if (r[i] > r[b]) b = i; return b; };
const oneLine = (f: () => unknown, pattern: RegExp) => {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(TinyforgeRuntimeError);
    expect((e as Error).message).not.toContain('\n');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error(`expected a TinyforgeRuntimeError matching ${pattern}`);
};

describe('matbert-tiny (encoder) in WASM', () => {
  const T = 48, dir = join(FIX, 'matbert-tiny');
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const tensor = (n: string) => toFloat32(io.tensors.get(n)!, n, 'io.safetensors');
  const submodels = JSON.parse(readFileSync(join(dir, 'submodels.json'), 'utf8')).submodels as Record<string, { ffn_widths_per_layer: number[] }>;

  it('int8: run() and encode() give executeProgram\'s bits; float: within 1e-5; encode latency', async () => {
    for (const quant of ['int8', 'float32'] as const) {
      const { program, model, samples } = await build('matbert-tiny', T, quant);
      expect(model.name).toBe(program.name);
      let worst = 0;
      for (const x of samples) {
        const want = executeProgram(program, x).output;
        const got = model.run({ inputs: x })[model.outputs[0].name];
        if (quant === 'int8') expect(sameBits(got, want)).toBe(true);
        else worst = Math.max(worst, maxAbs(got, want));
        // the same through encode(): ids, mask and types by name, the output split back
        const ids = Array.from(x.subarray(0, T)), types = Array.from(x.subarray(T, 2 * T)), mask = Array.from(x.subarray(2 * T, 3 * T));
        const e = model.encode(ids, mask, { tokenTypeIds: types });
        expect(e.tokens).toBe(T);
        expect(e.hiddenSize).toBe(64);
        expect(sameBits(e.lastHiddenState, got.subarray(0, T * 64))).toBe(true);
        expect(sameBits(e.pooled!, got.subarray(T * 64))).toBe(true);
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
      // shorter input: padded with mask 0 at the end, only the real rows come back, equal to the full pass's rows
      const ids = Array.from(samples[0].subarray(0, 20));
      const short = model.encode(ids);
      const x = new Float32Array(3 * T); x.set(ids); x.fill(1, 2 * T, 2 * T + 20);
      const full = model.run({ inputs: x })[model.outputs[0].name];
      expect(short.lastHiddenState.length).toBe(20 * 64);
      expect(sameBits(short.lastHiddenState, full.subarray(0, 20 * 64))).toBe(true);
      // longer input: the first T ids
      expect(model.encode([...Array.from(samples[0].subarray(0, T)), 5, 6]).tokens).toBe(T);

      const reps = 200, t0 = performance.now();
      for (let i = 0; i < reps; i++) model.encode(ids);
      console.log(`matbert-tiny ${quant} WASM: encode (${T} tokens) ${((performance.now() - t0) / reps).toFixed(3)} ms${quant === 'float32' ? `, max abs diff vs executeProgram ${worst.toExponential(2)}` : ', bit-identical to executeProgram'}`);
    }
  });

  it.each(Object.keys(submodels))('float sub-model %s matches io.safetensors within 1e-4', async (s) => {
    const widths = submodels[s].ffn_widths_per_layer;
    const { model, program, samples } = await build('matbert-tiny', T, 'float32', widths);
    const hs = tensor(`last_hidden_state.${s}`), po = tensor(`pooler_output.${s}`);
    let err = 0, errProg = 0;
    samples.forEach((x, b) => {
      const e = model.encode(Array.from(x.subarray(0, T)), Array.from(x.subarray(2 * T, 3 * T)), { tokenTypeIds: Array.from(x.subarray(T, 2 * T)) });
      err = Math.max(err, maxAbs(e.lastHiddenState, hs.subarray(b * T * 64, (b + 1) * T * 64)), maxAbs(e.pooled!, po.subarray(b * 64, (b + 1) * 64)));
      const want = executeProgram(program, x).output;
      errProg = Math.max(errProg, maxAbs(new Float32Array([...e.lastHiddenState, ...e.pooled!]), want));
    });
    console.log(`matbert-tiny ${s} [${widths}] WASM float: max abs error vs io.safetensors ${err.toExponential(2)}, vs executeProgram ${errProg.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(errProg).toBeLessThanOrEqual(1e-5);
  });

  it('without the packing option the backend reads the sequence layout off the program', async () => {
    const { model, program, samples } = await build('matbert-tiny', T, 'int8');
    const bare = await load(await emitWasm(program));
    const ids = Array.from(samples[1].subarray(0, T));
    const a = model.encode(ids), b = bare.encode(ids);
    expect(sameBits(a.lastHiddenState, b.lastHiddenState)).toBe(true);
    expect(sameBits(a.pooled!, b.pooled!)).toBe(true);
  });

  it('one-line errors for bad ids, masks and lengths', async () => {
    const { model } = await build('matbert-tiny', T, 'int8');
    oneLine(() => model.encode([1, 2, 512]), /inputIds\[2\] = 512 is not an integer id in \[0, 512\)/);
    oneLine(() => model.encode([1, -1]), /inputIds\[1\] = -1/);
    oneLine(() => model.encode([1, 2.5]), /inputIds\[1\] = 2.5/);
    oneLine(() => model.encode([]), /inputIds is empty/);
    oneLine(() => model.encode([1, 2], [1]), /attentionMask has 1 values but inputIds has 2/);
    oneLine(() => model.encode([1, 2], [1, 2]), /attentionMask\[1\] = 2 is not 0 or 1/);
    oneLine(() => model.encode([1, 2], undefined, { tokenTypeIds: [0, 2] }), /tokenTypeIds\[1\] = 2/);
    oneLine(() => model.encode('abc' as never), /inputIds must be an array of integer ids/);
    oneLine(() => model.logits([1]), /needs a causal decoder.*is an encoder, use encode\(\)/);
    oneLine(() => model.generate([1]), /needs a causal decoder/);
  });
});

describe('matlm-tiny (decoder) in WASM', () => {
  const T = 64, dir = join(FIX, 'matlm-tiny');
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const tensor = (n: string) => toFloat32(io.tensors.get(n)!, n, 'io.safetensors');
  const submodels = JSON.parse(readFileSync(join(dir, 'submodels.json'), 'utf8')).submodels as Record<string, { ffn_widths_per_layer: number[] }>;
  const V = 256;

  it.each(['int8', 'float32'] as const)('%s: run()/logits() vs executeProgram; greedy generate() == argmax of repeated logits(); tokens/s', async (quant) => {
    const { program, model, samples, bytes, emitMs } = await build('matlm-tiny', T, quant);
    let worst = 0;
    for (const x of samples) {
      const want = executeProgram(program, x).output;
      const got = model.run({ inputs: x }).logits;
      if (quant === 'int8') expect(sameBits(got, want)).toBe(true);
      else worst = Math.max(worst, maxAbs(got, want));
    }
    expect(worst).toBeLessThanOrEqual(1e-5);
    // logits(ids) = the packed run with mask 1 on the ids and padding after them
    const ids = Array.from(samples[0].subarray(0, 10));
    const x = new Float32Array(2 * T); x.set(ids); x.fill(1, T, T + 10);
    expect(sameBits(model.logits(ids), model.run({ inputs: x }).logits.subarray(0, 10 * V))).toBe(true);

    // greedy generation through the KV cache equals repeated full passes
    for (const prompt of [ids.slice(0, 1), ids, Array.from(samples[1].subarray(0, 40))]) {
      const n = Math.min(24, T - prompt.length + 1);
      const g = model.generate(prompt, { maxNewTokens: n, temperature: 0 });
      const seq = [...prompt];
      for (let i = 0; i < n; i++) {
        const l = model.logits(seq);
        seq.push(argmax(l.subarray((seq.length - 1) * V, seq.length * V)));
      }
      expect(g.sequence).toEqual(seq);
      expect(g.tokens.length).toBe(n);
    }
    // the decoder step's logits rows are the full pass's rows, bit for bit (prompt 40 + 24 new = the whole context)
    const full = model.generate(Array.from(samples[2].subarray(0, 40)), { maxNewTokens: 100 });
    expect(full.finishReason).toBe('context');
    expect(full.sequence.length).toBe(T + 1);
    // sampling: deterministic per seed, topK respected
    const a = model.generate(ids, { maxNewTokens: 12, temperature: 0.8, topK: 5, seed: 7 });
    const b = model.generate(ids, { maxNewTokens: 12, temperature: 0.8, topK: 5, seed: 7 });
    expect(a.tokens).toEqual(b.tokens);
    const c = model.generate(ids, { maxNewTokens: 1, temperature: 5, topK: 1, seed: 3 });
    expect(c.tokens[0]).toBe(model.generate(ids, { maxNewTokens: 1 }).tokens[0]);

    const t0 = performance.now();
    let produced = 0;
    for (let r = 0; r < 5; r++) produced += model.generate([1], { maxNewTokens: 63 }).tokens.length;
    const tps = produced / ((performance.now() - t0) / 1000);
    const t1 = performance.now();
    for (let r = 0; r < 20; r++) model.logits(ids);
    console.log(`matlm-tiny ${quant} WASM: generate ${tps.toFixed(0)} tokens/s (1-token prompt, 63 new, KV cache); full logits() pass ${((performance.now() - t1) / 20).toFixed(3)} ms${quant === 'float32' ? `; max abs diff vs executeProgram ${worst.toExponential(2)}` : '; bit-identical to executeProgram'}; module ${bytes} B (run + decode(p) for ${T} positions), linked in ${emitMs.toFixed(0)} ms`);
  });

  it.each(Object.keys(submodels))('float sub-model %s matches io.safetensors within 1e-4', async (s) => {
    const widths = submodels[s].ffn_widths_per_layer;
    const { model, samples } = await build('matlm-tiny', T, 'float32', widths);
    const ref = tensor(`logits.${s}`);
    let err = 0;
    samples.forEach((x, b) => { err = Math.max(err, maxAbs(model.run({ inputs: x }).logits, ref.subarray(b * T * V, (b + 1) * T * V))); });
    console.log(`matlm-tiny ${s} [${widths}] WASM float: max abs error vs io.safetensors ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('one-line errors for bad ids, lengths and options', async () => {
    const { model, program } = await build('matlm-tiny', T, 'int8');
    const bare = await load(await emitWasm(program));
    expect(bare.generate([3, 4, 5], { maxNewTokens: 8 }).tokens).toEqual(model.generate([3, 4, 5], { maxNewTokens: 8 }).tokens);
    oneLine(() => model.logits([1, 256]), /ids\[1\] = 256 is not an integer id in \[0, 256\)/);
    oneLine(() => model.logits(new Array(65).fill(1)), /has 65 ids but .* context of 64 tokens/);
    oneLine(() => model.generate([], {}), /promptIds is empty/);
    oneLine(() => model.generate([1], { maxNewTokens: -1 }), /maxNewTokens -1 must be a non-negative integer/);
    oneLine(() => model.generate([1], { temperature: Number.NaN }), /temperature NaN must be a finite number/);
    oneLine(() => model.generate([1], { topK: 1.5 }), /topK 1.5/);
    oneLine(() => model.generate([1], { maxNewTokens: '3' as never }), /maxNewTokens string must be/);
    oneLine(() => model.encode([1]), /needs a bidirectional encoder.*is a decoder, use logits\(\) \/ generate\(\)/);
  });
});
