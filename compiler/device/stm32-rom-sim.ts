/**
 * A simulated STM32F4 system-memory bootloader (AN3155, USART), written from the application note, for
 * tests of the host side on a pty pair: 0x7F sync, GET, GET VERSION, GET ID, READ MEMORY, WRITE MEMORY
 * (<= 256 bytes, XOR checksum, flash programming only clears bits), EXTENDED ERASE (sectors or mass),
 * GO. Bad complements, checksums and addresses are answered with NACK, as the real one does.
 */
import type { Transport } from './transport.js';
import { ACK, NACK, ROM_CMD, stm32f4Sectors } from './stm32-rom.js';

export interface SimOptions {
  productId?: number;
  flashBytes?: number;
  ramBytes?: number;
  /** bootloader version byte (0x31 = v3.1) */
  version?: number;
}

const FLASH = 0x08000000, RAM = 0x20000000;

export class Stm32RomSimulator {
  readonly flash: Uint8Array;
  readonly ram: Uint8Array;
  readonly productId: number;
  readonly version: number;
  synced = false;
  /** where GO jumped (the bootloader is left then) */
  goAddress?: number;
  erasedSectors: number[] = [];
  nacks = 0;
  private rx: number[] = [];
  private wake?: () => void;
  private stopped = false;

  constructor(private readonly t: Transport, o: SimOptions = {}) {
    this.productId = o.productId ?? 0x431;
    this.version = o.version ?? 0x31;
    this.flash = new Uint8Array(o.flashBytes ?? 512 * 1024).fill(0xff);
    this.ram = new Uint8Array(o.ramBytes ?? 128 * 1024);
    t.onData((c) => { for (const b of c) this.rx.push(b); this.wake?.(); });
    t.onClose(() => { this.stopped = true; this.wake?.(); });
    void this.loop().catch(() => {});
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async byte(): Promise<number> {
    while (this.rx.length === 0) {
      if (this.stopped) throw new Error('stopped');
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = undefined;
    }
    return this.rx.shift()!;
  }

  private async bytes(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await this.byte());
    return out;
  }

  private send(bytes: number[]): void {
    void this.t.write(Uint8Array.from(bytes)).catch(() => {});
  }

  private nack(): void {
    this.nacks++;
    this.send([NACK]);
  }

  /** Reads 4 address bytes + checksum; undefined (after a NACK) when the checksum is wrong. */
  private async address(): Promise<number | undefined> {
    const a = await this.bytes(5);
    if ((a[0] ^ a[1] ^ a[2] ^ a[3]) !== a[4]) { this.nack(); return undefined; }
    return ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
  }

  private region(addr: number, len: number): { mem: Uint8Array; off: number; flash: boolean } | undefined {
    if (addr >= FLASH && addr + len <= FLASH + this.flash.length) return { mem: this.flash, off: addr - FLASH, flash: true };
    if (addr >= RAM && addr + len <= RAM + this.ram.length) return { mem: this.ram, off: addr - RAM, flash: false };
    return undefined;
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.synced) {
        if ((await this.byte()) === 0x7f) { this.synced = true; this.send([ACK]); }
        continue;
      }
      const cmd = await this.byte();
      const cmp = await this.byte();
      if ((cmd ^ cmp) !== 0xff) { this.nack(); continue; }
      switch (cmd) {
        case ROM_CMD.get: {
          const cmds = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92];
          this.send([ACK, cmds.length, this.version, ...cmds, ACK]);
          break;
        }
        case ROM_CMD.getVersion:
          this.send([ACK, this.version, 0, 0, ACK]);
          break;
        case ROM_CMD.getId:
          this.send([ACK, 1, (this.productId >> 8) & 0xff, this.productId & 0xff, ACK]);
          break;
        case ROM_CMD.readMemory: {
          this.send([ACK]);
          const addr = await this.address();
          if (addr === undefined) break;
          this.send([ACK]);
          const [n, c] = await this.bytes(2);
          if ((n ^ c) !== 0xff) { this.nack(); break; }
          const r = this.region(addr, n + 1);
          if (!r) { this.nack(); break; }
          this.send([ACK, ...r.mem.subarray(r.off, r.off + n + 1)]);
          break;
        }
        case ROM_CMD.writeMemory: {
          this.send([ACK]);
          const addr = await this.address();
          if (addr === undefined) break;
          if (!this.region(addr, 1)) { this.nack(); break; }
          this.send([ACK]);
          const n = await this.byte();
          const data = await this.bytes(n + 1);
          const sum = await this.byte();
          let x = n;
          for (const b of data) x ^= b;
          const r = this.region(addr, n + 1);
          if (x !== sum || !r || (r.flash && ((n + 1) % 4 || addr % 4))) { this.nack(); break; }
          for (let i = 0; i < data.length; i++) r.mem[r.off + i] = r.flash ? r.mem[r.off + i] & data[i] : data[i];
          this.send([ACK]);
          break;
        }
        case ROM_CMD.extendedErase: {
          this.send([ACK]);
          const [hi, lo] = await this.bytes(2);
          const n = (hi << 8) | lo;
          const sectors = stm32f4Sectors(this.flash.length, FLASH);
          if (n === 0xffff) {
            if ((await this.byte()) !== 0) { this.nack(); break; }
            this.flash.fill(0xff);
            this.erasedSectors.push(...sectors.map((s) => s.index));
            this.send([ACK]);
            break;
          }
          if (n >= 0xfff0) { this.nack(); break; } // bank erases: not on this part
          const raw = await this.bytes(2 * (n + 1));
          const sum = await this.byte();
          let x = hi ^ lo;
          for (const b of raw) x ^= b;
          const pages = Array.from({ length: n + 1 }, (_, i) => (raw[2 * i] << 8) | raw[2 * i + 1]);
          if (x !== sum || pages.some((p) => p >= sectors.length)) { this.nack(); break; }
          for (const p of pages) {
            const s = sectors[p];
            this.flash.fill(0xff, s.addr - FLASH, s.addr - FLASH + s.size);
            this.erasedSectors.push(p);
          }
          this.send([ACK]);
          break;
        }
        case ROM_CMD.go: {
          this.send([ACK]);
          const addr = await this.address();
          if (addr === undefined) break;
          if (!this.region(addr, 4)) { this.nack(); break; }
          this.send([ACK]);
          this.goAddress = addr;
          this.synced = false; // the application runs now
          break;
        }
        default:
          this.nack();
      }
    }
  }
}
