/**
 * Host side of ST's USART bootloader protocol (application note AN3155), which every STM32 has in
 * system memory (BOOT0 high at reset). Serial 8E1; 0x7F to sync (autobaud); every command is its code
 * + complement, answered ACK 0x79 / NACK 0x1F; addresses are 4 bytes MSB first + XOR checksum.
 * Used to put a whole firmware image (e.g. the tinyforge resident loader) on a bare STM32.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fail, TinyforgeError } from '../errors.js';
import { loadBoard } from './boards.js';
import { buildLoader } from './firmware.js';
import { openSerial, type Transport } from './transport.js';

export const ACK = 0x79;
export const NACK = 0x1f;
export const SYNC = 0x7f;
export const ROM_CMD = { get: 0x00, getVersion: 0x01, getId: 0x02, readMemory: 0x11, go: 0x21, writeMemory: 0x31, erase: 0x43, extendedErase: 0x44 } as const;

/** Product ids (GET ID) of some Cortex-M4F STM32s. */
export const STM32_CHIPS: Record<number, string> = {
  0x413: 'STM32F405/407/415/417', 0x419: 'STM32F42x/43x', 0x421: 'STM32F446', 0x423: 'STM32F401xB/C', 0x431: 'STM32F411xC/E',
  0x433: 'STM32F401xD/E', 0x441: 'STM32F412', 0x458: 'STM32F410', 0x463: 'STM32F413/423',
};

/** STM32F4 flash sectors (bank 1 layout): 4 x 16K, 1 x 64K, then 128K each. */
export function stm32f4Sectors(flashBytes: number, base = 0x08000000): Array<{ index: number; addr: number; size: number }> {
  const out: Array<{ index: number; addr: number; size: number }> = [];
  let addr = base;
  for (let i = 0; addr < base + flashBytes; i++) {
    const size = i < 4 ? 16384 : i === 4 ? 65536 : 131072;
    out.push({ index: i, addr, size });
    addr += size;
  }
  return out;
}

export function xorChecksum(bytes: ArrayLike<number>, init = 0): number {
  let x = init;
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i];
  return x & 0xff;
}

/** Address bytes + checksum, as AN3155 sends them. */
export function addressFrame(addr: number): Uint8Array {
  const b = new Uint8Array([(addr >>> 24) & 0xff, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff, 0]);
  b[4] = xorChecksum(b.subarray(0, 4));
  return b;
}

export class Stm32RomError extends TinyforgeError {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Stm32Rom {
  private rx: number[] = [];
  private waiter?: () => void;
  /** bytes written / read on the line */
  bytesOut = 0;
  bytesIn = 0;

  constructor(readonly t: Transport, private readonly timeoutMs = 1000) {
    t.onData((c) => {
      this.bytesIn += c.length;
      for (const b of c) this.rx.push(b);
      this.waiter?.();
    });
    t.onClose(() => this.waiter?.());
  }

  private async send(bytes: ArrayLike<number>): Promise<void> {
    this.bytesOut += bytes.length;
    await this.t.write(Uint8Array.from(bytes));
  }

  private async read(n: number, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    const end = Date.now() + timeoutMs;
    while (this.rx.length < n) {
      if (this.t.closed) throw new Stm32RomError(`${this.t.path}: the line went away`);
      const left = end - Date.now();
      if (left <= 0) throw new Stm32RomError(`${this.t.path}: the STM32 bootloader did not answer (${this.rx.length}/${n} bytes in ${timeoutMs} ms)`);
      await new Promise<void>((r) => { const tm = setTimeout(r, left); this.waiter = () => { clearTimeout(tm); r(); }; });
      this.waiter = undefined;
    }
    return Uint8Array.from(this.rx.splice(0, n));
  }

