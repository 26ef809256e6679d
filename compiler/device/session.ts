/**
 * A host-initiated session with the resident loader: one request in flight, sequence numbers,
 * retransmission on timeout or NAK, duplicate and stale responses ignored, wire statistics.
 */
import { randomInt } from 'node:crypto';
import { TinyforgeError } from '../errors.js';
import { encodeFrame, FrameReader, type Frame } from './framing.js';
import { CMD, NAK, parseHello, STATUS_TEXT, type BoardInfo, type CommandName } from './protocol.js';
import type { Transport } from './transport.js';

export interface WireStats {
  /** bytes written to / read from the line, framing included */
  bytesOut: number;
  bytesIn: number;
  /** useful bytes: image bytes written + data read back + run inputs/outputs */
  payload: number;
  requests: number;
  retransmits: number;
  naks: number;
  timeouts: number;
  badFrames: number;
}

export const newStats = (): WireStats => ({ bytesOut: 0, bytesIn: 0, payload: 0, requests: 0, retransmits: 0, naks: 0, timeouts: 0, badFrames: 0 });

export interface SessionOptions {
  /** per-attempt answer timeout (ms) for short requests; long ones scale it */
  timeoutMs?: number;
  /** attempts per request before giving up */
  attempts?: number;
  stats?: WireStats;
}

/** The device answered with an error status: not a line problem, so not retried. */
export class DeviceStatusError extends TinyforgeError {
  constructor(readonly command: CommandName, readonly status: number, port: string) {
    super(`${port}: ${command} refused by the board: ${STATUS_TEXT[status] ?? `status ${status}`}`);
  }
}

/** The line failed (no answer after all retries, or the port went away). */
export class LinkError extends TinyforgeError {}

interface Pending {
  seq: number;
  type: number;
  resolve: (f: Frame) => void;
  kick: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LoaderSession {
  readonly stats: WireStats;
  private seq: number;
  private pending?: Pending;
  private readonly reader: FrameReader;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private lost?: Error;
  info?: BoardInfo;

  constructor(readonly transport: Transport, opts: SessionOptions = {}) {
    this.stats = opts.stats ?? newStats();
    this.timeoutMs = opts.timeoutMs ?? 800;
    this.attempts = opts.attempts ?? 8;
    this.seq = randomInt(1, 0xfffe);
    this.reader = new FrameReader((f) => this.onFrame(f));
    transport.onData((c) => {
      this.stats.bytesIn += c.length;
      this.reader.push(c);
      this.stats.badFrames = this.reader.bad;
    });
    transport.onClose((e) => {
      this.lost = e ?? new Error('port closed');
      this.pending?.kick();
    });
  }

  get port(): string { return this.transport.path; }

  private onFrame(f: Frame): void {
    const p = this.pending;
    if (!p) return;
    if (f.type === NAK) {
      this.stats.naks++;
      p.kick();
      return;
    }
    if (f.seq === p.seq && f.type === (p.type | 0x80)) p.resolve(f);
  }

  /**
   * Sends one request and returns the response data (after the status byte). Retransmits the same
   * frame (same seq) on timeout or NAK; throws LinkError after `attempts`, DeviceStatusError on a refusal.
   */
  async request(cmd: CommandName, payload: Uint8Array, o: { timeoutMs?: number; attempts?: number; payloadBytes?: number } = {}): Promise<Uint8Array> {
    if (this.pending) throw new Error('LoaderSession: one request at a time');
    this.seq = (this.seq + 1) & 0xffff;
    const type = CMD[cmd];
    const frame = encodeFrame({ type, seq: this.seq, payload });
    const wire = new Uint8Array(frame.length + 1); // leading 0x00: ends any partial frame left on the line
    wire.set(frame, 1);
    const attempts = o.attempts ?? this.attempts;
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    this.stats.requests++;
    try {
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (this.lost || this.transport.closed) throw new LinkError(`${this.port}: the line went away during ${cmd} (${this.lost?.message ?? 'closed'})`);
        if (attempt > 0) this.stats.retransmits++;
        let timer: NodeJS.Timeout | undefined;
        const got = await new Promise<Frame | 'retry'>((resolve) => {
          this.pending = { seq: this.seq, type, resolve, kick: () => resolve('retry') };
          timer = setTimeout(() => { this.stats.timeouts++; resolve('retry'); }, timeoutMs);
          this.stats.bytesOut += wire.length;
          this.transport.write(wire).catch((e: Error) => { this.lost = e; resolve('retry'); });
        });
        clearTimeout(timer);
        this.pending = undefined;
        if (got === 'retry') {
          const lost = this.lost as Error | undefined;
          if (lost || this.transport.closed) throw new LinkError(`${this.port}: the line went away during ${cmd} (${lost?.message ?? 'closed'})`);
          continue;
        }
        const status = got.payload[0];
        if (status !== 0) throw new DeviceStatusError(cmd, status, this.port);
        this.stats.payload += o.payloadBytes ?? 0;
        return got.payload.subarray(1);
      }
    } finally {
      this.pending = undefined;
    }
    throw new LinkError(`${this.port}: no answer to ${cmd} after ${attempts} tries; check the cable, the port and that the tinyforge loader is on the board`);
  }

