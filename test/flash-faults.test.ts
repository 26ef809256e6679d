/**
 * Faulted flash sessions on the emulated board (a seeded CI subset; scripts/flash-faults.mjs runs 200):
 * bytes dropped, flipped, duplicated, delayed and the line cut mid-transfer by a proxy on a socat pty
 * pair. The board must always keep a working loader and a committed model whose CRC matches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.js';
import { startEmulatedBoard, type EmulatedBoard } from '../compiler/device/emulator.js';
import { runFaultCampaign } from '../compiler/device/fault-campaign.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

const SESSIONS = Number(process.env.TF_FAULT_SESSIONS ?? 8);
const root = mkdtempSync(join(tmpdir(), 'tf-faults-'));
let board: EmulatedBoard;
let models: [string, string];

beforeAll(async () => {
  const model = writeMlp(join(root, 'fwd'), PROOF_MODELS.forward26);
  const calib = writeCalib(join(root, 'c.safetensors'), 8, 26);
  models = [join(root, 'int8'), join(root, 'f32')];
  await compileModel(model, { target: 'cortex-m4f', quant: 'int8', out: models[0], calib });
  await compileModel(model, { target: 'cortex-m4f', quant: 'float32', out: models[1], calib });
  board = await startEmulatedBoard();
});

afterAll(async () => {
  await board?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('flashing over a faulty line', () => {
  it(`${SESSIONS} seeded faulted sessions never leave the board without a loader or with a model whose CRC does not match`, async () => {
    const r = await runFaultCampaign({ boardPty: board.pty, models, sessions: SESSIONS, seed: 20_000 });
    console.log(`faulted flash sessions: ${JSON.stringify({ ...r, ms: Math.round(r.ms) })}`);
    expect(r.violations).toEqual([]);
    expect(r.sessions).toBe(SESSIONS);
    expect(r.succeeded + r.reported).toBe(SESSIONS); // every session ends in success or a reported error
    expect(r.silent).toBe(0);
    expect(r.loaderAnswered).toBe(SESSIONS);
    expect(r.activeCrcMatched).toBe(SESSIONS);
    expect(r.activeIsOldOrNew).toBe(SESSIONS);
    expect(r.activeComputesVectors).toBe(SESSIONS);
    expect(r.faulted).toBeGreaterThan(SESSIONS / 2);
    expect(r.finalCleanFlash).toBe(true);
  });
});
