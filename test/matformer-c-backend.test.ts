/**
 * MatFormer programs on the C backend: the tiny fixtures (BERT encoder and OLMo decoder) compiled int8
 * run bit-identically to the TS oracle (executeProgram) on the host C compiler and on the emulated
 * Cortex-M4F (QEMU mps2-an386); float programs stay within 1e-5 of the oracle and within 1e-4 of the
 * PyTorch outputs in io.safetensors. Also: instructions per token of the tiny decoder on the board.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executeProgram } from '../compiler/exec/program.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { extractSubmodel, importMatformerCheckpoint, packForLowering, readPackedSamples, unpackOutputs } from '../compiler/passes/matformer.js';
import { lowerFloat, lowerInt8 } from '../compiler/plan/lower.js';
import type { Program } from '../compiler/plan/program.js';
import { inferShapes, type Graph } from '../compiler/ir/graph.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { emitC } from '../compiler/backends/c/index.js';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { runOnQemu } from '../targets/boards/mps2-an386/run.js';

const FIX = join(import.meta.dirname, 'fixtures');

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

function expectBitIdentical(p: Program, inputs: Float32Array[], outputs: Float32Array[]): void {
  expect(outputs.length).toBe(inputs.length);
  inputs.forEach((x, s) => expect(bits(outputs[s])).toEqual(bits(executeProgram(p, x).output)));
}

function maxRelErr(p: Program, inputs: Float32Array[], outputs: Float32Array[]): number {
  let e = 0;
  inputs.forEach((x, s) => {
    const want = executeProgram(p, x).output;
    for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(outputs[s][i] - want[i]) / Math.max(1, Math.abs(want[i])));
  });
  return e;
}

const cases = [
  { name: 'matbert-tiny', T: 48, subs: ['ffn256', 'mixA'], outputs: ['last_hidden_state', 'pooler_output'] },
  { name: 'matlm-tiny', T: 64, subs: ['ffn512', 'mixB'], outputs: ['logits'] },
] as const;

function fixture(name: string, T: number) {
  const dir = join(FIX, name);
  const full = importMatformerCheckpoint(dir, { sequenceLength: T });
  const samples = readPackedSamples(join(dir, 'io.safetensors'), full);
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const submodels = JSON.parse(readFileSync(join(dir, 'submodels.json'), 'utf8')).submodels as Record<string, { ffn_widths_per_layer: number[] }>;
  const build = (sub: string) => {
    const g = extractSubmodel(full, submodels[sub].ffn_widths_per_layer);
    const pq = packForLowering(g, { int8: true });
    return { g, p8: lowerInt8(pq, calibrate(pq, samples, { method: 'minmax', percentile: 99.99 })), pf: lowerFloat(packForLowering(g)) };
  };
  /** max abs difference of packed float outputs from PyTorch's (io.safetensors `<output>.<sub>`) */
  const torchErr = (g: ReturnType<typeof build>['g'], sub: string, ys: Float32Array[], outputs: readonly string[]) => {
    let e = 0;
    ys.forEach((y, b) => {
      const got = unpackOutputs(packForLowering(g), y);
      for (const o of outputs) {
        const ref = toFloat32(io.tensors.get(`${o}.${sub}`)!, o, 'io.safetensors'), per = got[o].length;
        for (let i = 0; i < per; i++) e = Math.max(e, Math.abs(got[o][i] - ref[b * per + i]));
      }
    });
    return e;
  };
  return { samples, build, torchErr };
}

describe.each(cases)('$name on the C backend (host)', ({ name, T, subs, outputs }) => {
  const { samples, build, torchErr } = fixture(name, T);
  it.each(subs)('%s: int8 bit-identical to the TS oracle (portable and DSP-flavoured C); float within 1e-5 of it and 1e-4 of io.safetensors', async (sub) => {
    const { g, p8, pf } = build(sub);
    const src = emitC(p8, { target: 'c' })['model.c'];
    for (const fn of ['tf_emb_index', 'tf_attn8', 'tf_ln8']) expect(src).toContain(fn);
    expectBitIdentical(p8, samples, (await runOnCHost(p8, samples)).outputs);
    expectBitIdentical(p8, samples, (await runOnCHost(p8, samples, { target: 'cortex-m4f' })).outputs);
    const rf = await runOnCHost(pf, samples);
    const err = maxRelErr(pf, samples, rf.outputs), terr = torchErr(g, sub, rf.outputs, outputs);
    expect(err).toBeLessThanOrEqual(1e-5);
    expect(terr).toBeLessThanOrEqual(1e-4);
    console.log(`${name} ${sub}: C host int8 bit-identical (${samples.length} samples); float C vs oracle max rel ${err.toExponential(2)}, vs io.safetensors max abs ${terr.toExponential(2)}`);
  });
});

