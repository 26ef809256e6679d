/** A byte pipe to a board: a serial port (the `serialport` package; QEMU's pty or a real USB UART). */
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { fail } from '../errors.js';

export interface Transport {
  readonly path: string;
  write(data: Uint8Array): Promise<void>;
  /** every received chunk, in order */
  onData(cb: (chunk: Uint8Array) => void): void;
  /** the line went away (port closed, device unplugged) */
  onClose(cb: (err?: Error) => void): void;
  readonly closed: boolean;
  close(): Promise<void>;
}

export interface SerialOptions {
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: 8 | 7;
  stopBits?: 1 | 2;
}

/** Opens `path` as a serial port. Fails with a one-line error when there is no such port. */
export async function openSerial(path: string, opts: SerialOptions = {}): Promise<Transport> {
  if (!existsSync(path)) fail(`${path}: no such serial port; check the cable and the path (ls /dev/ttyACM* /dev/ttyUSB*), or run 'tinyforge board start' for the emulated board`);
  const port = new SerialPort({ path, baudRate: opts.baudRate ?? 115200, parity: opts.parity ?? 'none', dataBits: opts.dataBits ?? 8, stopBits: opts.stopBits ?? 1, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res()))).catch((e: Error) => fail(`${path}: cannot open the serial port: ${e.message}`));
  let closed = false;
  const dataCbs: Array<(c: Uint8Array) => void> = [];
  const closeCbs: Array<(e?: Error) => void> = [];
  port.on('data', (d: Buffer) => { for (const cb of dataCbs) cb(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)); });
  const onGone = (e?: Error) => {
    if (closed) return;
    closed = true;
    for (const cb of closeCbs) cb(e);
  };
  port.on('close', (e: Error | null) => onGone(e ?? undefined));
  port.on('error', (e: Error) => onGone(e));
  return {
    path,
    get closed() { return closed; },
    write: (data) => new Promise<void>((res, rej) => {
      if (closed) { rej(new Error('port closed')); return; }
      port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (e) => (e ? rej(e) : res()));
    }),
    onData: (cb) => { dataCbs.push(cb); },
    onClose: (cb) => { closeCbs.push(cb); },
    close: () => new Promise<void>((res) => {
      if (closed || !port.isOpen) { closed = true; res(); return; }
      closed = true;
      port.close(() => res());
    }),
  };
}
