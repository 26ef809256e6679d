/**
 * Flashing a compiled model through the resident loader, and running check vectors on the board.
 *
 * flashModel: build the image for the board's inactive slot -> erase -> write (blocks of the board's
 * max data size; all-0xFF blocks are skipped, erase already left them so) -> CRC of the slot read back ->
 * commit (the board recomputes the CRC and checks the image before switching) -> hello shows the new
 * model active. A line failure (no answer after all retries, port gone) restarts the session from a new
 * hello, up to `sessions` times; what the board ends up with is always either the old or the new model.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fail, TinyforgeError } from '../errors.js';
import { readSafetensors, toFloat32, toInt8 } from '../io/safetensors.js';
import { quantizeInputs } from '../backends/c/host.js';
import { openCompiled, type CompiledModel } from '../run.js';
import { DEFAULT_BOARD, loadBoard, type BoardProfile } from './boards.js';
import { runningBoard } from './emulator.js';
import { buildModelImage, checkCompiledFor, type ModelImage } from './image.js';
import { inactiveSlot, type BoardInfo } from './protocol.js';
import { LinkError, LoaderSession, newStats, type WireStats } from './session.js';
import { openSerial, type SerialOptions, type Transport } from './transport.js';

export interface ConnectOptions extends SerialOptions {
  /** expected board kind: refuse another one */
  board?: string;
  /** how long to keep saying hello (ms) */
  connectMs?: number;
  timeoutMs?: number;
  attempts?: number;
  stats?: WireStats;
}

export interface Connection {
  transport: Transport;
  session: LoaderSession;
  info: BoardInfo;
  profile: BoardProfile;
  close(): Promise<void>;
}

/** The ports to use: the given ones, else the emulated board started by `tinyforge board start`. */
export function resolvePorts(ports: string[] | undefined, board?: string): string[] {
  if (ports && ports.length) return ports;
  const b = board ?? DEFAULT_BOARD;
  const r = runningBoard(b);
  if (r) return [r.pty];
  let profile: BoardProfile | undefined;
  try { profile = loadBoard(b); } catch { /* reported below */ }
  if (profile && !profile.qemu) fail(`board ${b} is a real board: pass --port (e.g. --port /dev/ttyACM0)`);
  return fail(`no --port given and no emulated ${b} board is running; start one with 'tinyforge board start' or pass --port PATH`);
}

export async function connect(path: string, o: ConnectOptions = {}): Promise<Connection> {
  const transport = await openSerial(path, o);
  const session = new LoaderSession(transport, { timeoutMs: o.timeoutMs, attempts: o.attempts, stats: o.stats });
  try {
    const info = await session.connect(o.connectMs ?? 6000);
    if (o.board && info.boardId !== o.board) fail(`${path}: the board there is a ${info.boardId}, not a ${o.board}; pass --board ${info.boardId} or pick the right port`);
    let profile: BoardProfile;
    try { profile = loadBoard(info.boardId); } catch { fail(`${path}: the board reports '${info.boardId}', which this tinyforge has no profile for`); }
    return { transport, session, info, profile, close: () => transport.close() };
  } catch (e) {
    await transport.close();
    throw e;
  }
}

export interface FlashReport {
  port: string;
  board: string;
  loaderVersion: string;
  model: string;
  slot: number;
  slotAddr: number;
  imageBytes: number;
  /** bytes actually sent in write requests (all-0xFF blocks are skipped) */
  writtenBytes: number;
  crc: string;
  hash: string;
  commitSeq: number;
  /** wall time of erase + write + commit (ms), and of the verify step */
  flashMs: number;
  verifyMs?: number;
  /** image bytes per second over flash + verify */
  bytesPerSec: number;
  /** session restarts after line failures (0 = first try) */
  restarts: number;
  wire: WireStats;
  /** payload bytes / bytes on the wire, both directions */
  efficiency: number;
  verify?: VerifyReport;
}

