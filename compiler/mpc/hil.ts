/**
 * Hardware-in-the-loop: the generated C controller runs in the fixed-rate loop of firmware/mpc/mpc_hil.c on
 * the (emulated) board; the plant simulator runs here and talks to it over the serial port (QEMU's
 * `-serial pty`, opened with the `serialport` package like a real USB UART). Each tick: measure the plant,
 * send measurement + reference, apply the u the board answers. Every u is also computed by the WASM controller
 * fed the same measurements and compared bit for bit.
 *
 * The host always speaks first: QEMU 7.2 drops guest output until a client has the pty open and notices
 * clients only about once a second, so HELLO is repeated until the board answers; every request is retried on
 * timeout (the board answers a repeated STEP from its cache, so a lost reply never makes the controller step twice).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadController } from '../../runtime/controller.js';
import { encodeFrame, FrameReader, type Frame } from '../device/framing.js';
import { openSerial, type Transport } from '../device/transport.js';
import { fail } from '../errors.js';
import { packageRoot } from '../paths.js';
import { ASSUMED_CLOCK_HZ, FLASH_BYTES } from './device.js';
import { controllerFlash, MPC_CFLAGS, sizeSum, tool, writeControllerSources } from './run-c.js';
import { fillReference } from './sim/closed-loop.js';
import { Pid, tunePid } from './sim/pid.js';
import { makePlant, type PlantName } from './sim/plants.js';
import { makeReference, type ReferenceName } from './sim/references.js';
import { plotSvg } from './sim/svg.js';
import type { MpcPlan } from './spec.js';
import { emitMpcWasm } from './wasm.js';

const BOARD = 'mps2-an386';
export const HIL = { HELLO: 0x10, STEP: 0x11, RESET: 0x12, END: 0x13, REPLY: 0x80, NAK: 0x7f, MAGIC: 0x4843504d } as const;

export interface HilOptions {
  plant?: PlantName;
  reference?: ReferenceName;
  ticks?: number;
  /** a board already running the HIL firmware for this controller; else QEMU is started (and stopped) here */
  port?: string;
  plot?: string;
  log?: (s: string) => void;
  /** per-request reply timeout (ms) before a retry */
  replyTimeoutMs?: number;
  /** called with QEMU's pid when this run starts it (tests make sure it is gone afterwards) */
  onQemu?: (pid: number) => void;
}

export interface HilResult {
  plant: PlantName; reference: ReferenceName; ticks: number; dt: number; port: string; startedQemu: boolean;
  forwardModel: 'float32' | 'int8';
  identical: number; maxAbsDiff: number;
  rmse: number; pidRmse: number;
  instructionsPerStep: { min: number; median: number; max: number };
  stepsPerSecondAt180MHz: number;
  lateTicks: number; overruns: number; stackBytes: number; retries: number; badFrames: number;
  controllerFlashBytes?: number; firmwareFlashBytes?: number; flashPercentOf1MB?: number;
  trace: { r: number[]; y: number[]; u: number[]; uWasm: number[] };
}