  private async ack(what: string, timeoutMs = this.timeoutMs): Promise<void> {
    const [b] = await this.read(1, timeoutMs);
    if (b === ACK) return;
    if (b === NACK) throw new Stm32RomError(`${this.t.path}: the STM32 bootloader refused ${what} (NACK)`);
    throw new Stm32RomError(`${this.t.path}: unexpected byte 0x${b.toString(16)} instead of ACK after ${what}`);
  }

  private async command(code: number, what: string): Promise<void> {
    await this.send([code, code ^ 0xff]);
    await this.ack(what);
  }

  /** 0x7F until the bootloader answers (ACK, or NACK when it was already synchronized). */
  async sync(attempts = 10): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      this.rx = [];
      await this.send([SYNC]);
      try {
        const [b] = await this.read(1, 300);
        if (b === ACK || b === NACK) return;
      } catch (e) {
        if (this.t.closed) throw e;
      }
      await sleep(20);
    }
    throw new Stm32RomError(`${this.t.path}: no STM32 bootloader answered the 0x7F sync; set BOOT0 high, reset the board, check TX/RX and 8E1`);
  }

  async get(): Promise<{ version: number; commands: number[] }> {
    await this.command(ROM_CMD.get, 'GET');
    const [n] = await this.read(1);
    const body = await this.read(n + 1);
    await this.ack('GET');
    return { version: body[0], commands: Array.from(body.subarray(1)) };
  }

  async getId(): Promise<number> {
    await this.command(ROM_CMD.getId, 'GET ID');
    const [n] = await this.read(1);
    const id = await this.read(n + 1);
    await this.ack('GET ID');
    return id.reduce((a, b) => (a << 8) | b, 0);
  }

  async readMemory(addr: number, len: number): Promise<Uint8Array> {
    if (len < 1 || len > 256) throw new RangeError('readMemory: 1..256 bytes');
    await this.command(ROM_CMD.readMemory, 'READ MEMORY');
    await this.send(addressFrame(addr));
    await this.ack(`READ MEMORY address 0x${addr.toString(16)}`);
    await this.send([len - 1, (len - 1) ^ 0xff]);
    await this.ack('READ MEMORY length');
    return this.read(len);
  }

  async writeMemory(addr: number, data: Uint8Array): Promise<void> {
    if (data.length < 1 || data.length > 256 || data.length % 4) throw new RangeError('writeMemory: 4..256 bytes, a multiple of 4');
    await this.command(ROM_CMD.writeMemory, 'WRITE MEMORY');
    await this.send(addressFrame(addr));
    await this.ack(`WRITE MEMORY address 0x${addr.toString(16)}`);
    const frame = new Uint8Array(data.length + 2);
    frame[0] = data.length - 1;
    frame.set(data, 1);
    frame[frame.length - 1] = xorChecksum(frame.subarray(0, frame.length - 1));
    await this.send(frame);
    await this.ack(`WRITE MEMORY at 0x${addr.toString(16)}`, 3000);
  }

  /** EXTENDED ERASE of the given pages/sectors ('mass' = whole flash). */
  async extendedErase(pages: number[] | 'mass'): Promise<void> {
    await this.command(ROM_CMD.extendedErase, 'EXTENDED ERASE');
    let frame: number[];
    if (pages === 'mass') frame = [0xff, 0xff, 0x00];
    else {
      frame = [((pages.length - 1) >> 8) & 0xff, (pages.length - 1) & 0xff];
      for (const p of pages) frame.push((p >> 8) & 0xff, p & 0xff);
      frame.push(xorChecksum(frame));
    }
    await this.send(frame);
    await this.ack('EXTENDED ERASE', 30_000); // a 128K sector takes 1-2 s on a real F4
  }

  /** Legacy ERASE (0x43), for bootloaders without EXTENDED ERASE. */
  async erase(pages: number[]): Promise<void> {
    await this.command(ROM_CMD.erase, 'ERASE');
    const frame = [pages.length - 1, ...pages];
    frame.push(xorChecksum(frame));
    await this.send(frame);
    await this.ack('ERASE', 30_000);
  }

  async go(addr: number): Promise<void> {
    await this.command(ROM_CMD.go, 'GO');
    await this.send(addressFrame(addr));
    await this.ack(`GO 0x${addr.toString(16)}`);
  }
}

