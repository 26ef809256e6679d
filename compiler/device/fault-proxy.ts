/**
 * A fault-injecting line between host and board, for tests: socat makes a linked pty pair (the host
 * opens one end like a serial port), this proxy opens the other end and the board's pty and forwards
 * bytes both ways, dropping, flipping, duplicating and delaying them and cutting the line, all from a
 * seeded generator so a failing session can be replayed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { openSerial, type Transport } from './transport.js';

export function seededRandom(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export interface FaultPlan {
  seed: number;
  /** per byte probabilities */
  drop?: number;
  flip?: number;
  duplicate?: number;
  /** per chunk: probability of holding it back, and for how long at most (order is kept) */
  delay?: number;
  maxDelayMs?: number;
  /** cut the line once this many host->board bytes went through: nothing passes for cutMs (Infinity: for good) */
  cutAfterBytes?: number;
  cutMs?: number;
}

export interface FaultCounts {
  bytes: number;
  dropped: number;
  flipped: number;
  duplicated: number;
  delayed: number;
  cuts: number;
  droppedByCut: number;
}

const zero = (): FaultCounts => ({ bytes: 0, dropped: 0, flipped: 0, duplicated: 0, delayed: 0, cuts: 0, droppedByCut: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A linked pty pair from socat: `a` for the host, `b` for the proxy. */
export interface PtyPair {
  a: string;
  b: string;
  stop(): Promise<void>;
}

export async function socatPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'tf-pty-'));
  const a = join(dir, 'ttyA'), b = join(dir, 'ttyB');
  let child: ChildProcess;
  try {
    child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    return fail(`cannot start socat: ${(e as Error).message}; install socat`);
  }
  const err = new Promise<Error>((r) => child.once('error', r));
  const end = Date.now() + 5000;
  while (!(existsSync(a) && existsSync(b))) {
    const e = await Promise.race([err, sleep(20).then(() => undefined)]);
    if (e) fail(`cannot start socat: ${e.message}; install socat`);
    if (Date.now() > end || child.exitCode !== null) { child.kill('SIGKILL'); fail('socat did not create the pty pair'); }
  }
  return {
    a, b,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(2000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Forwards bytes between two transports with the faults of the current plan (none until setPlan). */
export class FaultProxy {
  private plan: FaultPlan = { seed: 1 };
  private rnd = seededRandom(1);
  private hostToBoard = 0;
  private cutUntil = 0;
  private chains: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
  counts: FaultCounts = zero();

  constructor(private readonly host: Transport, private readonly board: Transport) {
    host.onData((c) => this.forward(0, c));
    board.onData((c) => this.forward(1, c));
  }

  /** A new plan (and counters) for the next session; `undefined` = a clean line. */
  setPlan(plan?: FaultPlan): void {
    this.plan = plan ?? { seed: 1 };
    this.rnd = seededRandom(this.plan.seed);
    this.hostToBoard = 0;
    this.cutUntil = 0;
    this.counts = zero();
  }

  private cut(): boolean {
    return Date.now() < this.cutUntil;
  }

  private forward(dir: 0 | 1, chunk: Uint8Array): void {
    const p = this.plan, r = this.rnd, c = this.counts;
    const out: number[] = [];
    for (const byte of chunk) {
      c.bytes++;
      if (dir === 0) {
        this.hostToBoard++;
        if (p.cutAfterBytes !== undefined && this.hostToBoard === p.cutAfterBytes) {
          c.cuts++;
          this.cutUntil = p.cutMs === undefined || p.cutMs === Infinity ? Number.MAX_SAFE_INTEGER : Date.now() + p.cutMs;
        }
      }
      if (this.cut()) { c.droppedByCut++; continue; }
      if (p.drop && r() < p.drop) { c.dropped++; continue; }
      let b = byte;
      if (p.flip && r() < p.flip) { b ^= 1 << Math.floor(r() * 8); c.flipped++; }
      out.push(b);
      if (p.duplicate && r() < p.duplicate) { out.push(b); c.duplicated++; }
    }
    if (out.length === 0) return;
    const delay = p.delay && r() < p.delay ? Math.floor(r() * (p.maxDelayMs ?? 50)) : 0;
    if (delay) c.delayed++;
    const to = dir === 0 ? this.board : this.host;
    const data = Uint8Array.from(out);
    this.chains[dir] = this.chains[dir].then(async () => {
      if (delay) await sleep(delay);
      if (this.cut()) { c.droppedByCut += data.length; return; }
      if (!to.closed) await to.write(data).catch(() => {});
    });
  }
}

/** A socat pair with a FaultProxy between its `b` end and the board's pty; the host opens `port`. */
export async function startFaultLine(boardPty: string): Promise<{ port: string; proxy: FaultProxy; stop(): Promise<void> }> {
  const pair = await socatPair();
  const hostSide = await openSerial(pair.b);
  const boardSide = await openSerial(boardPty);
  const proxy = new FaultProxy(hostSide, boardSide);
  return {
    port: pair.a, proxy,
    stop: async () => {
      await hostSide.close();
      await boardSide.close();
      await pair.stop();
    },
  };
}
