/**
 * `tinyforge flash --protocol stm32-rom` (AN3155) against a simulated STM32F411 ROM bootloader on a
 * socat pty pair, through the real serialport package.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { socatPair, type PtyPair } from '../compiler/device/fault-proxy.js';
import { buildLoader } from '../compiler/device/firmware.js';
import { loadBoard } from '../compiler/device/boards.js';
import { Stm32Rom, ACK, NACK } from '../compiler/device/stm32-rom.js';
import { Stm32RomSimulator } from '../compiler/device/stm32-rom-sim.js';
import { openSerial } from '../compiler/device/transport.js';

const root = mkdtempSync(join(tmpdir(), 'tf-stm32-'));
const pairs: PtyPair[] = [];
afterAll(async () => {
  for (const p of pairs) await p.stop();
  rmSync(root, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => execFile(process.execPath, [join(import.meta.dirname, '..', 'bin', 'tinyforge.js'), ...args], { encoding: 'utf8' },
    (e, stdout, stderr) => res({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr })));
}

async function simulated() {
  const p = await socatPair();
  pairs.push(p);
  const t = await openSerial(p.b);
  return { port: p.a, sim: new Stm32RomSimulator(t), close: () => t.close() };
}

describe('STM32 ROM bootloader (AN3155)', () => {
  it('flash --protocol stm32-rom writes a firmware image, reads it back and jumps to it', async () => {
    const { port, sim, close } = await simulated();
    const fw = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 131 + 7) & 0xff);
    const file = join(root, 'fw.bin');
    writeFileSync(file, fw);
    const r = await cli(['flash', file, '--protocol', 'stm32-rom', '--port', port, '--go', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout).results[0];
    expect(res).toMatchObject({ chip: 'STM32F411xC/E', productId: 0x431, bootloaderVersion: '3.1', address: 0x08000000, bytes: 70_004, sectors: [0, 1, 2, 3, 4], go: true });
    expect(Array.from(sim.flash.subarray(0, fw.length))).toEqual(Array.from(fw));
    expect(sim.flash[fw.length]).toBe(0xff);
    expect(sim.erasedSectors.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(sim.goAddress).toBe(0x08000000);
    await close();
  });

  it('puts the tinyforge loader built for nucleo-f411re on the chip', async () => {
    const { port, sim, close } = await simulated();
    const r = await cli(['flash', 'loader', '--protocol', 'stm32-rom', '--board', 'nucleo-f411re', '--port', port, '--json']);
    expect(r.code).toBe(0);
    const bin = readFileSync((await buildLoader(loadBoard('nucleo-f411re'))).bin);
    expect(Buffer.from(sim.flash.subarray(0, bin.length)).equals(bin)).toBe(true);
    const dv = new DataView(sim.flash.buffer);
    expect(dv.getUint32(0, true) >>> 0).toBeGreaterThan(0x20000000); // initial SP in RAM
    expect(dv.getUint32(4, true) & 1).toBe(1); // Thumb reset handler
    await close();
  });

  it('the simulator NACKs a bad complement and a bad checksum; the client reports the NACK', async () => {
    const { port, sim, close } = await simulated();
    const t = await openSerial(port);
    const got: number[] = [];
    t.onData((c) => got.push(...c));
    await t.write(Uint8Array.from([0x7f]));
    await t.write(Uint8Array.from([0x31, 0x31])); // WRITE MEMORY with a wrong complement
    await t.write(Uint8Array.from([0x31, 0xce, 0x08, 0, 0, 0, 0x07])); // address with a wrong checksum
    const end = Date.now() + 2000;
    while (got.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([ACK, NACK, ACK, NACK]);
    expect(sim.nacks).toBe(2);
    const rom = new Stm32Rom(t);
    await expect(rom.go(0x10000000)).rejects.toThrow(/refused GO 0x10000000 \(NACK\)/);
    await t.close();
    await close();
  });

  it('nothing answering the sync is a one-line error', async () => {
    const p = await socatPair();
    pairs.push(p);
    writeFileSync(join(root, 'x.bin'), new Uint8Array(16));
    const r = await cli(['flash', join(root, 'x.bin'), '--protocol', 'stm32-rom', '--port', p.a]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^tinyforge: .*no STM32 bootloader answered the 0x7F sync; set BOOT0 high/);
  });
});
