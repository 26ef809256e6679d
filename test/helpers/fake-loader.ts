/**
 * A stand-in loader on one end of a socat pty pair: answers HELLO with a configurable board id and
 * layout and acknowledges everything else, logging the request types it saw (to prove what was, or
 * was not, sent).
 */
import { encodeFrame, FrameReader } from '../../compiler/device/framing.js';
import { HELLO_MAGIC } from '../../compiler/device/protocol.js';
import { openSerial, type Transport } from '../../compiler/device/transport.js';

export interface FakeLoaderOptions { boardId: string; slotSize: number }

export async function fakeLoader(path: string, o: FakeLoaderOptions): Promise<{ requests: number[]; close(): Promise<void> }> {
  const t: Transport = await openSerial(path);
  const requests: number[] = [];
  const reader = new FrameReader((f) => {
    requests.push(f.type);
    let payload = new Uint8Array([0]);
    if (f.type === 0x01) {
      payload = new Uint8Array(161);
      const dv = new DataView(payload.buffer, 1);
      dv.setUint32(0, HELLO_MAGIC, true);
      dv.setUint16(4, 1, true); dv.setUint16(6, 0x0100, true);
      payload.set(Buffer.from(o.boardId), 1 + 8);
      dv.setUint32(28, 4 << 20, true);
      dv.setUint32(44, 0x20000, true); dv.setUint32(48, o.slotSize, true);
      dv.setUint32(52, 0x20000 + o.slotSize, true); dv.setUint32(56, o.slotSize, true);
      dv.setUint32(60, 4096, true); dv.setUint32(64, 0x20040000, true); dv.setUint32(68, 1 << 20, true);
      dv.setUint16(72, 4096, true); dv.setUint16(74, 40, true);
      payload[1 + 80] = 0xff;
    }
    void t.write(encodeFrame({ type: f.type | 0x80, seq: f.seq, payload }));
  });
  t.onData((c) => reader.push(c));
  return { requests, close: () => t.close() };
}
