/**
 * The runtime in headless Chromium gives bit-identical results to the same runtime in Node: serves dist/runtime/
 * and compiled models from a local HTTP server and imports the runtime as an ES module in the page.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { randomFloatProgram, randomInputs, randomInt8Program } from './helpers/random-program.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildProgram } from '../compiler/compile.js';
import { executeProgram } from '../compiler/exec/program.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { readSamples } from '../compiler/io/samples.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';
import type { Program } from '../compiler/plan/program.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runtimeDir = join(root, 'dist', 'runtime');

interface Case { file: string; features: number; samples: number[]; int8: boolean }
interface Result { output: number[]; outputQ?: number[] }

let server: Server;
let browser: Browser;
let base: string;
const models = new Map<string, Uint8Array>();
const proof: Array<{ file: string; program: Program; inputs: Float32Array[] }> = [];

beforeAll(async () => {
  if (!existsSync(join(runtimeDir, 'index.js'))) {
    // `npm test` builds first; a bare `vitest run` compiles here (type errors elsewhere in the tree still emit).
    try { execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' }); } catch { /* emitted anyway */ }
    if (!existsSync(join(runtimeDir, 'index.js'))) throw new Error('dist/runtime/index.js is missing; run npm run build');
  }
  models.set('/models/int8.wasm', await emitWasm(randomInt8Program(26, 64, 3, 5)));
  models.set('/models/f32.wasm', await emitWasm(randomFloatProgram(300, 200, 17, 6)));
  // the three dense proof models, compiled from checkpoint folders
  const tmp = mkdtempSync(join(tmpdir(), 'tf-browser-'));
  for (const [name, spec] of Object.entries(PROOF_MODELS)) {
    const g = importCheckpoint(writeMlp(join(tmp, name), spec));
    const samples = readSamples(writeCalib(join(tmp, `${name}.calib.safetensors`), 64, spec.inputSize), 'input', [spec.inputSize]);
    for (const quant of ['int8', 'float32'] as const) {
      const { program } = buildProgram(g, quant, samples);
      proof.push({ file: `/models/${name}-${quant}.wasm`, program, inputs: samples.slice(0, 5) });
      models.set(`/models/${name}-${quant}.wasm`, await emitWasm(program));
    }
  }
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (type: string, body: Uint8Array | string) => { res.writeHead(200, { 'content-type': type }); res.end(body); };
    if (url === '/') return send('text/html', '<!doctype html><meta charset="utf-8"><title>tinyforge</title>');
    const model = models.get(url);
    if (model) return send('application/wasm', model);
    if (url.startsWith('/runtime/')) {
      const file = normalize(join(runtimeDir, url.slice('/runtime/'.length)));
      if (file.startsWith(runtimeDir) && existsSync(file) && file.endsWith('.js')) return send('text/javascript', readFileSync(file));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

// Kept as source text: vitest would rewrite a dynamic import() inside a function passed to page.evaluate.
const PAGE_SCRIPT = `async (c) => {
  const rt = await import('/runtime/index.js');
  const bytes = await (await fetch(c.file)).arrayBuffer();
  const m = await rt.load(bytes);
  const out = m.run({ input: new Float32Array(c.samples) }, { raw: c.int8 }).output;
  return { output: Array.from(new Uint32Array(out.buffer)), ...(c.int8 ? { outputQ: Array.from(m.lastOutputInt8()) } : {}) };
}`;

/** Runs a model in the given runtime module; floats come back as their bit patterns so the comparison is exact. */
async function runWith(rt: typeof import('../runtime/index.js'), bytes: ArrayBuffer, c: Case): Promise<Result> {
  const m = await rt.load(bytes);
  const out = m.run({ input: new Float32Array(c.samples) }, { raw: c.int8 }).output;
  return { output: Array.from(new Uint32Array(out.buffer)), ...(c.int8 ? { outputQ: Array.from(m.lastOutputInt8()) } : {}) };
}

describe('runtime in Chromium', () => {
  for (const [file, features, int8] of [['/models/int8.wasm', 26, true], ['/models/f32.wasm', 300, false]] as const) {
    it(`${file} is bit-identical to Node`, async () => {
      const xs = randomInputs(5, features, 21, 3);
      const c: Case = { file, features, int8, samples: xs.flatMap((x) => Array.from(x)) };

      const nodeRt = await import(pathToFileURL(join(runtimeDir, 'index.js')).href) as typeof import('../runtime/index.js');
      const bytes = models.get(file)!;
      const inNode = await runWith(nodeRt, bytes.slice().buffer, c);

      const page = await browser.newPage();
      try {
        await page.goto(base + '/');
        const inBrowser = await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(c)})`) as Result;
        expect(inBrowser.output.length).toBe(inNode.output.length);
        expect(inBrowser).toEqual(inNode);
      } finally {
        await page.close();
      }
    });
  }
});

describe('proof models in Chromium', () => {
  for (const name of Object.keys(PROOF_MODELS)) {
    for (const quant of ['int8', 'float32'] as const) {
      it(`${name} ${quant}: Chromium equals Node bit for bit${quant === 'int8' ? ' and the int8 oracle' : ''}`, async () => {
        const { file, program, inputs } = proof.find((p) => p.file === `/models/${name}-${quant}.wasm`)!;
        const c: Case = { file, features: program.input.shape[0], int8: quant === 'int8', samples: inputs.flatMap((x) => Array.from(x)) };
        const nodeRt = await import(pathToFileURL(join(runtimeDir, 'index.js')).href) as typeof import('../runtime/index.js');
        const inNode = await runWith(nodeRt, models.get(file)!.slice().buffer, c);
        const page = await browser.newPage();
        try {
          await page.goto(base + '/');
          const inBrowser = await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(c)})`) as Result;
          expect(inBrowser).toEqual(inNode);
          if (quant === 'int8') expect(inBrowser.outputQ).toEqual(inputs.flatMap((x) => Array.from(executeProgram(program, x).outputQ!)));
        } finally {
          await page.close();
        }
      });
    }
  }
});
