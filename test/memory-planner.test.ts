import { describe, expect, it } from 'vitest';
import { planArena } from '../compiler/plan/memory.js';

describe('arena planner reuses buffers by liveness', () => {
  it('places a chain of layers in two alternating regions', () => {
    const plan = planArena([
      { id: 'a', bytes: 100, first: 0, last: 1 },
      { id: 'b', bytes: 100, first: 1, last: 2 },
      { id: 'c', bytes: 100, first: 2, last: 3 },
      { id: 'd', bytes: 100, first: 3, last: 4 },
    ]);
    expect(plan.peakBytes).toBe(224);
    expect(plan.offsets.get('a')).toBe(plan.offsets.get('c'));
  });
  it('never overlaps tensors that are alive together', () => {
    const reqs = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, bytes: 1 + ((i * 37) % 300), first: i % 10, last: (i % 10) + (i % 4) }));
    const plan = planArena(reqs);
    for (const a of reqs) for (const b of reqs) {
      if (a === b || a.last < b.first || b.last < a.first) continue;
      const oa = plan.offsets.get(a.id)!, ob = plan.offsets.get(b.id)!;
      expect(oa + a.bytes <= ob || ob + b.bytes <= oa).toBe(true);
    }
    for (const r of reqs) expect(plan.offsets.get(r.id)! % 16).toBe(0);
  });
});

describe('int8 lowering keeps every input alive through the step that reads it', () => {
  it('an operand read before a framework-inserted quantize still outlives the op (no output over an input)', async () => {
    const { inferShapes } = await import('../compiler/ir/graph.js');
    const { lowerInt8 } = await import('../compiler/plan/lower.js');
    const { calibrate } = await import('../compiler/quant/calibrate.js');
    const L = 16, C = 4;
    const g = {
      name: 'g', source: 'test', modelType: 'test', values: new Map(),
      inputs: [{ name: 'x', shape: [L, C], dtype: 'float32' as const }],
      outputs: [{ name: 'out', shape: [L, C], dtype: 'float32' as const }],
      nodes: [
        { op: 'scale_series', name: 'scale', inputs: ['x'], outputs: ['s', 'loc', 'sc'], attrs: { kind: 'std' } },
        { op: 'dense', name: 'd', inputs: ['s'], outputs: ['y'], attrs: { inFeatures: C, outFeatures: C, activation: 'linear', weights: Float32Array.from({ length: C * C }, (_, i) => ((i * 7) % 5) / 5 - 0.4), bias: new Float32Array(C) } },
        // y is int8 already; loc exists only as float, so the framework quantizes it right before the add
        { op: 'add', name: 'a', inputs: ['y', 'loc'], outputs: ['out'], attrs: {} },
      ],
    };
    inferShapes(g);
    const samples = Array.from({ length: 4 }, (_, k) => Float32Array.from({ length: L * C }, (_, i) => Math.sin(i * 0.3 + k) * (1 + (i % C))));
    const program = lowerInt8(g, calibrate(g, samples, { method: 'minmax', percentile: 99.99 }));
    const bytes = (r: { dtype: string; length: number }) => r.length * (r.dtype === 'int8' ? 1 : 4);
    const overlap = (a: { space: string; offset: number; dtype: string; length: number }, b: typeof a) =>
      a.space === b.space && a.offset < b.offset + bytes(b) && b.offset < a.offset + bytes(a);
    for (const s of program.steps) for (const input of [s.in, ...(s.aux ?? [])]) {
      if (s.op === 'scale_series_f32') continue; // its aux are outputs
      expect(overlap(s.out, input), `${s.name} writes over its input`).toBe(false);
    }
  });
});
