/** Host side of the loader protocol without a board: CRC-32, COBS, frames, retransmission logic. */
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, crc32, decodeFrame, encodeFrame, FrameReader, type Frame } from '../compiler/device/framing.js';
import { LoaderSession, LinkError, DeviceStatusError } from '../compiler/device/session.js';
import type { Transport } from '../compiler/device/transport.js';
import { addressFrame, stm32f4Sectors, xorChecksum } from '../compiler/device/stm32-rom.js';
import { faultPlan } from '../compiler/device/fault-campaign.js';

/** An in-memory line to a scripted board: `answer` decides what (if anything) comes back per frame. */
function mockLine(answer: (f: Frame, n: number) => Uint8Array | undefined): Transport & { frames: Frame[] } {
  const cbs: Array<(c: Uint8Array) => void> = [];
  const frames: Frame[] = [];
  const reader = new FrameReader((f) => {
    frames.push(f);
    const r = answer(f, frames.length);
    if (r) setTimeout(() => cbs.forEach((cb) => cb(r)), 1);
  });
  return {
    path: 'mock', frames, closed: false,
    write: async (d) => { reader.push(d); },
    onData: (cb) => { cbs.push(cb); },
    onClose: () => {},
    close: async () => {},
  };
}

const ok = (f: Frame, data: number[] = []) => encodeFrame({ type: f.type | 0x80, seq: f.seq, payload: Uint8Array.from([0, ...data]) });

describe('loader protocol framing', () => {
  it('CRC-32 is the IEEE/zlib one', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('COBS round-trips any bytes and never emits 0x00', () => {
    const cases = [[], [0], [0, 0], [1, 2, 0, 3], Array.from({ length: 254 }, (_, i) => i + 1), Array.from({ length: 255 }, (_, i) => (i % 255) + 1),
      Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff)];
    for (const c of cases) {
      const enc = cobsEncode(Uint8Array.from(c));
      expect(enc.includes(0)).toBe(false);
      expect(Array.from(cobsDecode(enc)!)).toEqual(c);
      expect(enc.length).toBeLessThanOrEqual(c.length + Math.ceil(c.length / 254) + 1);
    }
  });

  it('a frame with any flipped bit is rejected', () => {
    const wire = encodeFrame({ type: 3, seq: 513, payload: Uint8Array.from([1, 2, 3, 0, 5]) });
    const body = wire.subarray(0, wire.length - 1);
    expect(decodeFrame(body)).toEqual({ type: 3, seq: 513, payload: Uint8Array.from([1, 2, 3, 0, 5]) });
    for (let i = 0; i < body.length; i++) for (let b = 0; b < 8; b++) {
      const x = body.slice(); x[i] ^= 1 << b;
      if (x[i] !== 0) expect(decodeFrame(x)).toBeUndefined();
    }
  });

  it('the reader resynchronizes on the next delimiter after garbage', () => {
    const got: Frame[] = [];
    const r = new FrameReader((f) => got.push(f));
    r.push(Uint8Array.from([7, 9, 200, 0]));
    r.push(encodeFrame({ type: 1, seq: 1, payload: new Uint8Array(0) }));
    const f2 = encodeFrame({ type: 2, seq: 2, payload: new Uint8Array(300).fill(0) });
    r.push(f2.subarray(0, 10)); r.push(f2.subarray(10));
    expect(got.map((f) => f.type)).toEqual([1, 2]);
    expect(r.bad).toBe(1);
  });
});

describe('loader session', () => {
  it('retransmits the same seq after a lost answer and ignores the late duplicate', async () => {
    const line = mockLine((f, n) => (n === 1 ? undefined : ok(f, [0xaa, 0xbb, 0xcc, 0xdd])));
    const s = new LoaderSession(line, { timeoutMs: 30, attempts: 3 });
    expect(await s.crc(0, 4)).toBe(0xddccbbaa);
    expect(line.frames.map((f) => f.seq)).toEqual([line.frames[0].seq, line.frames[0].seq]);
    expect(s.stats.retransmits).toBe(1);
    expect(s.stats.timeouts).toBe(1);
  });

  it('a NAK makes the host resend at once', async () => {
    const line = mockLine((f, n) => (n === 1 ? encodeFrame({ type: 0x7f, seq: 0xffff, payload: Uint8Array.from([1]) }) : ok(f)));
    const s = new LoaderSession(line, { timeoutMs: 5000, attempts: 3 });
    const t0 = Date.now();
    await s.erase(0x20000, 4096);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.stats.naks).toBe(1);
  });

  it('answers to an older seq do not complete the current request', async () => {
    let first = 0;
    const line = mockLine((f) => {
      if (!first) first = f.seq;
      return encodeFrame({ type: f.type | 0x80, seq: (f.seq - 1) & 0xffff, payload: Uint8Array.from([0]) });
    });
    const s = new LoaderSession(line, { timeoutMs: 20, attempts: 2 });
    await expect(s.erase(0, 4)).rejects.toBeInstanceOf(LinkError);
  });

  it('gives up with a one-line error naming the port after all attempts', async () => {
    const s = new LoaderSession(mockLine(() => undefined), { timeoutMs: 10, attempts: 3 });
    await expect(s.read(0, 16)).rejects.toThrow(/^mock: no answer to read after 3 tries/);
  });

  it('a refusal from the board is reported, not retried', async () => {
    const line = mockLine((f) => encodeFrame({ type: f.type | 0x80, seq: f.seq, payload: Uint8Array.from([2]) }));
    const s = new LoaderSession(line, { timeoutMs: 50, attempts: 5 });
    await expect(s.write(0, new Uint8Array(4))).rejects.toBeInstanceOf(DeviceStatusError);
    expect(line.frames.length).toBe(1);
  });
});

describe('AN3155 pieces', () => {
  it('address frames carry the XOR checksum, MSB first', () => {
    expect(Array.from(addressFrame(0x08000000))).toEqual([0x08, 0, 0, 0, 0x08]);
    expect(Array.from(addressFrame(0x08004100))).toEqual([0x08, 0x00, 0x41, 0x00, 0x49]);
    expect(xorChecksum([0xff, 0xff])).toBe(0);
  });
  it('STM32F4 sectors are 4x16K, 64K, then 128K', () => {
    const s = stm32f4Sectors(512 * 1024);
    expect(s.map((x) => x.size / 1024)).toEqual([16, 16, 16, 16, 64, 128, 128, 128]);
    expect(s[5].addr).toBe(0x08020000);
  });
});

describe('fault plans', () => {
  it('are reproducible from the seed', () => {
    expect(faultPlan(42, 8000)).toEqual(faultPlan(42, 8000));
    expect(faultPlan(42, 8000)).not.toEqual(faultPlan(43, 8000));
  });
});
