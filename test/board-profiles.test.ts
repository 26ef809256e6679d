/**
 * The real-board profiles (Nucleo-F411RE, Teensy 3.6) cannot run here: their loader and a model image
 * for their layout are compile-tested (arm-none-eabi-gcc) and checked for placement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/compile.js';
import { listBoards, loadBoard } from '../compiler/device/boards.js';
import { buildLoader } from '../compiler/device/firmware.js';
import { imageForBoard } from '../compiler/device/flash.js';
import { PROOF_MODELS, writeCalib, writeMlp } from './helpers/make-mlp.js';

const root = mkdtempSync(join(tmpdir(), 'tf-boards-'));
let dir: string;
beforeAll(async () => {
  const model = writeMlp(join(root, 'fwd'), PROOF_MODELS.forward26);
  dir = join(root, 'int8');
  await compileModel(model, { target: 'cortex-m4f', quant: 'int8', out: dir, calib: writeCalib(join(root, 'c.safetensors'), 8, 26) });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const symbols = (elf: string) => new Map(execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8' }).split('\n')
  .map((l) => l.split(' ')).filter((p) => p.length === 3).map(([a, , n]) => [n, parseInt(a, 16)] as [string, number]));

describe('board profiles', () => {
  it('lists the emulated board and the real ones', () => {
    expect(listBoards()).toEqual(expect.arrayContaining(['mps2-an386', 'nucleo-f411re', 'teensy36']));
  });

  for (const [board, flashBase, loaderMax, ramLo, ramHi] of [
    ['mps2-an386', 0x0, 0x10000, 0x20000000, 0x20040000],
    ['nucleo-f411re', 0x08000000, 0x8000, 0x20000000, 0x20006000],
    ['teensy36', 0x0, 0x10000, 0x1fff0000, 0x20000000],
  ] as const) {
    it(`${board}: the loader compiles, fits its region and boots from the vector table`, async () => {
      const fw = await buildLoader(loadBoard(board));
      expect(fw.bytes).toBeLessThanOrEqual(loaderMax);
      const bin = readFileSync(fw.bin);
      const sp = bin.readUInt32LE(0), reset = bin.readUInt32LE(4);
      expect(sp).toBeGreaterThan(ramLo);
      expect(sp).toBeLessThanOrEqual(ramHi);
      expect(reset & 1).toBe(1);
      expect(reset - 1).toBeGreaterThanOrEqual(flashBase);
      expect(reset - 1).toBeLessThan(flashBase + loaderMax);
      const sym = symbols(fw.elf);
      for (const s of ['port_flash_erase', 'port_flash_write', 'port_getc', 'port_putc', 'main']) expect(sym.has(s)).toBe(true);
      if (board === 'teensy36') {
        expect(sym.get('ldr_flashconfig')).toBe(0x400);
        expect(bin[0x40c]).toBe(0xde); // FSEC: unsecured
      }
    });

    it(`${board}: a model image links at either slot with its RAM in the model region`, async () => {
      const l = loadBoard(board).layout!;
      for (const slot of [0, 1]) {
        const img = await imageForBoard(dir, board, slot);
        const dv = new DataView(img.bytes.buffer, img.bytes.byteOffset);
        expect(dv.getUint32(0, true)).toBe(0x474d4654); // TFMG
        expect(dv.getUint32(8, true)).toBe(l.slots[slot].addr);
        expect(dv.getUint32(12, true) - l.slots[slot].addr).toBeLessThanOrEqual(img.bytes.length);
        const run = dv.getUint32(16, true);
        expect(run & 1).toBe(1);
        expect(run - 1).toBeGreaterThan(l.slots[slot].addr);
        expect(dv.getUint32(28, true)).toBeGreaterThanOrEqual(l.modelRam.addr); // .data in model RAM
        expect(img.bytes.length).toBeLessThan(l.slots[slot].size);
      }
    });
  }
});
