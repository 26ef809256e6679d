/** Loader protocol constants and payload layouts; mirrors firmware/loader/loader_proto.h and loader.c. */

export const CMD = { hello: 0x01, erase: 0x02, write: 0x03, read: 0x04, crc: 0x05, commit: 0x06, run: 0x07, reset: 0x08 } as const;
export type CommandName = keyof typeof CMD;
export const NAK = 0x7f;
export const HELLO_MAGIC = 0x444c4654; // "TFLD"
export const PROTO_VERSION = 1;

export const STATUS_TEXT: Record<number, string> = {
  0: 'ok',
  1: 'malformed request',
  2: 'address range not allowed (loader, active slot or outside flash)',
  3: 'flash erase/program failed or read back differently',
  4: 'image CRC does not match',
  5: 'not a valid model image for this slot/board',
  6: 'no committed model on the board',
  7: 'unknown request',
  8: 'too large',
};
export const NAK_TEXT: Record<number, string> = { 1: 'bad CRC', 2: 'bad COBS', 3: 'frame too long', 4: 'frame too short' };

export interface BoardInfo {
  protoVersion: number;
  loaderVersion: string;
  boardId: string;
  flashBase: number;
  flashSize: number;
  loaderSize: number;
  ramBase: number;
  ramSize: number;
  slots: Array<{ addr: number; size: number }>;
  eraseUnit: number;
  modelRam: { addr: number; size: number };
  maxData: number;
  instrPerTick: number;
  clockHz: number;
  stateAddr: number;
  /** pc of the last fault the loader recovered from (0: none since power-up) */
  lastFaultPc: number;
  active?: ActiveModel;
}

export interface ActiveModel {
  slot: number;
  commitSeq: number;
  size: number;
  crc: number;
  /** hex of the first 16 bytes of the image's SHA-256, as given at commit */
  hash: string;
  name: string;
  int8: boolean;
  inSize: number;
  outSize: number;
  int8InSize: number;
  int8OutSize: number;
}

const cstr = (b: Uint8Array) => { const z = b.indexOf(0); return Buffer.from(z < 0 ? b : b.subarray(0, z)).toString('latin1'); };

export function parseHello(p: Uint8Array): BoardInfo | undefined {
  if (p.length < 160) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u16 = (o: number) => dv.getUint16(o, true);
  if (u32(0) !== HELLO_MAGIC) return undefined;
  const lv = u16(6);
  const info: BoardInfo = {
    protoVersion: u16(4), loaderVersion: `${lv >> 8}.${lv & 0xff}`, boardId: cstr(p.subarray(8, 24)),
    flashBase: u32(24), flashSize: u32(28), loaderSize: u32(32), ramBase: u32(36), ramSize: u32(40),
    slots: [{ addr: u32(44), size: u32(48) }, { addr: u32(52), size: u32(56) }],
    eraseUnit: u32(60), modelRam: { addr: u32(64), size: u32(68) }, maxData: u16(72), instrPerTick: u16(74), clockHz: u32(76),
    lastFaultPc: u32(152), stateAddr: u32(156),
  };
  const slot = p[80], flags = p[81];
  if (slot !== 0xff && flags & 1) {
    info.active = {
      slot, commitSeq: u32(84), size: u32(88), crc: u32(92), hash: Buffer.from(p.subarray(96, 112)).toString('hex'),
      name: cstr(p.subarray(112, 136)), int8: !!(flags & 2), inSize: u32(136), outSize: u32(140), int8InSize: u32(144), int8OutSize: u32(148),
    };
  }
  return info;
}

/** The slot a new image goes to: the one not holding the active model. */
export function inactiveSlot(info: BoardInfo): number {
  return info.active ? info.active.slot ^ 1 : 0;
}
