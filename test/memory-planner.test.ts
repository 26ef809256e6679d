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
