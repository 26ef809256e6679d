#!/usr/bin/env node
/**
 * Seeded fuzzing of every importer: mutations of every fixture model file go through the importer that
 * reads it, and each case must end in a one-line TinyforgeError or a valid model.
 *
 *   node scripts/fuzz.mjs [cases=100000] [seed=1]            (needs the build: imports dist/)
 *
 * Subjects: every .tflite file under test/fixtures (importTflite + lowerQuantizedGraph), and every checkpoint
 * folder (config.json + model.safetensors) under test/fixtures and examples/ (importCheckpoint), with either
 * model.safetensors mutated (bit flips, truncation, corrupted header offsets / lengths / shapes, huge values)
 * or config.json edited (wrong types, huge sizes, missing keys, unknown activations and model types, broken JSON).
 *
 * Cases run in worker threads (one per CPU, a batch at a time, heap capped); a case still running after
 * FUZZ_TIME_BOX_MS (2000) is a hang: the worker is terminated and replaced. A worker that runs out of memory
 * is an `oom`. Prints the counts as JSON ({ cases, valid, error, crash, hang, oom, byImporter }) and the
 * first failures with their seeds; exits 1 when any case crashed, hung or ran out of memory.
 * `FUZZ_ONLY=tflite|weights|config` restricts the subjects; `FUZZ_WORKERS=N` sets the pool size.
 */
import { Worker } from 'node:worker_threads';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.TINYFORGE_DIST ?? join(root, 'dist');
const TIME_BOX_MS = Number(process.env.FUZZ_TIME_BOX_MS ?? 2000);
const BATCH = Number(process.env.FUZZ_BATCH ?? 200);
const HEAP_MB = Number(process.env.FUZZ_HEAP_MB ?? 512);

/** xorshift32 in [0, 1) */
export function rng(seed) {
  let s = (seed >>> 0) || 1;
  for (let i = 0; i < 4; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; }
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** Subjects: { kind: 'tflite', file } and { kind: 'checkpoint', dir } found under the fixture folders. */
export function findSubjects(base = root) {
  const tflite = [], checkpoints = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    if (existsSync(join(d, 'config.json')) && existsSync(join(d, 'model.safetensors'))) checkpoints.push(d);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'node_modules') walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith('.tflite')) tflite.push(join(d, e.name));
    }
  };
  walk(join(base, 'test', 'fixtures'));
  walk(join(base, 'examples'));
  return { tflite: tflite.sort(), checkpoints: checkpoints.sort() };
}

// ---------------------------------------------------------------------------------------------- mutations

/** One seeded corruption of binary bytes (any format): bit flips, truncation, offsets / lengths, huge values. */
export function corruptBytes(bytes, r, hotBytes = 4096) {
  const b = Uint8Array.from(bytes);
  if (b.length === 0) return { kind: 'empty', bytes: b };
  const dv = new DataView(b.buffer);
  const pos = () => Math.floor(r() * b.length);
  const hot = () => Math.min(b.length - 1, Math.floor(r() * r() * Math.min(b.length, hotBytes)));
  const at = () => (r() < 0.7 ? hot() : pos());
  const u32 = (p, v) => { if (p + 4 <= b.length) dv.setUint32(p, v >>> 0, true); };
  switch (Math.floor(r() * 7)) {
    case 0: { const n = 1 + Math.floor(r() * 8); for (let i = 0; i < n; i++) b[at()] ^= 1 << Math.floor(r() * 8); return { kind: 'bitflip', bytes: b }; }
    case 1: return { kind: 'truncate', bytes: b.subarray(0, Math.floor(r() * b.length)) };
    case 2: { u32(at() & ~3, b.length + Math.floor(r() * 1e6)); return { kind: 'offset-outside', bytes: b }; }
    case 3: { u32(at() & ~3, [0x7fffffff, 0xffffffff, 0x40000000, 0x10000, 0xffff, 0x80000000][Math.floor(r() * 6)]); return { kind: 'huge-value', bytes: b }; }
    case 4: { const p = at() & ~1; if (p + 2 <= b.length) dv.setUint16(p, Math.floor(r() * 65536), true); return { kind: 'vtable-word', bytes: b }; }
    case 5: { const p = at(); const n = 1 + Math.floor(r() * 32); for (let i = 0; i < n && p + i < b.length; i++) b[p + i] = Math.floor(r() * 256); return { kind: 'random-run', bytes: b }; }
    default: { const p = at(); const extra = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256)); const o = new Uint8Array(b.length + extra.length); o.set(b.subarray(0, p)); o.set(extra, p); o.set(b.subarray(p), p + extra.length); return { kind: 'insert', bytes: o }; }
  }
}

