/**
 * TinyTimeMixer checkpoints import by their real parameter names and the float reference reproduces
 * granite-tsfm's prediction_outputs; configs we do not implement are refused naming the field.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { runReference } from '../compiler/ir/reference.js';
import { readSafetensors, serializeSafetensors, toFloat32, type TensorToWrite } from '../compiler/io/safetensors.js';
import { parameterCount } from '../compiler/ir/graph.js';

const FIX = join(import.meta.dirname, 'fixtures');

describe.each([['ttm-mini', 6312], ['ttm-r1-512-96', 805280]] as const)('%s', (name, params) => {
  const dir = join(FIX, name);
  it(`imports ${params} parameters and matches the reference forecasts within 1e-4 relative`, () => {
    const g = importCheckpoint(dir);
    expect(parameterCount(g)).toBe(params);
    const io = readSafetensors(join(dir, 'io.safetensors'));
    const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
    const y = toFloat32(io.tensors.get('prediction_outputs')!, 'prediction_outputs', 'io');
    const [L, C] = g.inputs[0].shape, per = g.outputs[0].shape[0] * g.outputs[0].shape[1];
    let maxAbs = 0, maxRef = 0;
    for (let b = 0; b < 8; b++) {
      const out = runReference(g, x.slice(b * L * C, (b + 1) * L * C));
      for (let i = 0; i < per; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(out[i] - y[b * per + i]));
        maxRef = Math.max(maxRef, Math.abs(y[b * per + i]));
      }
    }
    expect(maxAbs / maxRef).toBeLessThanOrEqual(1e-4);
  });
});

describe('TTM checkpoints that do not match their config are refused', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tf-ttm-'));
  const variant = (label: string, cfg: (c: Record<string, unknown>) => void, weights?: (t: Map<string, TensorToWrite>) => void) => {
    const dir = join(tmp, label);
    cpSync(join(FIX, 'ttm-mini'), dir, { recursive: true });
    const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    cfg(c);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
    if (weights) {
      const st = readSafetensors(join(dir, 'model.safetensors'));
      const t = new Map<string, TensorToWrite>([...st.tensors].map(([k, v]) => [k, { dtype: 'F32', shape: v.shape, data: toFloat32(v, k, 'w') }]));
      weights(t);
      writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(Object.fromEntries(t)));
    }
    return dir;
  };
  it('a missing tensor is named', () => {
    const dir = variant('missing', () => {}, (t) => t.delete('decoder.adapter.bias'));
    expect(() => importCheckpoint(dir)).toThrow(/missing tensor 'decoder.adapter.bias'/);
  });
  it('an extra tensor is named', () => {
    const dir = variant('extra', () => {}, (t) => t.set('head.extra.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }));
    expect(() => importCheckpoint(dir)).toThrow(/unexpected tensor 'head.extra.weight'/);
  });
  it('a wrong shape names the tensor and both shapes', () => {
    const dir = variant('shape', (c) => { c.d_model = 32; });
    expect(() => importCheckpoint(dir)).toThrow(/'backbone.encoder.patcher.weight' has shape \[16,8\] but config.json needs \[32,8\]/);
  });
  it.each([
    ['resolution_prefix_tuning', true],
    ['exogenous_channel_indices', [1]],
    ['enable_forecast_channel_mixing', true],
    ['use_positional_encoding', true],
    ['self_attn', true],
    ['scaling', 'robust'],
    ['mode', 'channel_independent'],
  ])('unsupported %s is refused naming the field', (field, value) => {
    const dir = variant(`cfg-${field}`, (c) => { c[field] = value; });
    expect(() => importCheckpoint(dir)).toThrow(new RegExp(field));
  });
});

describe('TTM float programs', () => {
  it.each(['ttm-mini', 'ttm-r1-512-96'])('%s: the lowered float program (planned arena) equals the graph reference bit for bit', async (name) => {
    const { lowerFloat } = await import('../compiler/plan/lower.js');
    const { executeProgram } = await import('../compiler/exec/program.js');
    const dir = join(FIX, name);
    const g = importCheckpoint(dir);
    const program = lowerFloat(g);
    const io = readSafetensors(join(dir, 'io.safetensors'));
    const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
    const per = g.inputs[0].shape[0] * g.inputs[0].shape[1];
    for (let b = 0; b < 2; b++) {
      const sample = x.slice(b * per, (b + 1) * per);
      expect(Array.from(executeProgram(program, sample).output)).toEqual(Array.from(runReference(g, sample)));
    }
    // the arena is reused: far smaller than the sum of all intermediate tensors
    const total = [...g.values.values()].reduce((s, v) => s + v.shape.reduce((a, c) => a * c, 1) * 4, 0);
    expect(program.arenaBytes).toBeLessThan(total / 4);
  });
});
