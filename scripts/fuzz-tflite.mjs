#!/usr/bin/env node
/**
 * Seeded corruption fuzzing of the TFLite importer: every case must end in a TinyforgeError or a model
 * that imports and lowers; any other exception, or a case that takes longer than the time box, fails.
 * Each case runs in a worker thread that is terminated at the time box, so a hang is caught too.
 *
 *   node scripts/fuzz-tflite.mjs [cases-per-file=500] [seed=1] [dir-or-file ...]
 * Needs the build (npm run build): imports dist/.
 */
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.TINYFORGE_DIST ?? join(root, 'dist');
const cases = Number(process.argv[2] ?? 500);
const seed0 = Number(process.argv[3] ?? 1);
const targets = process.argv.slice(4);
const TIME_BOX_MS = Number(process.env.FUZZ_TIME_BOX_MS ?? 5000);

function listFiles(p) {
  if (statSync(p).isDirectory()) return readdirSync(p).flatMap((f) => listFiles(join(p, f)));
  return p.endsWith('.tflite') ? [p] : [];
}
const files = (targets.length ? targets : [join(root, 'test/fixtures/tflite')]).flatMap(listFiles);

/** xorshift32 */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** One seeded corruption of a file: bit flips, truncation, out-of-range offsets/lengths, huge values. */
export function corrupt(bytes, seed) {
  const r = rng(seed);
  const b = Uint8Array.from(bytes);
  const kind = Math.floor(r() * 6);
  const pos = () => Math.floor(r() * b.length);
  const u32 = (p, v) => { if (p + 4 <= b.length) new DataView(b.buffer).setUint32(p, v >>> 0, true); };
  const hot = () => Math.min(b.length - 1, Math.floor(r() * r() * Math.min(b.length, 4096))); // the tables near the start
  switch (kind) {
    case 0: { const n = 1 + Math.floor(r() * 8); for (let i = 0; i < n; i++) { const p = r() < 0.7 ? hot() : pos(); b[p] ^= 1 << Math.floor(r() * 8); } return { kind: 'bitflip', bytes: b }; }
    case 1: return { kind: 'truncate', bytes: b.subarray(0, Math.floor(r() * b.length)) };
    case 2: { const p = (r() < 0.7 ? hot() : pos()) & ~3; u32(p, b.length + Math.floor(r() * 1e6)); return { kind: 'offset-outside', bytes: b }; }
    case 3: { const p = (r() < 0.7 ? hot() : pos()) & ~3; u32(p, [0x7fffffff, 0xffffffff, 0x40000000, 0x10000, 0xffff][Math.floor(r() * 5)]); return { kind: 'huge-value', bytes: b }; }
    case 4: { const p = (r() < 0.7 ? hot() : pos()) & ~1; if (p + 2 <= b.length) new DataView(b.buffer).setUint16(p, Math.floor(r() * 65536), true); return { kind: 'vtable-word', bytes: b }; }
    default: { const n = 1 + Math.floor(r() * 32); const p = hot(); for (let i = 0; i < n && p + i < b.length; i++) b[p + i] = Math.floor(r() * 256); return { kind: 'random-run', bytes: b }; }
  }
}

const workerSrc = `
const { parentPort } = require('node:worker_threads');
let mods;
parentPort.on('message', async ({ dist, file, bytes }) => {
  mods ??= await Promise.all([import(dist + '/compiler/frontends/tflite.js'), import(dist + '/compiler/plan/lower-quantized.js'), import(dist + '/compiler/errors.js')]);
  const [{ importTflite }, { lowerQuantizedGraph }, { TinyforgeError }] = mods;
  try {
    lowerQuantizedGraph(importTflite(file, new Uint8Array(bytes)));
    parentPort.postMessage({ result: 'valid' });
  } catch (e) {
    if (e instanceof TinyforgeError && !e.message.includes('\\n')) parentPort.postMessage({ result: 'error', message: e.message });
    else parentPort.postMessage({ result: 'crash', message: String(e && e.stack || e) });
  }
});`;

let worker = null;
function newWorker() { worker = new Worker(workerSrc, { eval: true }); }
function runCase(file, bytes) {
  return new Promise((res) => {
    if (!worker) newWorker();
    const timer = setTimeout(() => { worker.terminate(); worker = null; res({ result: 'hang' }); }, TIME_BOX_MS);
    worker.once('message', (m) => { clearTimeout(timer); res(m); });
    worker.postMessage({ dist, file, bytes });
  });
}

const counts = { valid: 0, error: 0, crash: 0, hang: 0 };
const failures = [];
for (const file of files) {
  const bytes = readFileSync(file);
  for (let i = 0; i < cases; i++) {
    const seed = seed0 * 1000003 + i;
    const c = corrupt(bytes, seed);
    const r = await runCase(file, c.bytes);
    counts[r.result]++;
    if (r.result === 'crash' || r.result === 'hang') failures.push(`${file} seed ${seed} (${c.kind}): ${r.result} ${r.message ?? ''}`.slice(0, 600));
  }
  process.stderr.write(`${file}: ${JSON.stringify(counts)}\n`);
}
worker?.terminate();
console.log(JSON.stringify({ files: files.length, casesPerFile: cases, ...counts }));
for (const f of failures.slice(0, 20)) console.log(f);
process.exit(failures.length ? 1 : 0);