export interface Stm32RomFlashOptions {
  board?: string;
  baudRate?: number;
  /** default 0x08000000 */
  address?: number;
  go?: boolean;
  /** flash size for the sector map (default: from GET ID, 512 KiB for F411, 1 MiB otherwise) */
  flashBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Stm32RomFlashReport {
  port: string;
  chip: string;
  productId: number;
  bootloaderVersion: string;
  address: number;
  bytes: number;
  sectors: number[];
  go: boolean;
  ms: number;
  bytesOnWire: number;
}

/** Flashes a whole firmware image (.bin, or 'loader' = the tinyforge loader built for --board) over AN3155. */
export async function flashStm32Rom(port: string, image: string, o: Stm32RomFlashOptions = {}): Promise<Stm32RomFlashReport> {
  let bytes: Uint8Array;
  if (image === 'loader') {
    if (!o.board) fail(`flash loader --protocol stm32-rom needs --board (e.g. --board nucleo-f411re)`);
    const b = loadBoard(o.board);
    bytes = new Uint8Array(readFileSync((await buildLoader(b)).bin));
  } else {
    if (!existsSync(image)) fail(`${image}: no such firmware image (a raw .bin, or 'loader')`);
    if (/\.(elf|hex)$/i.test(image)) fail(`${image}: give a raw binary (arm-none-eabi-objcopy -O binary ${image} fw.bin)`);
    bytes = new Uint8Array(readFileSync(image));
  }
  if (bytes.length === 0) fail(`${image}: empty image`);
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4).fill(0xff);
  padded.set(bytes);
  const address = o.address ?? 0x08000000;
  const t0 = performance.now();
  const t = await openSerial(port, { baudRate: o.baudRate ?? 115200, parity: 'even', dataBits: 8, stopBits: 1 });
  const rom = new Stm32Rom(t);
  try {
    await rom.sync();
    const g = await rom.get();
    const productId = await rom.getId();
    const flashBytes = o.flashBytes ?? (productId === 0x431 || productId === 0x433 ? 512 * 1024 : 1024 * 1024);
    const sectors = stm32f4Sectors(flashBytes).filter((s) => s.addr < address + padded.length && s.addr + s.size > address);
    if (address < 0x08000000 || address + padded.length > 0x08000000 + flashBytes) fail(`${image}: ${padded.length} bytes at 0x${address.toString(16)} do not fit the ${flashBytes / 1024} KiB flash of this ${STM32_CHIPS[productId] ?? `chip 0x${productId.toString(16)}`}; nothing was written`);
    if (g.commands.includes(ROM_CMD.extendedErase)) await rom.extendedErase(sectors.map((s) => s.index));
    else await rom.erase(sectors.map((s) => s.index));
    o.onProgress?.(0, padded.length);
    for (let off = 0; off < padded.length; off += 256) {
      await rom.writeMemory(address + off, padded.subarray(off, off + 256));
      o.onProgress?.(Math.min(padded.length, off + 256), padded.length);
    }
    for (let off = 0; off < padded.length; off += 256) {
      const want = padded.subarray(off, off + 256);
      const got = await rom.readMemory(address + off, want.length);
      if (!got.every((b, i) => b === want[i])) throw new Stm32RomError(`${port}: read back differs at 0x${(address + off).toString(16)}; the write did not take (write protection?)`);
    }
    if (o.go) await rom.go(address);
    return {
      port, chip: STM32_CHIPS[productId] ?? `0x${productId.toString(16)}`, productId, bootloaderVersion: `${g.version >> 4}.${g.version & 0xf}`,
      address, bytes: padded.length, sectors: sectors.map((s) => s.index), go: !!o.go, ms: performance.now() - t0, bytesOnWire: rom.bytesOut + rom.bytesIn,
    };
  } finally {
    await t.close();
  }
}
