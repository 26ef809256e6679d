/**
 * Flash benchmark on the emulated board (QEMU mps2-an386 + the resident loader over its pty):
 * effective flash + verify throughput for a ~100 KB and a ~800 KB int8 model image, and the protocol's
 * efficiency (payload bytes / bytes on the wire, both directions, framing, ACKs and hellos included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModel } from '../compiler/compile.js';
import { startEmulatedBoard } from '../compiler/device/emulator.js';
import { flashModel } from '../compiler/device/flash.js';
import { writeCalib, writeMlp, type MlpSpec } from './models.js';

export interface FlashBenchRow {
  model: string;
  imageBytes: number;
  flashMs: number;
  verifyMs: number;
  /** image bytes / (flash + verify) seconds */
  bytesPerSec: number;
  /** payload bytes / bytes on the wire */
  efficiency: number;
  wireBytes: number;
  payloadBytes: number;
  retransmits: number;
  verified: boolean;
}

export const FLASH_BENCH_MODELS: Record<string, MlpSpec> = {
  // ~100K int8 weights -> ~100 KB image
  flash100k: { inputSize: 256, layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: 8, activation: 'linear' }] },
  // ~790K int8 weights -> ~800 KB image
  flash800k: { inputSize: 512, layers: [{ units: 1024, activation: 'relu' }, { units: 256, activation: 'relu' }, { units: 8, activation: 'linear' }] },
};

export async function runFlashBench(log: (s: string) => void = console.error): Promise<FlashBenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'tf-flash-bench-'));
  const board = await startEmulatedBoard();
  const rows: FlashBenchRow[] = [];
  try {
    for (const [name, spec] of Object.entries(FLASH_BENCH_MODELS)) {
      log(`flash bench: ${name}`);
      const out = join(root, name);
      await compileModel(writeMlp(join(root, `${name}-ckpt`), spec), {
        target: 'cortex-m4f', quant: 'int8', out, calib: writeCalib(join(root, `${name}.calib.safetensors`), 8, spec.inputSize),
      });
      await flashModel(board.pty, out); // builds the images and gets QEMU past its first-client poll
      const r = await flashModel(board.pty, out, { verify: true });
      rows.push({
        model: name, imageBytes: r.imageBytes, flashMs: Math.round(r.flashMs), verifyMs: Math.round(r.verifyMs ?? 0), bytesPerSec: Math.round(r.bytesPerSec),
        efficiency: Number(r.efficiency.toFixed(4)), wireBytes: r.wire.bytesIn + r.wire.bytesOut, payloadBytes: r.wire.payload, retransmits: r.wire.retransmits,
        verified: !!r.verify?.ok,
      });
    }
  } finally {
    await board.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

export function formatFlashBench(rows: FlashBenchRow[]): string {
  const head = '| model | image bytes | flash ms | verify ms | flash + verify B/s | efficiency (payload / wire) | retransmits | verified |';
  const sep = '|---|---|---|---|---|---|---|---|';
  return [head, sep, ...rows.map((r) => `| ${r.model} | ${r.imageBytes} | ${r.flashMs} | ${r.verifyMs} | ${r.bytesPerSec} | ${r.efficiency.toFixed(3)} | ${r.retransmits} | ${r.verified ? 'yes' : 'NO'} |`)].join('\n');
}
