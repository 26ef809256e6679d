/**
 * Byte-level pieces of the loader protocol (firmware/loader/loader_proto.h): CRC-32, COBS, frames.
 * A decoded frame is `type u8 | seq u16 | payload | crc32 u32` (little-endian, CRC-32/IEEE over
 * type..payload); on the wire it is COBS-encoded and ends with one 0x00.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/IEEE (zlib, Ethernet); pass a previous result as `crc` to continue over more bytes. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** COBS: the output holds no 0x00 (the frame delimiter), at most 1 byte of overhead per 254. */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + Math.ceil(data.length / 254) + 1);
  let o = 1, codeAt = 0, code = 1;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) {
      out[codeAt] = code; codeAt = o++; code = 1;
    } else {
      out[o++] = data[i];
      if (++code === 0xff) { out[codeAt] = code; codeAt = o++; code = 1; }
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Inverse of cobsEncode; undefined for an invalid encoding. */
export function cobsDecode(data: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(data.length);
  let i = 0, o = 0;
  while (i < data.length) {
    const code = data[i++];
    if (code === 0) return undefined;
    for (let k = 1; k < code; k++) {
      if (i >= data.length) return undefined;
      out[o++] = data[i++];
    }
    if (code !== 0xff && i < data.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

export interface Frame {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/** The bytes to put on the wire for one frame (COBS + trailing 0x00). */
export function encodeFrame(f: Frame): Uint8Array {
  const raw = new Uint8Array(3 + f.payload.length + 4);
  raw[0] = f.type;
  raw[1] = f.seq & 0xff;
  raw[2] = (f.seq >>> 8) & 0xff;
  raw.set(f.payload, 3);
  new DataView(raw.buffer).setUint32(raw.length - 4, crc32(raw.subarray(0, raw.length - 4)), true);
  const enc = cobsEncode(raw);
  const wire = new Uint8Array(enc.length + 1);
  wire.set(enc);
  return wire;
}

/** Decodes one COBS block (without its 0x00); undefined when COBS or the CRC is wrong. */
export function decodeFrame(block: Uint8Array): Frame | undefined {
  const raw = cobsDecode(block);
  if (!raw || raw.length < 7) return undefined;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dv.getUint32(raw.length - 4, true) !== crc32(raw.subarray(0, raw.length - 4))) return undefined;
  return { type: raw[0], seq: raw[1] | (raw[2] << 8), payload: raw.slice(3, raw.length - 4) };
}

/** Splits a byte stream at 0x00 delimiters into frames; garbage between delimiters is counted, not thrown. */
export class FrameReader {
  private buf: number[] = [];
  private readonly maxBlock: number;
  /** blocks that were not valid frames (line noise, cut frames) */
  bad = 0;
  constructor(private readonly onFrame: (f: Frame) => void, maxBlock = 1 << 16) {
    this.maxBlock = maxBlock;
  }
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== 0) {
        if (this.buf.length < this.maxBlock) this.buf.push(b);
        continue;
      }
      if (this.buf.length === 0) continue;
      const f = decodeFrame(Uint8Array.from(this.buf));
      this.buf = [];
      if (f) this.onFrame(f);
      else this.bad++;
    }
  }
  reset(): void {
    this.buf = [];
  }
}