export interface FlashOptions extends ConnectOptions {
  verify?: boolean;
  /** session restarts allowed after line failures */
  sessions?: number;
  onProgress?: (done: number, total: number) => void;
  log?: (s: string) => void;
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function transfer(c: Connection, image: ModelImage, slot: number, onProgress?: (d: number, t: number) => void): Promise<{ written: number; commitSeq: number }> {
  const { session, info } = c;
  const base = info.slots[slot].addr;
  const len = image.bytes.length;
  const eraseLen = Math.ceil(len / info.eraseUnit) * info.eraseUnit;
  const eraseChunk = Math.max(info.eraseUnit, 64 * 1024);
  for (let off = 0; off < eraseLen; off += eraseChunk) await session.erase(base + off, Math.min(eraseChunk, eraseLen - off));
  let written = 0;
  onProgress?.(0, len);
  // Blocks of the board's max data size on a clean line; a write that needed retransmission halves the
  // block (down to 256 bytes: a noisy line then loses less per hit), 8 clean writes double it again.
  let block = info.maxData, clean = 0;
  for (let off = 0; off < len;) {
    const data = image.bytes.subarray(off, Math.min(len, off + block));
    if (!data.every((b) => b === 0xff)) {
      const before = session.stats.retransmits;
      await session.write(base + off, data);
      written += data.length;
      if (session.stats.retransmits > before) { block = Math.max(256, block >> 1); clean = 0; }
      else if (++clean >= 8 && block < info.maxData) { block = Math.min(info.maxData, block << 1); clean = 0; }
    }
    off += data.length;
    onProgress?.(off, len);
  }
  const crc = await session.crc(base, len);
  if (crc !== image.crc) throw new LinkError(`${c.transport.path}: the slot reads back CRC ${hex32(crc)}, the image has ${hex32(image.crc)}`);
  const commitSeq = await session.commit(slot, len, image.crc, image.hash, image.name);
  return { written, commitSeq };
}

/** Flashes the compiled model in `compiledDir` onto the board at `port` (see the file comment). */
export async function flashModel(port: string, compiledDir: string, o: FlashOptions = {}): Promise<FlashReport> {
  const model = openCompiled(compiledDir);
  checkCompiledFor(compiledSources(model), loadBoard(o.board ?? DEFAULT_BOARD)); // before any byte goes out
  const stats = o.stats ?? newStats();
  const sessions = o.sessions ?? 3;
  const t0 = performance.now();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < sessions; attempt++) {
    let c: Connection | undefined;
    try {
      try {
        c = await connect(port, { ...o, stats });
      } catch (e) {
        if (attempt === 0) throw e instanceof LinkError ? new TinyforgeError(e.message) : e; // never answered: nothing to retry
        throw e;
      }
      const image = await imageFor(model, c);
      const slot = inactiveSlot(c.info);
      let result: { written: number; commitSeq: number };
      const a = c.info.active;
      if (attempt > 0 && a && a.crc === image.crc && a.size === image.bytes.length && a.hash === Buffer.from(image.hash).toString('hex')) {
        // the previous session committed but lost the answer: done
        result = { written: 0, commitSeq: a.commitSeq };
      } else {
        if (attempt > 0) o.log?.(`${port}: restarting the flash (${lastError?.message})`);
        result = await transfer(c, image, slot, o.onProgress);
      }
      const after = await c.session.hello();
      const act = after.active;
      if (!act || act.crc !== image.crc || act.size !== image.bytes.length) throw new TinyforgeError(`${port}: the commit did not take: the board's active model is ${act ? `${act.name} crc ${hex32(act.crc)}` : 'none'}`);
      const flashMs = performance.now() - t0;
      let verify: VerifyReport | undefined;
      if (o.verify) verify = await verifyOnBoard(c, loadVectors(join(compiledDir, 'check.safetensors'), model));
      const totalMs = flashMs + (verify?.ms ?? 0);
      return {
        port, board: after.boardId, loaderVersion: after.loaderVersion, model: image.name, slot: act.slot, slotAddr: after.slots[act.slot].addr,
        imageBytes: image.bytes.length, writtenBytes: result.written, crc: hex32(image.crc), hash: act.hash, commitSeq: act.commitSeq,
        flashMs, ...(verify ? { verifyMs: verify.ms } : {}), bytesPerSec: image.bytes.length / (totalMs / 1000), restarts: attempt,
        wire: { ...stats }, efficiency: efficiency(stats), ...(verify ? { verify } : {}),
      };
    } catch (e) {
      if (!(e instanceof LinkError)) throw e;
      lastError = e;
      await sleep(200);
    } finally {
      await c?.close();
    }
  }
  throw new LinkError(`${port}: flash failed after ${sessions} session(s): ${lastError?.message}; the board keeps its previous model`);
}