/** Builds the HIL firmware for mps2-an386 (controller + mpc_hil.c + board files). */
export async function buildHilFirmware(plan: MpcPlan, dir: string): Promise<{ elf: string; controllerFlashBytes: number; firmwareFlashBytes: number }> {
  const root = packageRoot();
  const boardDir = join(root, 'targets', 'boards', BOARD);
  const board = JSON.parse(readFileSync(join(boardDir, 'board.json'), 'utf8')) as { cflags: string[]; sources: string[]; linkerScript: string };
  mkdirSync(dir, { recursive: true });
  const fw = join(root, 'firmware', 'mpc');
  const units = [...writeControllerSources(dir, plan, 'cortex-m4f'), join(fw, 'mpc_hil.c'), join(fw, `mpc_hil_${BOARD}.c`), ...board.sources.map((f) => join(boardDir, f))];
  const cflags = [...MPC_CFLAGS, ...board.cflags, `-I${dir}`, `-I${fw}`, `-I${join(root, 'firmware', 'harness')}`, `-I${boardDir}`];
  const objs = units.map((_, i) => join(dir, `h${i}.o`));
  await Promise.all(units.map((u, i) => tool('arm-none-eabi-gcc', [...cflags, '-c', '-o', objs[i], u], dir)));
  const elf = join(dir, 'mpc_hil.elf');
  await tool('arm-none-eabi-gcc', [...board.cflags, '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections', `-T${join(boardDir, board.linkerScript)}`,
    '-o', elf, ...objs, '-lc', '-lm', '-lgcc'], dir);
  const nm = await tool('arm-none-eabi-nm', ['-S', '--size-sort', elf], dir);
  const sizeText = await tool('arm-none-eabi-size', ['-A', elf], dir);
  return { elf, controllerFlashBytes: controllerFlash(nm), firmwareFlashBytes: sizeSum(sizeText, /^(\.text|\.rodata|\.data|\.ARM\.exidx)\s+(\d+)/) };
}

