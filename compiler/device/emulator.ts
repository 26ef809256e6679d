/**
 * The emulated board: QEMU running the resident loader, its UART on a pty (`-serial pty`).
 * `tinyforge board start` leaves QEMU running detached and records it in a state file
 * ($TINYFORGE_STATE_DIR or <tmpdir>/tinyforge-boards-<uid>/<board>.json); flash/verify without --port
 * use that board; `board stop` ends it. Tests use startEmulatedBoard({ detached: false }) and stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { DEFAULT_BOARD, loadBoard } from './boards.js';
import { buildLoader } from './firmware.js';

export interface RunningBoard {
  board: string;
  pid: number;
  /** the board's UART: open it like any serial port */
  pty: string;
  log: string;
  elf: string;
  startedAt: string;
}

export interface EmulatedBoard extends RunningBoard {
  stop(): Promise<void>;
}

export function stateDir(): string {
  const d = process.env.TINYFORGE_STATE_DIR ?? join(tmpdir(), `tinyforge-boards-${process.getuid?.() ?? 0}`);
  mkdirSync(d, { recursive: true });
  return d;
}

const stateFile = (board: string) => join(stateDir(), `${board}.json`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The board started by `tinyforge board start`, if it is still running. */
export function runningBoard(board = DEFAULT_BOARD): RunningBoard | undefined {
  const f = stateFile(board);
  if (!existsSync(f)) return undefined;
  try {
    const r = JSON.parse(readFileSync(f, 'utf8')) as RunningBoard;
    if (isAlive(r.pid) && existsSync(r.pty)) return r;
  } catch { /* stale or half-written */ }
  rmSync(f, { force: true });
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

async function killPid(pid: number, child?: ChildProcess): Promise<void> {
  if (child && child.exitCode !== null) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  if (child) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    return;
  }
  if (!(await waitExit(pid, 3000))) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

/**
 * Builds the loader if needed and starts QEMU with the UART on a pty. `detached`: QEMU outlives this
 * process (CLI `board start`) and is recorded in the state file; otherwise it is a child to stop().
 */
export async function startEmulatedBoard(board = DEFAULT_BOARD, opts: { detached?: boolean; timeoutMs?: number } = {}): Promise<EmulatedBoard> {
  const profile = loadBoard(board);
  if (!profile.qemu) fail(`board '${board}' is a real board, not an emulated one; connect it and pass --port (boards QEMU can run: mps2-an386)`);
  const fw = await buildLoader(profile);
  const log = join(stateDir(), `${board}-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, 'w');
  const args = ['-M', profile.qemu.machine, ...profile.qemu.args, '-kernel', fw.elf];
  let child: ChildProcess;
  try {
    child = spawn(profile.qemu.binary, args, { detached: !!opts.detached, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const spawnError = new Promise<Error>((r) => child.once('error', r));
  const pid = child.pid;
  const end = Date.now() + (opts.timeoutMs ?? 10_000);
  let pty: string | undefined;
  while (!pty) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    pty = /char device redirected to (\/dev\/\S+)/.exec(text)?.[1];
    if (pty) break;
    const err = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
    if (err) fail(`cannot start ${profile.qemu.binary}: ${err.message}; install qemu-system-arm`);
    if (child.exitCode !== null || Date.now() > end) {
      if (pid) await killPid(pid, child);
      fail(`QEMU did not start the ${board} board: ${text.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    }
  }
  const r: RunningBoard = { board, pid: pid!, pty, log, elf: fw.elf, startedAt: new Date().toISOString() };
  if (opts.detached) {
    child.unref();
    writeFileSync(stateFile(board), JSON.stringify(r, null, 2) + '\n');
  }
  return {
    ...r,
    stop: async () => {
      await killPid(r.pid, opts.detached ? undefined : child);
      if (opts.detached) rmSync(stateFile(board), { force: true });
      rmSync(log, { force: true });
    },
  };
}

/** `board start`: reuses a running board, else starts one detached. */
export async function ensureBoardRunning(board = DEFAULT_BOARD): Promise<{ board: RunningBoard; started: boolean }> {
  const r = runningBoard(board);
  if (r) return { board: r, started: false };
  const b = await startEmulatedBoard(board, { detached: true });
  const { stop: _stop, ...rest } = b;
  return { board: rest, started: true };
}

/** `board stop`: ends the board started by `board start`; false when none was running. */
export async function stopRunningBoard(board = DEFAULT_BOARD): Promise<boolean> {
  const r = runningBoard(board);
  if (!r) return false;
  await killPid(r.pid);
  rmSync(stateFile(board), { force: true });
  rmSync(r.log, { force: true });
  return true;
}
