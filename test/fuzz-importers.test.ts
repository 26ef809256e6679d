/**
 * CI subset of `npm run fuzz` (scripts/fuzz.mjs): seeded mutations of every fixture model file through every
 * importer (TFLite, safetensors weights and config.json of the checkpoint folders) end in a one-line
 * TinyforgeError or a valid model: no other exception, no hang past the 2 s time box, no out-of-memory.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { fuzz } from '../scripts/fuzz.mjs';

interface Counts { valid: number; error: number; crash: number; hang: number; oom: number }
interface FuzzResult extends Counts { cases: number; byImporter: Record<string, Counts>; failures: Array<Record<string, unknown>> }

describe('importer fuzzing (CI subset)', () => {
  it('5000 seeded cases: only TinyforgeErrors and valid models', async () => {
    const r = (await fuzz({ count: 5000, seed: 7, workers: 2 })) as FuzzResult;
    expect(r.failures, JSON.stringify(r.failures.slice(0, 5), null, 1)).toEqual([]);
    expect(r.crash + r.hang + r.oom).toBe(0);
    expect(r.valid + r.error).toBe(5000);
    // every importer was exercised and rejected something
    for (const imp of ['tflite', 'weights', 'config']) expect(r.byImporter[imp]?.error ?? 0, imp).toBeGreaterThan(100);
  }, 60_000);
});
