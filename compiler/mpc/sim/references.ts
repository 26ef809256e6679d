/** Reference signals for closed-loop tracking (seeded, deterministic), scaled into a plant's output range. */
export type ReferenceName = 'step' | 'sine' | 'waypoints';
export const REFERENCE_NAMES: readonly ReferenceName[] = ['step', 'sine', 'waypoints'];

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

/** `steps` samples at period dt, inside [lo, hi]. */
export function makeReference(name: ReferenceName, steps: number, dt: number, [lo, hi]: [number, number], seed = 5): Float64Array {
  const r = new Float64Array(steps);
  const mid = (lo + hi) / 2, amp = (hi - lo) / 2;
  if (name === 'step') {
    const levels = [0.2, 0.9, -0.6, 0.5, -0.9, 0.0];
    const hold = Math.max(1, Math.floor(steps / levels.length));
    for (let t = 0; t < steps; t++) r[t] = mid + amp * levels[Math.min(levels.length - 1, Math.floor(t / hold))];
  } else if (name === 'sine') {
    const period = Math.max(4 * dt, (steps * dt) / 3);
    for (let t = 0; t < steps; t++) r[t] = mid + 0.8 * amp * Math.sin((2 * Math.PI * t * dt) / period);
  } else {
    // random waypoints, linear ramps between them
    const rand = rng(seed);
    let t0 = 0, v0 = mid;
    while (t0 < steps) {
      const len = Math.max(2, Math.round((0.6 + 1.4 * rand()) / dt));
      const v1 = mid + amp * (2 * rand() - 1) * 0.9;
      for (let t = t0; t < Math.min(steps, t0 + len); t++) r[t] = v0 + ((v1 - v0) * (t - t0)) / len;
      t0 += len;
      v0 = v1;
    }
  }
  return r;
}