describe('on the emulated Cortex-M4F (QEMU mps2-an386)', () => {
  it('matbert-tiny: int8 bit-identical to the TS oracle, float within 1e-5 of it and 1e-4 of io.safetensors', async () => {
    const { samples, build, torchErr } = fixture('matbert-tiny', 48);
    const { g, p8, pf } = build('mixA');
    const r8 = await runOnQemu(p8, samples);
    expectBitIdentical(p8, samples, r8.outputs);
    const rf = await runOnQemu(pf, samples.slice(0, 2));
    const err = maxRelErr(pf, samples.slice(0, 2), rf.outputs), terr = torchErr(g, 'mixA', rf.outputs, ['last_hidden_state', 'pooler_output']);
    expect(err).toBeLessThanOrEqual(1e-5);
    expect(terr).toBeLessThanOrEqual(1e-4);
    console.log(`matbert-tiny mixA on QEMU: int8 bit-identical, ${r8.instructions[0]} instructions per 48-token pass, model flash ${r8.modelFlashBytes} B, arena ${r8.arenaBytes} B, stack ${r8.stackBytes} B; float vs oracle ${err.toExponential(2)}, vs io.safetensors ${terr.toExponential(2)}`);
  });

  it('matlm-tiny int8: bit-identical to the TS oracle; instructions per token of a 64-token forward pass', async () => {
    const { samples, build } = fixture('matlm-tiny', 64);
    const lines: string[] = [];
    for (const sub of ['ffn512', 'ffn64']) {
      const { p8 } = build(sub);
      const r = await runOnQemu(p8, samples.slice(0, 2), { timeoutMs: 170_000 });
      expectBitIdentical(p8, samples.slice(0, 2), r.outputs);
      const perToken = r.instructions.map((n) => n / 64);
      expect(perToken.every((n) => n > 0)).toBe(true);
      lines.push(`${sub}: ${r.instructions.join(' / ')} instructions per 64-token pass = ${Math.round(perToken[0])} per token; model flash ${r.modelFlashBytes} B, arena ${r.arenaBytes} B, stack ${r.stackBytes} B`);
    }
    console.log(`matlm-tiny int8 on QEMU (bit-identical): ${lines.join('; ')}`);
  });
});

describe('attention and RoPE kernels: edge cases', () => {
  /** x [T * D + T]: the first T * D values are q (through RoPE when rope) = k = v [T, D], the last T the key mask */
  function attentionGraph(T: number, heads: number, headDim: number, causal: boolean, rope: boolean): Graph {
    const D = heads * headDim;
    const g: Graph = {
      name: 'att', source: 'test', modelType: 'test', inputs: [{ name: 'x', shape: [T * D + T], dtype: 'float32' }],
      outputs: [{ name: 'y', shape: [], dtype: 'float32' }], values: new Map(),
      nodes: [
        { op: 'slice_rows', name: 'flat', inputs: ['x'], outputs: ['flat'], attrs: { start: 0, count: T * D } },
        { op: 'reshape', name: 'qkv', inputs: ['flat'], outputs: ['qkv'], attrs: { shape: [T, D] } },
        { op: 'slice_rows', name: 'mask', inputs: ['x'], outputs: ['mask'], attrs: { start: T * D, count: T } },
        ...(rope ? [{ op: 'rope', name: 'rope', inputs: ['qkv'], outputs: ['q'], attrs: { heads, headDim, theta: 100 } }] : []),
        { op: 'attention', name: 'att', inputs: [rope ? 'q' : 'qkv', 'qkv', 'qkv', 'mask'], outputs: ['y'], attrs: { heads, headDim, causal } },
      ],
    };
    inferShapes(g);
    return g;
  }
  const shapes: Array<[number, number, number, boolean, boolean]> = [[5, 2, 4, true, true], [6, 3, 2, false, false], [7, 2, 6, false, true], [4, 1, 36, true, false]];
  for (const [T, H, dh, causal, rope] of shapes) {
    it(`T=${T}, ${H} heads x ${dh}, ${causal ? 'causal' : 'bidirectional'}${rope ? ', RoPE' : ''}: full, partial and empty masks, host and QEMU`, async () => {
      const g = attentionGraph(T, H, dh, causal, rope), D = H * dh;
      const data = Float32Array.from({ length: T * D }, (_, i) => Math.sin(1.7 * i) * 2);
      const sample = (mask: number[]) => { const x = new Float32Array(T * D + T); x.set(data); x.set(mask, T * D); return x; };
      const masks = [new Array(T).fill(1), Array.from({ length: T }, (_, j) => (j % 3 === 1 ? 0 : 1)), new Array(T).fill(0), Array.from({ length: T }, (_, j) => (j === 0 ? 0 : 1))];
      const inputs = masks.map(sample);
      const { calibrate: cal } = await import('../compiler/quant/calibrate.js');
      const p8 = lowerInt8(g, cal(g, inputs, { method: 'minmax', percentile: 99.99 }));
      const pf = lowerFloat(g);
      expect(p8.steps.map((st) => st.op)).toEqual(expect.arrayContaining(rope ? ['attention_s8', 'rope_s8'] : ['attention_s8']));
      expectBitIdentical(p8, inputs, (await runOnCHost(p8, inputs)).outputs);
      expectBitIdentical(p8, inputs, (await runOnQemu(p8, inputs)).outputs);
      expect(maxRelErr(pf, inputs, (await runOnCHost(pf, inputs)).outputs)).toBeLessThanOrEqual(1e-5);
      expect(maxRelErr(pf, inputs, (await runOnQemu(pf, inputs)).outputs)).toBeLessThanOrEqual(1e-5);
    });
  }
});
