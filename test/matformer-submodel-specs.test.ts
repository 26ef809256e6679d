/**
 * Sub-model specs: uniform:M, mix:M1,..., budget:flash=..,ram=..[,macs=..] (the largest Mix'n'Match
 * sub-model that fits after int8 quantization, checked against a brute force over every assignment),
 * listSubmodels per granularity, and one-line errors with the numbers for bad input.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TinyforgeError } from '../compiler/errors.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import {
  applySubmodel, estimateInt8Size, extractSubmodel, importMatformerCheckpoint, listSubmodels, matformerParameterCount, matformerMacs,
  packForLowering, parseSubmodelSpec, readPackedSamples, resolveSubmodel,
} from '../compiler/passes/matformer.js';
import { lowerInt8 } from '../compiler/plan/lower.js';
import { loadProgram, serializeProgram } from '../compiler/plan/serialize.js';
import { calibrate } from '../compiler/quant/calibrate.js';

const FIX = join(import.meta.dirname, 'fixtures');
const bert = importMatformerCheckpoint(join(FIX, 'matbert-tiny'), { sequenceLength: 48 });
const lm = importMatformerCheckpoint(join(FIX, 'matlm-tiny'), { sequenceLength: 64 });

/** a one-line TinyforgeError matching re */
function expectOneLine(f: () => unknown, re: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(TinyforgeError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg).toMatch(re);
}

describe('specs', () => {
  it('parses uniform, mix and budget specs (sizes with k/M suffixes)', () => {
    expect(parseSubmodelSpec('uniform:128')).toEqual({ kind: 'uniform', width: 128 });
    expect(parseSubmodelSpec('mix:64,128,256,512')).toEqual({ kind: 'mix', widths: [64, 128, 256, 512] });
    expect(parseSubmodelSpec('budget:flash=256k,ram=32k,macs=12M')).toEqual({ kind: 'budget', budget: { flash: 262144, ram: 32768, macs: 12e6 } });
  });

  it('uniform and mix resolve to the widths with parameters, MACs and int8 sizes', () => {
    const u = resolveSubmodel(lm, 'uniform:128');
    expect(u.widths).toEqual([128, 128, 128, 128]);
    expect(u.parameters).toBe(344640 - 4 * 2 * 64 * (512 - 128));
    const m = resolveSubmodel(lm, 'mix:512,256,256,128');
    expect(m.spec).toBe('mix:512,256,256,128');
    expect(m.macs).toBe(matformerMacs(extractSubmodel(lm, [512, 256, 256, 128])));
    const { graph } = applySubmodel(bert, 'mix:256,32');
    expect(matformerParameterCount(graph)).toBe(141248 - 2 * 64 * (256 - 32) - (256 - 32));
  });

  it('listSubmodels gives size and MACs per uniform granularity, from a graph or a checkpoint folder', () => {
    const list = listSubmodels(join(FIX, 'matlm-tiny'));
    console.log(JSON.stringify(list));
    expect(list.map((s) => s.spec)).toEqual(['uniform:64', 'uniform:128', 'uniform:256', 'uniform:512']);
    expect(list[3].parameters).toBe(344640);
    for (let i = 1; i < list.length; i++) {
      expect(list[i].flashBytes).toBeGreaterThan(list[i - 1].flashBytes);
      expect(list[i].macs).toBeGreaterThan(list[i - 1].macs);
    }
    const b = listSubmodels(bert);
    expect(b.map((s) => s.parameters)).toEqual([83456, 91712, 108224, 141248]);
  });
});

describe('budget search', () => {
  it('matches a brute force over every Mix\'n\'Match assignment (matbert-tiny, 16 assignments)', () => {
    const G = [32, 64, 128, 256];
    const all = G.flatMap((a) => G.map((b) => [a, b]));
    const sized = all.map((w) => { const s = extractSubmodel(bert, w); return { w, params: matformerParameterCount(s), macs: matformerMacs(s), ...estimateInt8Size(s) }; });
    for (const budget of [{ flash: 130000, ram: 16000 }, { flash: 115000, ram: 20000 }, { flash: 200000, ram: 16000, macs: 4e6 }, { flash: 1e6, ram: 1e6 }]) {
      const fits = sized.filter((s) => s.flashBytes <= budget.flash && s.ramBytes <= budget.ram && (budget.macs === undefined || s.macs <= budget.macs));
      const best = Math.max(...fits.map((s) => s.params));
      const spec = `budget:flash=${budget.flash},ram=${budget.ram}${budget.macs ? `,macs=${budget.macs}` : ''}`;
      const got = resolveSubmodel(bert, spec);
      console.log(`${spec} -> ${got.spec}: ${got.parameters} parameters, flash ${got.flashBytes} B, RAM ${got.ramBytes} B, ${got.macs} MACs`);
      expect(got.parameters).toBe(best);
      expect(got.flashBytes).toBeLessThanOrEqual(budget.flash);
      expect(got.ramBytes).toBeLessThanOrEqual(budget.ram);
      expect(got.widths).toEqual([...got.widths].sort((a, b) => a - b)); // widths grow slowly with depth
    }
  });

  it('picks the largest fitting mix of matlm-tiny and prefers slowly changing widths', () => {
    const a = resolveSubmodel(lm, 'budget:flash=300000,ram=64k');
    expect(a.widths).toEqual([256, 256, 256, 256]); // same size as [128,128,256,512], smaller spread
    const b = resolveSubmodel(lm, 'budget:flash=320000,ram=64k');
    expect(b.widths).toEqual([128, 256, 256, 512]);
    expect(b.flashBytes).toBe(estimateInt8Size(extractSubmodel(lm, [128, 256, 256, 512])).flashBytes);
    const c = resolveSubmodel(lm, 'budget:flash=320000,ram=30000');
    expect(Math.max(...c.widths)).toBeLessThan(512); // a 512-wide FFN needs a 41 KB arena
    console.log(`matlm-tiny budget:flash=320000,ram=64k -> ${b.spec} (flash ${b.flashBytes} B, RAM ${b.ramBytes} B); ram=30000 -> ${c.spec} (flash ${c.flashBytes} B, RAM ${c.ramBytes} B)`);
  });

  it('the chosen sub-model compiles to an int8 program that round-trips through program.safetensors', () => {
    const { graph } = applySubmodel(lm, 'budget:flash=320000,ram=64k');
    const pq = packForLowering(graph, { int8: true });
    const samples = readPackedSamples(join(FIX, 'matlm-tiny', 'io.safetensors'), graph);
    const p = lowerInt8(pq, calibrate(pq, samples, { method: 'minmax', percentile: 99.99 }));
    const file = join(mkdtempSync(join(tmpdir(), 'tf-mat-')), 'program.safetensors');
    writeFileSync(file, serializeProgram(p));
    const back = loadProgram(file);
    expect(Array.from(executeProgram(back, samples[3]).output)).toEqual(Array.from(executeProgram(p, samples[3]).output));
  });
});