const enc = new TextEncoder(), dec = new TextDecoder();
const HUGE = [2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 1e12, 1e308, -1, 0, -(2 ** 31), 1.5, 65536, 1e6];
const ODD = [null, true, 'abc', '', [], {}, [1, 2], { a: 1 }, -1, 0, 1e308, '32', [null]];

/** safetensors: the JSON header edited as JSON (shapes, dtypes, offsets), or the raw bytes corrupted. */
export function mutateSafetensors(bytes, r) {
  if (r() < 0.45 || bytes.length < 8) return corruptBytes(bytes, r, 4096);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (n <= 0 || n > bytes.length - 8) return corruptBytes(bytes, r, 4096);
  let header;
  try { header = JSON.parse(dec.decode(bytes.subarray(8, 8 + n))); } catch { return corruptBytes(bytes, r, 4096); }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names[Math.floor(r() * names.length)];
  const t = header[name];
  let kind;
  switch (Math.floor(r() * 9)) {
    case 0: kind = 'shape-huge'; t.shape = t.shape.map((d) => (r() < 0.5 ? HUGE[Math.floor(r() * HUGE.length)] : d)); break;
    case 1: kind = 'shape-rank'; t.shape = r() < 0.5 ? [...t.shape, 1 + Math.floor(r() * 4)] : t.shape.slice(1); break;
    case 2: kind = 'dtype'; t.dtype = ['F16', 'BF16', 'I8', 'U8', 'I64', 'F64', 'BOOL', 'X9', 7][Math.floor(r() * 9)]; break;
    case 3: kind = 'offsets'; t.data_offsets = [HUGE[Math.floor(r() * HUGE.length)], HUGE[Math.floor(r() * HUGE.length)]]; break;
    case 4: kind = 'offsets-swap'; t.data_offsets = [t.data_offsets[1], t.data_offsets[0]]; break;
    case 5: kind = 'drop-tensor'; delete header[name]; break;
    case 6: kind = 'rename-tensor'; header[`${name}.x`] = t; delete header[name]; break;
    case 7: kind = 'field-type'; t[['shape', 'dtype', 'data_offsets'][Math.floor(r() * 3)]] = ODD[Math.floor(r() * ODD.length)]; break;
    default: kind = 'header-length'; {
      const o = Uint8Array.from(bytes);
      new DataView(o.buffer).setBigUint64(0, BigInt([0, 1, n - 1, n + 1, bytes.length, 2 ** 40, 2 ** 53][Math.floor(r() * 7)]), true);
      return { kind, bytes: o };
    }
  }
  const h = enc.encode(JSON.stringify(header));
  const pad = (8 - (h.length % 8)) % 8;
  const o = new Uint8Array(8 + h.length + pad + (bytes.length - 8 - n));
  new DataView(o.buffer).setBigUint64(0, BigInt(h.length + pad), true);
  o.set(h, 8); o.fill(0x20, 8 + h.length, 8 + h.length + pad); o.set(bytes.subarray(8 + n), 8 + h.length + pad);
  return { kind: `st-${kind}`, bytes: o };
}

/** config.json: a key deleted, retyped, made huge, an unknown activation / model type, or the text broken. */
export function mutateConfig(text, r) {
  let cfg;
  try { cfg = JSON.parse(text); } catch { return { kind: 'raw', text }; }
  const paths = [];
  const walk = (v, p) => { if (v && typeof v === 'object') for (const k of Object.keys(v)) { paths.push([...p, k]); if (paths.length < 2000) walk(v[k], [...p, k]); } };
  walk(cfg, []);
  const path = paths[Math.floor(r() * paths.length)];
  const parent = path.slice(0, -1).reduce((o, k) => o[k], cfg), key = path[path.length - 1];
  let kind;
  switch (Math.floor(r() * 9)) {
    case 0: kind = 'missing-key'; if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key]; break;
    case 1: kind = 'wrong-type'; parent[key] = ODD[Math.floor(r() * ODD.length)]; break;
    case 2: kind = 'huge-size'; parent[key] = HUGE[Math.floor(r() * HUGE.length)]; break;
    case 3: kind = 'unknown-activation'; {
      const acts = paths.filter((p) => /act|activation|norm|scaling|mode|type/i.test(String(p[p.length - 1])));
      const q = acts.length ? acts[Math.floor(r() * acts.length)] : path;
      q.slice(0, -1).reduce((o, k) => o[k], cfg)[q[q.length - 1]] = ['swish', 'GELU', 'gelu_new', 'relu6', '', 'tanh ', 42][Math.floor(r() * 7)];
    } break;
    case 4: kind = 'model-type'; cfg.model_type = ['bert', 'tinytimemixer', 'tinyforge-mlp', 'olmo', 'gpt2', null, 3][Math.floor(r() * 7)]; break;
    case 5: kind = 'array-length'; if (Array.isArray(parent[key])) parent[key] = r() < 0.5 ? [] : [...parent[key], ...parent[key]]; else parent[key] = [parent[key]]; break;
    case 6: kind = 'all-sizes-huge'; for (const p of paths) { const o = p.slice(0, -1).reduce((a, k) => a[k], cfg); const k = p[p.length - 1]; if (typeof o[k] === 'number' && r() < 0.3) o[k] = HUGE[Math.floor(r() * HUGE.length)]; } break;
    case 7: kind = 'not-an-object'; return { kind, text: JSON.stringify(ODD[Math.floor(r() * ODD.length)]) };
    default: kind = 'broken-json'; return { kind, text: text.slice(0, Math.floor(r() * text.length)) };
  }
  return { kind: `cfg-${kind}`, text: JSON.stringify(cfg, null, 1) };
}

