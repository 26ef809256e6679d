#!/usr/bin/env node
// Full faulted-flash campaign on the emulated board (CI runs a subset in test/flash-faults.test.ts).
// usage: npm run build && node scripts/flash-faults.mjs [sessions=200] [seed=20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModel } from '../dist/compiler/compile.js';
import { startEmulatedBoard } from '../dist/compiler/device/emulator.js';
import { runFaultCampaign } from '../dist/compiler/device/fault-campaign.js';
import { PROOF_MODELS, writeCalib, writeMlp } from '../dist/bench/models.js';

const sessions = Number(process.argv[2] ?? 200), seed = Number(process.argv[3] ?? 20000);
const root = mkdtempSync(join(tmpdir(), 'tf-faults-'));
const model = writeMlp(join(root, 'fwd'), PROOF_MODELS.forward26);
const calib = writeCalib(join(root, 'c.safetensors'), 8, 26);
const models = [join(root, 'int8'), join(root, 'f32')];
await compileModel(model, { target: 'cortex-m4f', quant: 'int8', out: models[0], calib });
await compileModel(model, { target: 'cortex-m4f', quant: 'float32', out: models[1], calib });
const board = await startEmulatedBoard();
let ok = false;
try {
  const r = await runFaultCampaign({ boardPty: board.pty, models, sessions, seed, log: (s) => console.error(s.slice(0, 160)) });
  console.log(JSON.stringify({ ...r, ms: Math.round(r.ms) }, null, 2));
  ok = r.violations.length === 0 && r.silent === 0 && r.finalCleanFlash;
} finally {
  await board.stop();
  rmSync(root, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