describe('bad input is one line with the numbers', () => {
  it('widths not in the list, above d_ff, wrong count, malformed specs', () => {
    expectOneLine(() => resolveSubmodel(lm, 'uniform:100'), /layer 0 FFN width 100 is not one of the MatFormer granularities 64, 128, 256, 512/);
    expectOneLine(() => resolveSubmodel(lm, 'uniform:1024'), /layer 0 FFN width 1024 exceeds d_ff 512/);
    expectOneLine(() => resolveSubmodel(lm, 'mix:64,128,256'), /lists 3 FFN widths \[64, 128, 256\] but the model has 4 layers/);
    expectOneLine(() => resolveSubmodel(bert, 'mix:64,x'), /width 'x' is not a positive integer/);
    expectOneLine(() => parseSubmodelSpec('half:2'), /unknown kind 'half'/);
    expectOneLine(() => parseSubmodelSpec('budget:flash=12q'), /flash '12q' is not a number/);
    expectOneLine(() => parseSubmodelSpec('budget:power=3'), /'power=3' is not flash=SIZE/);
    expectOneLine(() => extractSubmodel(extractSubmodel(lm, [128, 128, 128, 128]), [256, 128, 128, 128]), /layer 0 FFN width 256 exceeds this graph's width 128/);
  });

  it('a budget nothing fits names the smallest sub-model\'s needs', () => {
    expectOneLine(() => resolveSubmodel(lm, 'budget:flash=100k,ram=16k'), /no sub-model fits the budget \(flash 102400 B, RAM 16384 B\); the smallest, uniform:64, needs flash 192048 B, RAM 20800 B, 9437184 MACs/);
  });

  it('granularities that do not divide or exceed d_ff, and checkpoints without a matformer block', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tf-matcfg-'));
    const variant = (label: string, src: string, edit: (c: Record<string, unknown>) => void) => {
      const dir = join(tmp, label);
      cpSync(join(FIX, src), dir, { recursive: true });
      const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      edit(c);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
      return dir;
    };
    expectOneLine(() => importCheckpoint(variant('nodiv', 'matbert-tiny', (c) => { c.matformer = { granularities: [32, 96, 256] }; })), /granularity 96 does not divide intermediate_size 256/);
    expectOneLine(() => importCheckpoint(variant('big', 'matlm-tiny', (c) => { c.matformer = { granularities: [64, 1024] }; })), /granularity 1024 exceeds mlp_hidden_size 512/);
    expectOneLine(() => importCheckpoint(variant('plain', 'matbert-tiny', (c) => { delete c.matformer; })), /model_type "bert" is supported for MatFormer checkpoints only/);
    expectOneLine(() => importCheckpoint(variant('swiglu', 'matlm-tiny', (c) => { c.activation_type = 'swiglu'; })), /activation_type = "swiglu" is not supported/);
    // every OLMo option tinyforge does not compute is refused by name, never silently ignored
    const refused: Array<[string, unknown, RegExp]> = [
      ['block_type', 'llama', /block_type = "llama" is not supported/], ['alibi', true, /alibi = true is not supported \(ALiBi/],
      ['rope', false, /rope = false is not supported/], ['multi_query_attention', true, /multi_query_attention = true is not supported/],
      ['attention_layer_norm', true, /attention_layer_norm = true is not supported/], ['layer_norm_type', 'rms', /layer_norm_type = "rms" is not supported/],
      ['layer_norm_with_affine', false, /layer_norm_with_affine = false is not supported/], ['clip_qkv', 8, /clip_qkv = 8 is not supported/],
    ];
    for (const [field, value, re] of refused) expectOneLine(() => importCheckpoint(variant(`olmo-${field}`, 'matlm-tiny', (c) => { c[field] = value; })), re);
    expectOneLine(() => importMatformerCheckpoint(join(FIX, 'matlm-tiny'), { sequenceLength: 65 }), /sequence length 65 exceeds max_sequence_length 64/);
  });
});