export function efficiency(s: WireStats): number {
  const wire = s.bytesOut + s.bytesIn;
  return wire ? s.payload / wire : 0;
}

function compiledSources(m: CompiledModel) {
  return { dir: m.dir, target: m.manifest.target, name: m.program.name };
}

async function imageFor(model: CompiledModel, c: Connection): Promise<ModelImage> {
  const slot = inactiveSlot(c.info);
  return buildModelImage(compiledSources(model), c.profile, {
    slotAddr: c.info.slots[slot].addr, slotSize: c.info.slots[slot].size, modelRamAddr: c.info.modelRam.addr, modelRamSize: c.info.modelRam.size,
  });
}

/** Builds the image a board would get (for size checks without a board). */
export async function imageForBoard(compiledDir: string, board: string, slot = 0): Promise<ModelImage> {
  const model = openCompiled(compiledDir);
  const profile = loadBoard(board);
  const l = profile.layout;
  if (!l) fail(`board ${board} has no layout in loader.json`);
  return buildModelImage(compiledSources(model), profile, { slotAddr: l.slots[slot].addr, slotSize: l.slots[slot].size, modelRamAddr: l.modelRam.addr, modelRamSize: l.modelRam.size });
}

// ---- check vectors ----

export interface Vectors {
  file: string;
  inputs: Float32Array[];
  expected?: Float32Array[];
  /** int8 API: quantized inputs and expected quantized outputs */
  inputsQ?: Int8Array[];
  expectedQ?: Int8Array[];
}

export interface VerifyReport {
  /** the active slot's CRC read back equals the committed one */
  crcOk: boolean;
  model: string;
  samples: number;
  /** float API outputs identical bit for bit / compared */
  floatBitExact: number;
  floatCompared: number;
  floatMaxAbsDiff: number;
  int8BitExact?: number;
  int8Compared?: number;
  instructions: number[];
  instructionsInt8?: number[];
  ok: boolean;
  ms: number;
}

/**
 * Reads check vectors: `input` [N, ...] and optionally `output` (float32), `output_q` (int8, with
 * `input_q` or a compiled model to quantize the inputs).
 */
export function loadVectors(file: string, model?: CompiledModel): Vectors {
  if (!existsSync(file)) fail(`${file}: no such vectors file`);
  const st = readSafetensors(file);
  const t = (n: string) => st.tensors.get(n);
  const input = t('input') ?? (model ? t(model.program.input.name) : undefined);
  if (!input) fail(`${file}: no 'input' tensor (found: ${[...st.tensors.keys()].join(', ')})`);
  const split = <T extends Float32Array | Int8Array>(a: T, n: number): T[] => {
    const per = a.length / n;
    return Array.from({ length: n }, (_, i) => a.slice(i * per, (i + 1) * per) as T);
  };
  const n = input.shape.length > 1 ? input.shape[0] : 1;
  const v: Vectors = { file, inputs: split(toFloat32(input, 'input', file), n) };
  const out = t('output') ?? (model ? t(model.program.output.name) : undefined);
  if (out) v.expected = split(toFloat32(out, 'output', file), n);
  const oq = t('output_q') ?? (model ? t(`${model.program.output.name}_q`) : undefined);
  if (oq) {
    v.expectedQ = split(toInt8(oq, 'output_q', file), n);
    const iq = t('input_q');
    if (iq) v.inputsQ = split(toInt8(iq, 'input_q', file), n);
    else if (model) v.inputsQ = quantizeInputs(model.program, v.inputs);
  }
  return v;
}

