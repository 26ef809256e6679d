/**
 * TFLite import: every fixture parses and lowers; seeded corruptions (bit flips, truncation, offsets
 * and lengths pointing outside the file, huge values in vtables, vectors and shapes) end in a one-line
 * TinyforgeError naming the file, or in a valid model — never another exception, never a hang.
 * (More cases, each in a worker with a hard time box: node scripts/fuzz-tflite.mjs.)
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TinyforgeError } from '../compiler/errors.js';
import { importTflite, parseTflite } from '../compiler/frontends/tflite.js';
import { FbReader } from '../compiler/frontends/tflite-schema.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { lowerQuantizedGraph } from '../compiler/plan/lower-quantized.js';

const FIX = join(import.meta.dirname, 'fixtures', 'tflite');
const list = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? list(join(d, f)) : f.endsWith('.tflite') ? [join(d, f)] : []));
const FILES = list(FIX);

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** The same corruptions as scripts/fuzz-tflite.mjs. */
function corrupt(bytes: Uint8Array, seed: number): { kind: string; bytes: Uint8Array } {
  const r = rng(seed);
  const b = Uint8Array.from(bytes);
  const dv = new DataView(b.buffer);
  const pos = () => Math.floor(r() * b.length);
  const hot = () => Math.min(b.length - 1, Math.floor(r() * r() * Math.min(b.length, 4096)));
  const u32 = (p: number, v: number) => { if (p + 4 <= b.length) dv.setUint32(p, v >>> 0, true); };
  switch (Math.floor(r() * 6)) {
    case 0: { const n = 1 + Math.floor(r() * 8); for (let i = 0; i < n; i++) { const p = r() < 0.7 ? hot() : pos(); b[p] ^= 1 << Math.floor(r() * 8); } return { kind: 'bitflip', bytes: b }; }
    case 1: return { kind: 'truncate', bytes: b.subarray(0, Math.floor(r() * b.length)) };
    case 2: { u32((r() < 0.7 ? hot() : pos()) & ~3, b.length + Math.floor(r() * 1e6)); return { kind: 'offset-outside', bytes: b }; }
    case 3: { u32((r() < 0.7 ? hot() : pos()) & ~3, [0x7fffffff, 0xffffffff, 0x40000000, 0x10000, 0xffff][Math.floor(r() * 5)]); return { kind: 'huge-value', bytes: b }; }
    case 4: { const p = (r() < 0.7 ? hot() : pos()) & ~1; if (p + 2 <= b.length) dv.setUint16(p, Math.floor(r() * 65536), true); return { kind: 'vtable-word', bytes: b }; }
    default: { const n = 1 + Math.floor(r() * 32); const p = hot(); for (let i = 0; i < n && p + i < b.length; i++) b[p + i] = Math.floor(r() * 256); return { kind: 'random-run', bytes: b }; }
  }
}

/** 'valid' | the error message; throws (fails the test) on anything but a one-line TinyforgeError. */
function outcome(file: string, bytes: Uint8Array): string {
  try {
    lowerQuantizedGraph(importTflite(file, bytes));
    return 'valid';
  } catch (e) {
    if (!(e instanceof TinyforgeError)) throw new Error(`${file}: not a TinyforgeError: ${(e as Error).stack}`);
    if (e.message.includes('\n') || !e.message.startsWith(file)) throw new Error(`${file}: error is not one line naming the file: ${e.message}`);
    return e.message;
  }
}

