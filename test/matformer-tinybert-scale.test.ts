/**
 * MatFormer BERT at TinyBERT scale (4 layers, hidden 312, 12 heads, FFN 1200, vocab 30522; ~14.4M parameters,
 * a seeded checkpoint written to a temp dir, bench/tinybert.ts) compiled to WASM int8 at 128 tokens the way
 * `compile --quant int8 --calib-method percentile --percentile 99.9` lowers it (embedding tables int8 per row):
 * the module stays under 16 MB, encode() runs in Node, int8 hidden states keep cosine >= 0.999 with the float
 * reference on held-out random inputs, and headless Chromium computes the same bits as Node.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { runReference } from '../compiler/ir/reference.js';
import { importMatformerCheckpoint, matformerParameterCount, packForLowering, packingOf, readPackedSamples } from '../compiler/passes/matformer.js';
import { lowerInt8 } from '../compiler/plan/lower.js';
import type { Program } from '../compiler/plan/program.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import type { Graph } from '../compiler/ir/graph.js';
import { load, type TinyforgeModel } from '../runtime/index.js';
import { randomTokens, TINYBERT_SHAPE, writeMatformerBert, writeTokens } from '../bench/tinybert.js';

const T = 128, D = TINYBERT_SHAPE.hidden;
const root = join(import.meta.dirname, '..');
const runtimeDir = join(root, 'dist', 'runtime');

let graph: Graph, program: Program, bytes: Uint8Array, model: TinyforgeModel, tests: Float32Array[], linkMs: number;

beforeAll(async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tf-tinybert-'));
  const dir = writeMatformerBert(join(tmp, 'tinybert'));
  graph = importMatformerCheckpoint(dir, { sequenceLength: T });
  const packed = packForLowering(graph, { int8: true });
  const calib = readPackedSamples(writeTokens(join(tmp, 'calib.safetensors'), randomTokens(4, T, TINYBERT_SHAPE.vocab, 5)), graph);
  program = lowerInt8(packed, calibrate(packed, calib, { method: 'percentile', percentile: 99.9 }));
  const t0 = performance.now();
  bytes = await emitWasm(program, { packing: packingOf(packed) });
  linkMs = performance.now() - t0;
  model = await load(bytes);
  tests = readPackedSamples(writeTokens(join(tmp, 'test.safetensors'), randomTokens(3, T, TINYBERT_SHAPE.vocab, 99)), graph);
}, 300_000);

const realTokens = (x: Float32Array) => x.subarray(2 * T).reduce((a, b) => a + b, 0);
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>, n = a.length) => {
  let d = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) { d += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return d / Math.sqrt(aa * bb);
};
const encodeFeed = (x: Float32Array) => {
  const n = realTokens(x);
  return { ids: Array.from(x.subarray(0, n)), mask: Array.from(x.subarray(2 * T, 2 * T + n)), types: Array.from(x.subarray(T, T + n)) };
};

describe('TinyBERT-scale MatFormer encoder in WASM int8', () => {
  it('is ~14M parameters, quantizes the embedding tables and links into a module <= 16 MB', () => {
    expect(matformerParameterCount(graph)).toBeGreaterThan(14e6);
    expect(program.steps.some((s) => s.op === 'embedding_q8')).toBe(true);
    expect(program.steps.some((s) => s.op === 'embedding_f32')).toBe(false);
    console.log(`TinyBERT-scale int8 WASM: ${bytes.byteLength} B module, ${matformerParameterCount(graph)} parameters, arena ${program.arenaBytes} B, linked in ${linkMs.toFixed(0)} ms`);
    expect(bytes.byteLength).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('encode() hidden states: cosine >= 0.999 with the float reference on held-out inputs', () => {
    const floatGraph = packForLowering(graph);
    for (const x of tests) {
      const { ids, mask, types } = encodeFeed(x);
      const t0 = performance.now();
      const e = model.encode(ids, mask, { tokenTypeIds: types });
      const ms = performance.now() - t0;
      expect(e.tokens).toBe(ids.length);
      const ref = runReference(floatGraph, x);
      const cHidden = cosine(e.lastHiddenState, ref, ids.length * D), cPooled = cosine(e.pooled!, ref.subarray(T * D));
      console.log(`TinyBERT-scale int8 vs float: ${ids.length} tokens, cosine hidden ${cHidden.toFixed(6)}, pooled ${cPooled.toFixed(6)} (encode ${ms.toFixed(1)} ms, first calls)`);
      expect(cHidden).toBeGreaterThanOrEqual(0.999);
      expect(cPooled).toBeGreaterThanOrEqual(0.999);
    }
  });

  it('headless Chromium gives the same bits as Node', async () => {
    if (!existsSync(join(runtimeDir, 'index.js'))) {
      try { execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' }); } catch { /* emitted anyway */ }
    }
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (type: string, body: Uint8Array | string) => { res.writeHead(200, { 'content-type': type }); res.end(body); };
      if (url === '/') return send('text/html', '<!doctype html><meta charset="utf-8"><title>tinyforge</title>');
      if (url === '/models/tinybert.wasm') return send('application/wasm', bytes);
      if (url.startsWith('/runtime/')) {
        const file = normalize(join(runtimeDir, url.slice('/runtime/'.length)));
        if (file.startsWith(runtimeDir) && existsSync(file) && file.endsWith('.js')) return send('text/javascript', readFileSync(file));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const feeds = tests.map(encodeFeed);
      // the runtime module as Node imports it from dist (the same file the page loads)
      const rt = await import(pathToFileURL(join(runtimeDir, 'index.js')).href) as typeof import('../runtime/index.js');
      const m = await rt.load(bytes.slice().buffer);
      const inNode = feeds.map((f) => {
        const e = m.encode(f.ids, f.mask, { tokenTypeIds: f.types });
        return { hidden: Array.from(new Uint32Array(e.lastHiddenState.slice().buffer)), pooled: Array.from(new Uint32Array(e.pooled!.slice().buffer)) };
      });
      const page = await browser.newPage();
      await page.goto(base + '/');
      const script = `async (feeds) => {
        const rt = await import('/runtime/index.js');
        const m = await rt.load(await (await fetch('/models/tinybert.wasm')).arrayBuffer());
        return feeds.map((f) => {
          const e = m.encode(f.ids, f.mask, { tokenTypeIds: f.types });
          return { hidden: Array.from(new Uint32Array(e.lastHiddenState.slice().buffer)), pooled: Array.from(new Uint32Array(e.pooled.slice().buffer)) };
        });
      }`;
      const inBrowser = await page.evaluate(`(${script})(${JSON.stringify(feeds)})`) as typeof inNode;
      expect(inBrowser.length).toBe(inNode.length);
      inBrowser.forEach((b, i) => {
        expect(b.hidden.length).toBe(inNode[i].hidden.length);
        expect(b.hidden).toEqual(inNode[i].hidden);
        expect(b.pooled).toEqual(inNode[i].pooled);
      });
      // and Node's dist runtime equals the source runtime the other tests use
      const e0 = model.encode(feeds[0].ids, feeds[0].mask, { tokenTypeIds: feeds[0].types });
      expect(Array.from(new Uint32Array(e0.lastHiddenState.slice().buffer))).toEqual(inNode[0].hidden);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
