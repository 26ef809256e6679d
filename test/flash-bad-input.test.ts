/** flash/verify refuse bad input with one-line errors (exit 2) before writing anything. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.js';
import { flashModel } from '../compiler/device/flash.js';
import { socatPair, type PtyPair } from '../compiler/device/fault-proxy.js';
import { TinyforgeError } from '../compiler/errors.js';
import { execFile } from 'node:child_process';
import { tinyforge } from './helpers/cli.js';

/** The CLI without blocking this process (the fake loader below answers from here). */
function tinyforgeAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => execFile(process.execPath, [join(import.meta.dirname, '..', 'bin', 'tinyforge.js'), ...args], { encoding: 'utf8' },
    (e, _out, stderr) => res({ code: e ? (e as { code?: number }).code ?? 1 : 0, stderr })));
}
import { fakeLoader } from './helpers/fake-loader.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

const root = mkdtempSync(join(tmpdir(), 'tf-flash-bad-'));
const env = { TINYFORGE_STATE_DIR: join(root, 'state') };
let m4f: string, wasm: string;
const pairs: PtyPair[] = [];

beforeAll(async () => {
  const model = writeMlp(join(root, 'fwd'), PROOF_MODELS.forward26);
  const calib = writeCalib(join(root, 'calib.safetensors'), 8, 26);
  m4f = join(root, 'm4f');
  wasm = join(root, 'wasm');
  await compileModel(model, { target: 'cortex-m4f', quant: 'int8', out: m4f, calib });
  await compileModel(model, { target: 'wasm', quant: 'int8', out: wasm, calib });
});

afterAll(async () => {
  for (const p of pairs) await p.stop();
  rmSync(root, { recursive: true, force: true });
});

function oneLineError(r: { code: number | null; stderr: string }, re: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyforge: /);
  expect(lines[0]).toMatch(re);
}

describe('flash and verify refuse bad input', () => {
  it('no such port', () => {
    oneLineError(tinyforge(['flash', m4f, '--port', '/dev/ttyTF-none']), /\/dev\/ttyTF-none: no such serial port/);
    oneLineError(tinyforge(['verify', '--port', '/dev/ttyTF-none', '--vectors', join(m4f, 'check.safetensors')]), /no such serial port/);
  });

  it('no port and no emulated board running', () => {
    oneLineError(tinyforge(['flash', m4f], { env }), /no --port given and no emulated mps2-an386 board is running; start one with 'tinyforge board start'/);
  });

  it('nothing answering on the port', async () => {
    const p = await socatPair();
    pairs.push(p);
    const t0 = Date.now();
    oneLineError(tinyforge(['flash', m4f, '--port', p.a]), /nothing answered the tinyforge loader within 6 s/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('a board of another kind', async () => {
    const p = await socatPair();
    pairs.push(p);
    const fake = await fakeLoader(p.b, { boardId: 'nucleo-f411re', slotSize: 0x30000 });
    oneLineError(await tinyforgeAsync(['flash', m4f, '--port', p.a, '--board', 'mps2-an386']), /the board there is a nucleo-f411re, not a mps2-an386/);
    expect(fake.requests.every((t) => t === 0x01)).toBe(true);
    await fake.close();
  });

  it('a model too big for the slot is refused with both sizes before any byte is written', async () => {
    const p = await socatPair();
    pairs.push(p);
    const fake = await fakeLoader(p.b, { boardId: 'mps2-an386', slotSize: 4096 });
    const e = await flashModel(p.a, m4f).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TinyforgeError);
    expect((e as Error).message).toMatch(/the model image is \d+ bytes but board mps2-an386's model slot holds 4096 bytes; nothing was written/);
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.every((t) => t === 0x01)).toBe(true); // only HELLO: no erase, write or commit
    await fake.close();
  });

  it('a compiled folder for another target', () => {
    oneLineError(tinyforge(['flash', wasm, '--port', '/dev/null']), /compiled for target 'wasm', but board mps2-an386 runs 'cortex-m4f'; recompile with .*--target cortex-m4f/);
  });

  it('not a compiled folder, and a missing vectors file', () => {
    oneLineError(tinyforge(['flash', root, '--port', '/dev/null']), /not a compiled model folder/);
    writeFileSync(join(root, 'state-none'), '');
    oneLineError(tinyforge(['verify', '--port', '/dev/null', '--vectors', join(root, 'nope.safetensors')]), /nope.safetensors: no such vectors file/);
  });
});