/** QEMU with the board's UART on a pty (semihosting on, so END ends QEMU); resolves with the pty path. */
async function startQemu(elf: string, log: string): Promise<{ child: ChildProcess; pty: string }> {
  const boardDir = join(packageRoot(), 'targets', 'boards', BOARD);
  const board = JSON.parse(readFileSync(join(boardDir, 'board.json'), 'utf8')) as { qemu: { binary: string; machine: string; args: string[] } };
  const args = [...board.qemu.args];
  const si = args.indexOf('-serial');
  if (si >= 0) args[si + 1] = 'pty'; else args.push('-serial', 'pty');
  const child = spawn(board.qemu.binary, ['-M', board.qemu.machine, ...args, '-kernel', elf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`QEMU did not report its pty within 10 s: ${text.slice(-500)}`)); }, 10_000);
    const onText = (d: Buffer) => {
      text += d.toString();
      writeFileSync(log, text);
      const m = /char device redirected to (\/dev\/\S+)/.exec(text);
      if (m) { clearTimeout(timer); resolve({ child, pty: m[1] }); }
    };
    child.stdout!.on('data', onText);
    child.stderr!.on('data', onText);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${board.qemu.binary}: ${e.message}; install qemu-system-arm`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`QEMU exited (${code}) before reporting its pty: ${text.slice(-500)}`)); });
  });
}

async function stopQemu(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 3000);
  await exited;
  clearTimeout(t);
}

/** Request/reply over the framed link, with retries. */
class HilLink {
  private waiting?: { type: number; seq: number; resolve: (f: Frame) => void };
  private readonly reader: FrameReader;
  retries = 0;
  constructor(private readonly port: Transport) {
    this.reader = new FrameReader((f) => {
      const w = this.waiting;
      if (w && f.type === (w.type | HIL.REPLY) && f.seq === w.seq) { this.waiting = undefined; w.resolve(f); }
    }, 4096);
    port.onData((c) => this.reader.push(c));
  }
  get badFrames(): number { return this.reader.bad; }
  async request(type: number, seq: number, payload: Uint8Array, timeoutMs: number, attempts: number, what: string): Promise<Frame> {
    const wire = encodeFrame({ type, seq, payload });
    for (let a = 0; a < attempts; a++) {
      if (this.port.closed) fail(`${this.port.path}: the serial line closed during ${what}`);
      if (a > 0) this.retries++;
      const got = new Promise<Frame>((resolve) => { this.waiting = { type, seq, resolve }; });
      // a leading 0x00 ends any partial frame the board may hold (line noise, a cut frame)
      await this.port.write(Uint8Array.of(0, ...wire));
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([got, new Promise<undefined>((res) => { timer = setTimeout(() => res(undefined), timeoutMs); })]);
      clearTimeout(timer);
      if (r) return r;
      this.waiting = undefined;
    }
    return fail(`${this.port.path}: no answer to ${what} after ${attempts} attempts; is the board running the MPC HIL firmware (tinyforge mpc hil builds and starts it when --port is not given)?`);
  }
}

const f32le = (v: ArrayLike<number>) => { const b = new Uint8Array(4 * v.length), dv = new DataView(b.buffer); for (let i = 0; i < v.length; i++) dv.setFloat32(4 * i, v[i], true); return b; };

export async function runHil(plan: MpcPlan, opts: HilOptions = {}): Promise<HilResult> {
  if (plan.p !== 1 || plan.m !== 1 || plan.s !== 0) fail('mpc hil closes the loop on the simulated plants: the spec needs 1 control, 1 output and no extra sensors');
  const log = opts.log ?? (() => {});
  const plantName = opts.plant ?? 'msd', refName = opts.reference ?? 'waypoints';
  const ticks = opts.ticks ?? 200;
  if (!Number.isInteger(ticks) || ticks < 1 || ticks > 65535) fail(`--ticks must be an integer in [1, 65535], got ${ticks}`);
  const timeoutMs = opts.replyTimeoutMs ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'tinyforge-mpc-hil-'));
  let child: ChildProcess | undefined;
  let port: Transport | undefined;
  try {
    let portPath = opts.port, build: Awaited<ReturnType<typeof buildHilFirmware>> | undefined;
    if (!portPath) {
      log('building the HIL firmware (mps2-an386) ...');
      build = await buildHilFirmware(plan, dir);
      const q = await startQemu(build.elf, join(dir, 'qemu.log'));
      child = q.child;
      if (child.pid) opts.onQemu?.(child.pid);
      portPath = q.pty;
      log(`QEMU mps2-an386 running, UART on ${portPath}`);
    }
    port = await openSerial(portPath);
    const link = new HilLink(port);
    // HELLO until the board answers (QEMU notices a new pty client only about once a second)
    const hello = await link.request(HIL.HELLO, 0, new Uint8Array(0), 300, 60, 'HELLO');
    const hv = new DataView(hello.payload.buffer, hello.payload.byteOffset, hello.payload.byteLength);
    if (hello.payload.length < 16 || hv.getUint32(0, true) !== HIL.MAGIC) fail(`${portPath}: the board answered HELLO but is not running the MPC HIL firmware`);
    const [ms, rs, cs] = [hv.getUint16(4, true), hv.getUint16(6, true), hv.getUint16(8, true)];
    const name = new TextDecoder().decode(hello.payload.subarray(16));
    if (ms !== plan.p + plan.s || rs !== plan.refSize || cs !== plan.m || name !== plan.name.slice(0, 48)) {
      fail(`${portPath}: the board runs controller '${name}' (${ms} measurements, ${rs} reference values, ${cs} controls), not '${plan.name}' (${plan.p + plan.s}, ${plan.refSize}, ${plan.m})`);
    }
    await link.request(HIL.RESET, 0, new Uint8Array(0), timeoutMs, 5, 'RESET');

    const ctl = await loadController(await emitMpcWasm(plan));
    ctl.reset();
    const plant = makePlant(plantName, 1 / plan.rateHz);
    const ref = makeReference(refName, ticks, plant.dt, plant.yRange, 21);
    plant.reset();
    const trace = { r: [] as number[], y: [] as number[], u: [] as number[], uWasm: [] as number[] };
    const ins: number[] = [];
    let identical = 0, maxAbsDiff = 0, se = 0, late = 0;
    const r = new Float32Array(plan.refSize);
    log(`closing the loop: ${ticks} ticks at ${plan.rateHz} Hz on the ${plantName} plant, ${refName} reference ...`);
    for (let t = 0; t < ticks; t++) {
      const y = plant.output();
      const m = Float32Array.of(y);
      fillReference(plan, ref, t, r);
      const reply = await link.request(HIL.STEP, t & 0xffff, new Uint8Array([...f32le(m), ...f32le(r)]), timeoutMs, 5, `STEP ${t}`);
      const dv = new DataView(reply.payload.buffer, reply.payload.byteOffset, reply.payload.byteLength);
      if (reply.payload.length !== 12 + 4 * plan.m) fail(`${portPath}: malformed STEP reply (${reply.payload.length} bytes)`);
      ins.push(dv.getUint32(4, true));
      if (dv.getUint32(8, true) & 1) late++;
      const uDev = new Float32Array(plan.m);
      for (let c = 0; c < plan.m; c++) uDev[c] = dv.getFloat32(12 + 4 * c, true);
      const uW = ctl.step(m, r);
      const same = new Uint32Array(uDev.buffer).every((b, i) => b === new Uint32Array(uW.buffer)[i]);
      if (same) identical++;
      for (let c = 0; c < plan.m; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(uDev[c] - uW[c]));
      trace.r.push(ref[t]); trace.y.push(y); trace.u.push(uDev[0]); trace.uWasm.push(uW[0]);
      se += (y - ref[t]) ** 2;
      plant.step(uDev[0]); // the board's u closes the loop
    }
    const end = await link.request(HIL.END, 0, new Uint8Array(0), timeoutMs, 3, 'END');
    const ev = new DataView(end.payload.buffer, end.payload.byteOffset, end.payload.byteLength);
    const boardLate = ev.getUint32(0, true), overruns = ev.getUint32(4, true), stackBytes = ev.getUint32(8, true);

    // the same reference with the tuned PID, for comparison
    const gains = tunePid(plant, Math.min(ticks, Math.round(12 / plant.dt)));
    const pid = new Pid(gains, plant.dt, plant.uMin, plant.uMax);
    plant.reset();
    const pidY: number[] = [], pidU: number[] = [];
    let pse = 0;
    for (let t = 0; t < ticks; t++) { const y = plant.output(); const u = pid.step(y, ref[t]); pidY.push(y); pidU.push(u); pse += (y - ref[t]) ** 2; plant.step(u); }
    const rmse = Math.sqrt(se / ticks), pidRmse = Math.sqrt(pse / ticks);
    if (opts.plot) {
      writeFileSync(opts.plot, plotSvg([{
        title: `${refName}: RMSE MPC on the board ${rmse.toPrecision(3)}, PID ${pidRmse.toPrecision(3)}; ${identical}/${ticks} u bit-identical with WASM`, dt: plant.dt,
        panels: [
          { title: 'output', yLabel: plantName === 'msd' ? 'position (m)' : 'bend angle (rad)', series: [
            { label: 'reference', color: '#000', values: trace.r, dash: '5 3' },
            { label: 'MPC (board, HIL)', color: '#1f77b4', values: trace.y },
            { label: 'PID', color: '#ff7f0e', values: pidY }] },
          { title: 'input', yLabel: plantName === 'msd' ? 'force (N)' : 'motor command', series: [
            { label: 'MPC (board)', color: '#1f77b4', values: trace.u },
            { label: 'PID', color: '#ff7f0e', values: pidU }] },
        ],
      }], `tinyforge MPC hardware-in-the-loop: QEMU mps2-an386 over the serial port, ${plan.int8 ? 'int8' : 'float32'} forward model, ${plantName} plant`));
    }
    const sorted = [...ins].sort((a, b) => a - b);
    return {
      plant: plantName, reference: refName, ticks, dt: plant.dt, port: portPath, startedQemu: !!child,
      forwardModel: plan.int8 ? 'int8' : 'float32',
      identical, maxAbsDiff, rmse, pidRmse,
      instructionsPerStep: { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] },
      stepsPerSecondAt180MHz: ASSUMED_CLOCK_HZ / sorted[sorted.length - 1],
      lateTicks: Math.max(late, boardLate), overruns, stackBytes, retries: link.retries, badFrames: link.badFrames,
      ...(build ? { controllerFlashBytes: build.controllerFlashBytes, firmwareFlashBytes: build.firmwareFlashBytes, flashPercentOf1MB: (100 * build.controllerFlashBytes) / FLASH_BYTES } : {}),
      trace,
    };
  } finally {
    if (port) await port.close().catch(() => {});
    if (child) await stopQemu(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