describe('TFLite parser', () => {
  it.each(FILES.map((f) => [f.slice(FIX.length + 1), f]))('%s parses', (_n, f) => {
    const m = parseTflite(readFileSync(f), f);
    expect(m.version).toBe(3);
    expect(m.operators.length).toBeGreaterThan(0);
    expect(m.tensors.length).toBeGreaterThan(0);
  });

  it.each(FILES.map((f) => [f.slice(FIX.length + 1), f]))('%s imports (by path, through importCheckpoint) and lowers', (_n, f) => {
    const g = importCheckpoint(f);
    expect(g.modelType).toBe('tflite');
    const p = lowerQuantizedGraph(g);
    expect(p.steps.length).toBeGreaterThan(0);
    expect(p.arenaBytes % 16).toBe(0);
  });

  it('reads per-channel quantization and int64 biases', () => {
    const f = join(FIX, 'seanet/conv/conv0.tflite');
    const m = parseTflite(readFileSync(f), f);
    const w = m.tensors[1], b = m.tensors[2];
    expect(w.type).toBe('int8');
    expect(w.quant!.scale.length).toBe(8);
    expect(w.quant!.dim).toBe(0);
    expect(b.type).toBe('int64');
    expect(b.data!.length).toBe(8 * 8);
  });

  it('an unsupported op is one error listing every unsupported op with its count', () => {
    const f = join(FIX, 'models/keyword_scrambled.tflite');
    const bytes = Uint8Array.from(readFileSync(f));
    // turn every operator code into ABS (101) and SIN (66) alternately: a model of ops we do not know
    const r = new FbReader(bytes, f);
    const codes = r.root().tables(1, 'operator_codes');
    codes.forEach((c, i) => {
      const code = i % 2 ? 66 : 101;
      const p3 = c.field(3, 4, 'builtin_code'), p0 = c.field(0, 1, 'deprecated_builtin_code');
      if (p3) new DataView(bytes.buffer).setInt32(p3, code, true);
      if (p0) bytes[p0] = code;
    });
    const m = parseTflite(bytes, f);
    const count = (c: number) => m.operators.filter((o) => o.code === c).length;
    expect(() => importTflite(f, bytes)).toThrowError(new RegExp(`unsupported TensorFlow Lite ops: .*(ABS x${count(101)}.*SIN x${count(66)}|SIN x${count(66)}.*ABS x${count(101)})`));
  });

  it('truncated, empty and foreign files are one-line errors', () => {
    const f = join(FIX, 'models/hello_world_int8.tflite');
    const bytes = readFileSync(f);
    for (const n of [0, 3, 7, 8, 16, 100, bytes.length - 1]) expect(outcome(f, bytes.subarray(0, n))).toMatch(/not a valid TensorFlow Lite file/);
    expect(outcome(f, new TextEncoder().encode('{"model_type": "tinyforge-mlp"}   '))).toMatch(/not a valid TensorFlow Lite file/);
  });

  it('huge dimensions and data sizes that do not match the shape are refused', () => {
    const f = join(FIX, 'seanet/conv/conv0.tflite');
    const bytes = Uint8Array.from(readFileSync(f));
    const r = new FbReader(bytes, f);
    const tensors = r.root().tables(2, 'subgraphs')[0].tables(0, 'tensors');
    for (const [t, v, msg] of [[0, 0x7fffffff, /dimension|elements/], [1, 4, /buffer holds/], [3, -5 >>> 0, /dimension/]] as const) {
      const b = Uint8Array.from(bytes);
      const shape = tensors[t].vector(0, 'shape', 4)!;
      new DataView(b.buffer).setUint32(shape.start, v, true);
      expect(outcome(f, b)).toMatch(msg);
    }
  });

  it.each(FILES.map((f) => [f.slice(FIX.length + 1), f]))('%s: 12 seeded corruptions each end in a TinyforgeError or a valid model, each within 2 s', (_n, f) => {
    const bytes = readFileSync(f);
    for (let seed = 1; seed <= 12; seed++) {
      const c = corrupt(bytes, seed * 7919 + f.length);
      const t0 = performance.now();
      const o = outcome(f, c.bytes);
      expect(o.length).toBeGreaterThan(0);
      expect(performance.now() - t0, `${c.kind} seed ${seed}`).toBeLessThan(2000);
    }
  });
});