/** Case `i` of a run with `seed`: which subject, which mutation (deterministic). */
export function makeCase(subjects, i, seed, only) {
  const r = rng(Math.imul(seed, 1000003) + i * 7919 + 17);
  const families = only ? [only] : ['tflite', 'weights', 'config'];
  const fam = families[Math.floor(r() * families.length)];
  if (fam === 'tflite') {
    const file = subjects.tflite[Math.floor(r() * subjects.tflite.length)];
    const c = corruptBytes(readCached(file), r);
    return { importer: 'tflite', subject: file, kind: c.kind, bytes: c.bytes };
  }
  const dir = subjects.checkpoints[Math.floor(r() * subjects.checkpoints.length)];
  if (fam === 'weights') {
    const c = mutateSafetensors(readCached(join(dir, 'model.safetensors')), r);
    return { importer: 'weights', subject: dir, kind: c.kind, weights: c.bytes };
  }
  const c = mutateConfig(dec.decode(readCached(join(dir, 'config.json'))), r);
  return { importer: 'config', subject: dir, kind: c.kind, config: c.text };
}

const cache = new Map();
function readCached(f) { let b = cache.get(f); if (!b) { b = new Uint8Array(readFileSync(f)); cache.set(f, b); } return b; }

// ---------------------------------------------------------------------------------------------- workers

const workerSrc = `
const { parentPort, workerData } = require('node:worker_threads');
const { mkdirSync, writeFileSync, readdirSync, symlinkSync, rmSync, existsSync } = require('node:fs');
const { join, basename } = require('node:path');
const { dist, tmp } = workerData;
let mods;
const dirs = new Map();
function folderFor(subject, c) {
  // a private copy of the checkpoint folder: the other files are symlinks to the originals
  let d = dirs.get(subject);
  if (!d) {
    d = join(tmp, 'ck' + dirs.size + '-' + basename(subject));
    mkdirSync(d, { recursive: true });
    for (const f of readdirSync(subject)) if (f !== 'config.json' && f !== 'model.safetensors') symlinkSync(join(subject, f), join(d, f));
    dirs.set(subject, d);
  }
  for (const f of ['config.json', 'model.safetensors']) rmSync(join(d, f), { force: true });
  if (c.config !== undefined) writeFileSync(join(d, 'config.json'), c.config); else symlinkSync(join(subject, 'config.json'), join(d, 'config.json'));
  if (c.weights !== undefined) writeFileSync(join(d, 'model.safetensors'), c.weights); else symlinkSync(join(subject, 'model.safetensors'), join(d, 'model.safetensors'));
  return d;
}
parentPort.on('message', async ({ cases }) => {
  mods ??= await Promise.all([import(dist + '/compiler/frontends/tflite.js'), import(dist + '/compiler/plan/lower-quantized.js'), import(dist + '/compiler/errors.js'), import(dist + '/compiler/frontends/index.js')]);
  const [{ importTflite }, { lowerQuantizedGraph }, { TinyforgeError }, { importCheckpoint }] = mods;
  for (const c of cases) {
    let result, message;
    try {
      if (c.importer === 'tflite') lowerQuantizedGraph(importTflite(c.subject, c.bytes));
      else importCheckpoint(folderFor(c.subject, c));
      result = 'valid';
    } catch (e) {
      if (e instanceof TinyforgeError && !e.message.includes('\\n')) { result = 'error'; message = e.message.slice(0, 300); }
      else { result = 'crash'; message = String((e && e.stack) || e).slice(0, 1200); }
    }
    parentPort.postMessage({ id: c.id, result, message });
  }
  parentPort.postMessage({ done: true });
});`;

