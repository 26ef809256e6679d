/**
 * Static arena planner: every intermediate tensor gets an offset in one arena; tensors whose
 * lifetimes (first producing step .. last reading step) overlap never share bytes. Greedy by size,
 * largest first, each placed at the lowest 16-byte-aligned gap that fits (TFLM's greedy planner idea).
 */
export interface ArenaRequest {
  id: string;
  bytes: number;
  /** step index that writes it */
  first: number;
  /** last step index that reads it */
  last: number;
}

export interface ArenaPlan {
  offsets: Map<string, number>;
  peakBytes: number;
}

export const ARENA_ALIGN = 16;
const align = (n: number) => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

export function planArena(requests: ArenaRequest[]): ArenaPlan {
  const order = [...requests].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const placed: Array<ArenaRequest & { offset: number }> = [];
  const offsets = new Map<string, number>();
  let peak = 0;
  for (const r of order) {
    const size = align(r.bytes);
    const clashes = placed
      .filter((p) => p.first <= r.last && r.first <= p.last)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const c of clashes) {
      if (offset + size <= c.offset) break;
      offset = Math.max(offset, align(c.offset + c.bytes));
    }
    placed.push({ ...r, offset });
    offsets.set(r.id, offset);
    peak = Math.max(peak, offset + size);
  }
  return { offsets, peakBytes: peak };
}