/** Runs the vectors on the board's active model and compares bit for bit. */
export async function verifyOnBoard(c: Connection, v: Vectors): Promise<VerifyReport> {
  const t0 = performance.now();
  const { session } = c;
  const info = await session.hello();
  const a = info.active;
  if (!a) fail(`${c.transport.path}: no model on the board; flash one with 'tinyforge flash <compiled-dir>'`);
  const crcOk = (await session.crc(info.slots[a.slot].addr, a.size)) === a.crc;
  if (v.inputs[0].length !== a.inSize) fail(`${v.file}: vectors have ${v.inputs[0].length} inputs per sample, the model on the board (${a.name}) takes ${a.inSize}`);
  // one sample per request: the board starts every request from the model's initial state, and check vectors
  // are independent samples (each from the initial state), which matters for stateful models (SVDF / LSTM)
  const instructions: number[] = [];
  const outs: Float32Array[] = [];
  const bytes = (x: ArrayBufferView) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  for (const x of v.inputs) {
    const r = await session.run('float32', [bytes(x)], a.outSize * 4);
    for (const s of r) { instructions.push(s.instructions); outs.push(new Float32Array(s.out.buffer.slice(s.out.byteOffset, s.out.byteOffset + s.out.byteLength))); }
  }
  let floatBitExact = 0, floatCompared = 0, floatMaxAbsDiff = 0;
  if (v.expected) {
    v.expected.forEach((e, i) => {
      const got = outs[i];
      const eb = new Uint32Array(e.buffer, e.byteOffset, e.length), gb = new Uint32Array(got.buffer, got.byteOffset, got.length);
      for (let k = 0; k < e.length; k++) {
        floatCompared++;
        if (eb[k] === gb[k]) floatBitExact++;
        floatMaxAbsDiff = Math.max(floatMaxAbsDiff, Math.abs(e[k] - got[k]));
      }
    });
  }
  let int8: { int8BitExact: number; int8Compared: number; instructionsInt8: number[] } | undefined;
  if (a.int8 && v.inputsQ && v.expectedQ) {
    const instr: number[] = [];
    let exact = 0, compared = 0, idx = 0;
    for (const x of v.inputsQ) {
      const r = await session.run('int8', [bytes(x)], a.int8OutSize);
      for (const s of r) {
        instr.push(s.instructions);
        const want = v.expectedQ[idx++];
        const got = new Int8Array(s.out.buffer, s.out.byteOffset, s.out.byteLength);
        for (let k = 0; k < want.length; k++) { compared++; if (want[k] === got[k]) exact++; }
      }
    }
    int8 = { int8BitExact: exact, int8Compared: compared, instructionsInt8: instr };
  }
  // int8 models: bit for bit everywhere. float32 models: the board's libm (newlib) may differ from the
  // oracle in the last ulp of tanh/exp; accept 1e-5 relative there and report how many were bit-exact.
  const floatOk = a.int8 ? floatBitExact === floatCompared : v.expected ? v.expected.every((e, i) => e.every((x, k) => Math.abs(x - outs[i][k]) <= 1e-5 * Math.max(1, Math.abs(x)))) : true;
  const ok = crcOk && floatOk && (!int8 || int8.int8BitExact === int8.int8Compared);
  return {
    crcOk, model: a.name, samples: v.inputs.length, floatBitExact, floatCompared, floatMaxAbsDiff,
    ...(int8 ?? {}), instructions, ok, ms: performance.now() - t0,
  };
}

/** `tinyforge verify`: runs a vectors file on whatever model the board at `port` has. */
export async function verifyPort(port: string, vectorsFile: string, o: ConnectOptions & { compiled?: string } = {}): Promise<VerifyReport & { port: string; board: string }> {
  const model = o.compiled ? openCompiled(o.compiled) : undefined;
  const v = loadVectors(vectorsFile, model);
  const c = await connect(port, o);
  try {
    return { port, board: c.info.boardId, ...(await verifyOnBoard(c, v)) };
  } finally {
    await c.close();
  }
}