  /**
   * Says hello until the loader answers (QEMU notices a newly opened pty only on a ~1 s poll, real
   * boards may still be booting). Throws a one-line error when nothing answers in `waitMs`.
   */
  async connect(waitMs = 6000): Promise<BoardInfo> {
    const attempts = Math.max(1, Math.ceil(waitMs / 250));
    let p: Uint8Array;
    try {
      p = await this.request('hello', new Uint8Array(0), { timeoutMs: 250, attempts });
    } catch (e) {
      if (e instanceof LinkError && !this.lost) throw new LinkError(`${this.port}: nothing answered the tinyforge loader within ${(waitMs / 1000).toFixed(0)} s; is the board powered, on this port, and running the loader ('tinyforge board start' for the emulated board)?`);
      throw e;
    }
    const info = parseHello(p);
    if (!info) throw new TinyforgeError(`${this.port}: the device answered but not as a tinyforge loader (bad hello); is it another firmware?`);
    this.info = info;
    return info;
  }

  async hello(): Promise<BoardInfo> {
    const info = parseHello(await this.request('hello', new Uint8Array(0)));
    if (!info) throw new TinyforgeError(`${this.port}: bad hello answer`);
    return (this.info = info);
  }

  async erase(addr: number, len: number): Promise<void> {
    const p = new Uint8Array(8), dv = new DataView(p.buffer);
    dv.setUint32(0, addr, true); dv.setUint32(4, len, true);
    await this.request('erase', p, { timeoutMs: this.timeoutMs + len / 50 });
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    const p = new Uint8Array(4 + data.length);
    new DataView(p.buffer).setUint32(0, addr, true);
    p.set(data, 4);
    await this.request('write', p, { timeoutMs: this.timeoutMs + data.length / 10, payloadBytes: data.length });
  }

  async read(addr: number, len: number): Promise<Uint8Array> {
    const p = new Uint8Array(6), dv = new DataView(p.buffer);
    dv.setUint32(0, addr, true); dv.setUint16(4, len, true);
    return this.request('read', p, { timeoutMs: this.timeoutMs + len / 10, payloadBytes: len });
  }

  async crc(addr: number, len: number): Promise<number> {
    const p = new Uint8Array(8), dv = new DataView(p.buffer);
    dv.setUint32(0, addr, true); dv.setUint32(4, len, true);
    const r = await this.request('crc', p, { timeoutMs: this.timeoutMs + len / 200 });
    return new DataView(r.buffer, r.byteOffset).getUint32(0, true);
  }

  async commit(slot: number, size: number, crc: number, hash: Uint8Array, name: string): Promise<number> {
    const p = new Uint8Array(52), dv = new DataView(p.buffer);
    p[0] = slot;
    dv.setUint32(4, size, true); dv.setUint32(8, crc, true);
    p.set(hash.subarray(0, 16), 12);
    p.set(Buffer.from(name.slice(0, 23), 'latin1'), 28);
    const r = await this.request('commit', p, { timeoutMs: this.timeoutMs + size / 100 });
    return new DataView(r.buffer, r.byteOffset).getUint32(0, true);
  }

  /** Runs samples (float32 or int8, already flat per sample) on the active model; outputs as raw bytes. */
  async run(mode: 'float32' | 'int8', samples: Uint8Array[], outBytes: number): Promise<Array<{ instructions: number; out: Uint8Array }>> {
    const p = new Uint8Array(4 + samples.reduce((n, s) => n + s.length, 0));
    p[0] = mode === 'int8' ? 1 : 0;
    p[1] = samples.length;
    let o = 4;
    for (const s of samples) { p.set(s, o); o += s.length; }
    const r = await this.request('run', p, { timeoutMs: Math.max(5000, this.timeoutMs * 4), payloadBytes: p.length - 4 + samples.length * outBytes });
    const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
    if (r[0] !== samples.length || r.length !== 4 + samples.length * (4 + outBytes)) throw new TinyforgeError(`${this.port}: run answered ${r[0]} sample(s) / ${r.length} bytes, expected ${samples.length}`);
    return samples.map((_, i) => ({ instructions: dv.getUint32(4 + i * (4 + outBytes), true), out: r.slice(8 + i * (4 + outBytes), 8 + i * (4 + outBytes) + outBytes) }));
  }

  /** Asks the board to reset; waits for the loader to answer again. */
  async reset(waitMs = 6000): Promise<BoardInfo> {
    await this.request('reset', new Uint8Array(0));
    await sleep(100);
    return this.connect(waitMs);
  }
}