/**
 * Runs `count` cases from `start` with `seed`; returns { counts, byImporter, failures }.
 * Used by the CLI below and by test/fuzz-importers.test.ts.
 */
export async function fuzz({ count, seed = 1, start = 0, workers = Number(process.env.FUZZ_WORKERS ?? Math.max(1, availableParallelism())), only = process.env.FUZZ_ONLY, onProgress } = {}) {
  const subjects = findSubjects();
  if (!subjects.tflite.length || !subjects.checkpoints.length) throw new Error(`fuzz: no fixtures under ${root}`);
  const tmp = mkdtempSync(join(tmpdir(), 'tinyforge-fuzz-'));
  const counts = { valid: 0, error: 0, crash: 0, hang: 0, oom: 0 };
  const byImporter = {};
  const failures = [];
  let next = start;
  const end = start + count;
  let done = 0;
  const record = (c, result, message) => {
    counts[result]++;
    const b = (byImporter[c.importer] ??= { valid: 0, error: 0, crash: 0, hang: 0, oom: 0 });
    b[result]++;
    if (result !== 'valid' && result !== 'error' && failures.length < 200) failures.push({ seed, case: c.id, importer: c.importer, subject: relative(root, c.subject), kind: c.kind, result, message });
    done++;
    if (onProgress && done % 1000 === 0) onProgress(done, count, counts);
  };
  let wid = 0;
  async function lane() {
    for (;;) {
      if (next >= end) return;
      const ids = [];
      for (let i = 0; i < BATCH && next < end; i++) ids.push(next++);
      let pending = ids.map((id) => ({ id, ...makeCase(subjects, id, seed, only) }));
      while (pending.length) {
        pending = await runBatch(pending);
      }
    }
  }
  /** Runs cases in one worker; returns the cases left when the worker had to be replaced. */
  function runBatch(cases) {
    return new Promise((res) => {
      const w = new Worker(workerSrc, { eval: true, workerData: { dist, tmp: join(tmp, `w${wid++}`) }, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: 64 }, stdout: true, stderr: true });
      let k = 0, finished = false, timer;
      const arm = () => { clearTimeout(timer); timer = setTimeout(() => end_('hang'), TIME_BOX_MS + (k === 0 ? 3000 : 0)); };
      const end_ = (why, message) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        w.terminate();
        if (why === 'done') return res([]);
        record(cases[k], why, message);
        res(cases.slice(k + 1));
      };
      w.on('message', (m) => {
        if (m.done) return end_('done');
        record(cases[k], m.result, m.message);
        k++;
        arm();
      });
      w.on('error', (e) => end_(/ERR_WORKER_OUT_OF_MEMORY|heap out of memory|Array buffer allocation failed/i.test(`${e.code} ${e.message}`) ? 'oom' : 'crash', String(e.stack ?? e).slice(0, 1200)));
      w.on('exit', () => { if (!finished) end_('crash', 'worker exited'); });
      arm(); // the first case also pays for loading the modules
      w.postMessage({ cases: cases.map((c) => ({ id: c.id, importer: c.importer, subject: c.subject, bytes: c.bytes, weights: c.weights, config: c.config })) });
    });
  }
  try {
    await Promise.all(Array.from({ length: workers }, lane));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { cases: count, seed, subjects: { tflite: subjects.tflite.length, checkpoints: subjects.checkpoints.length }, ...counts, byImporter, failures };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 100000);
  const seed = Number(process.argv[3] ?? 1);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
    console.error('usage: node scripts/fuzz.mjs [cases=100000] [seed=1]');
    process.exit(2);
  }
  if (!existsSync(join(dist, 'compiler', 'frontends', 'index.js'))) {
    console.error(`fuzz: ${dist} has no build; run 'npm run build' first`);
    process.exit(2);
  }
  const t0 = Date.now();
  const r = await fuzz({ count, seed, onProgress: (d, n, c) => process.stderr.write(`\r${d}/${n} ${JSON.stringify(c)}   `) });
  process.stderr.write('\n');
  const { failures, ...summary } = r;
  console.log(JSON.stringify({ ...summary, seconds: Math.round((Date.now() - t0) / 1000) }));
  for (const f of failures.slice(0, 30)) console.log(`${f.result}: seed ${f.seed} case ${f.case} ${f.importer} ${f.subject} (${f.kind}): ${String(f.message ?? '').split('\n').slice(0, 3).join(' | ')}`);
  process.exit(failures.length ? 1 : 0);
}
