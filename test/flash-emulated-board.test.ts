/**
 * End to end on the emulated board: QEMU mps2-an386 running the resident loader, its UART a pty opened
 * with the real `serialport` package; `tinyforge board start/stop`, `flash --verify`, `verify`, slot
 * switching, reset, and several boards at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.js';
import { startEmulatedBoard, type EmulatedBoard } from '../compiler/device/emulator.js';
import { connect, flashModel } from '../compiler/device/flash.js';
import { tinyforge } from './helpers/cli.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

const root = mkdtempSync(join(tmpdir(), 'tf-flash-e2e-'));
const env = { TINYFORGE_STATE_DIR: join(root, 'state') };
let int8Dir: string, f32Dir: string;
const boards: EmulatedBoard[] = [];

beforeAll(async () => {
  const model = writeMlp(join(root, 'mixed'), PROOF_MODELS.mixed);
  const calib = writeCalib(join(root, 'calib.safetensors'), 16, PROOF_MODELS.mixed.inputSize);
  int8Dir = join(root, 'int8');
  f32Dir = join(root, 'f32');
  await compileModel(model, { target: 'cortex-m4f', quant: 'int8', out: int8Dir, calib });
  await compileModel(model, { target: 'cortex-m4f', quant: 'float32', out: f32Dir, calib });
  boards.push(await startEmulatedBoard(), await startEmulatedBoard());
});

afterAll(async () => {
  for (const b of boards) await b.stop();
  tinyforge(['board', 'stop'], { env });
  rmSync(root, { recursive: true, force: true });
});

describe('flash and verify on the emulated Cortex-M4F board', () => {
  it('flash --verify writes the int8 model and its check vectors match bit for bit on the board', () => {
    const r = tinyforge(['flash', int8Dir, '--port', boards[0].pty, '--board', 'mps2-an386', '--verify', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    const f = j.results[0];
    expect(f.board).toBe('mps2-an386');
    expect(f.verify.crcOk).toBe(true);
    expect(f.verify.int8BitExact).toBe(f.verify.int8Compared);
    expect(f.verify.floatBitExact).toBe(f.verify.floatCompared);
    expect(f.verify.int8Compared).toBeGreaterThan(0);
    expect(f.verify.instructions.every((n: number) => n > 0)).toBe(true);
  });

  it('a new model goes to the other slot and becomes active only after commit; verify runs on what is there', async () => {
    const c = await connect(boards[0].pty);
    const before = c.info.active!;
    await c.close();
    const f = await flashModel(boards[0].pty, f32Dir, { verify: true });
    expect(f.slot).toBe(before.slot ^ 1);
    expect(f.commitSeq).toBe(before.commitSeq + 1);
    expect(f.verify!.ok).toBe(true);
    const v = tinyforge(['verify', '--port', boards[0].pty, '--vectors', join(f32Dir, 'check.safetensors'), '--json']);
    expect(v.code).toBe(0);
    const j = JSON.parse(v.stdout).results[0];
    expect(j.crcOk).toBe(true);
    expect(j.floatCompared).toBeGreaterThan(0);
  });

  it('the committed model survives a board reset', async () => {
    const c = await connect(boards[0].pty);
    const before = c.info.active!;
    const after = (await c.session.reset()).active!;
    await c.close();
    expect(after).toEqual(before);
  });

  it('flash --port a --port b flashes two boards at once', () => {
    const r = tinyforge(['flash', int8Dir, '--port', boards[0].pty, '--port', boards[1].pty, '--verify', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.results.map((x: { port: string }) => x.port).sort()).toEqual([boards[0].pty, boards[1].pty].sort());
    expect(j.results.every((x: { verify: { ok: boolean } }) => x.verify.ok)).toBe(true);
    expect(j.results[0].efficiency).toBeGreaterThan(0.5);
  });

  it('board start prints the pty, flash/verify without --port use it, board stop ends it', () => {
    const s = tinyforge(['board', 'start', '--json'], { env });
    expect(s.code).toBe(0);
    const started = JSON.parse(s.stdout);
    expect(started.port).toMatch(/^\/dev\/pts\/\d+$/);
    const again = JSON.parse(tinyforge(['board', 'start', '--json'], { env }).stdout);
    expect(again).toMatchObject({ port: started.port, started: false });
    const f = tinyforge(['flash', int8Dir, '--json'], { env });
    expect(f.code).toBe(0);
    expect(JSON.parse(f.stdout).results[0].port).toBe(started.port);
    const v = tinyforge(['verify', '--vectors', join(int8Dir, 'check.safetensors'), '--compiled', int8Dir], { env });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/int8 \d+\/\d+ bit-exact.*OK/);
    const stop = tinyforge(['board', 'stop', '--json'], { env });
    expect(JSON.parse(stop.stdout).stopped).toBe(true);
    expect(JSON.parse(tinyforge(['board', 'status', '--json'], { env }).stdout).running).toBe(false);
  });
});
