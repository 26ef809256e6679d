/**
 * WASM controller: links the prebuilt kernels (build/kernels.wasm, which holds runtime/kernels/mpc.ts) with one
 * controller plan into a self-contained module: the config block, weights, spec constants, state and scratch as
 * data at fixed addresses, and exports
 *   step(): i32     one control tick (measurement/reference at their addresses -> u), status bits
 *   reset()         forget the history (the next step re-initializes from its measurement)
 *   predict()       forward model on the predict-input buffer -> predict-output buffer
 * plus a `tinyforge-mpc` custom section with the addresses (runtime/controller.ts reads it).
 */
import binaryen from 'binaryen';
import { fail } from '../errors.js';
import { compileKernels, kernelsWasm } from '../backends/wasm/kernels.js';
import type { Expr, WasmEmitContext } from '../backends/wasm/context.js';
import { emitDenseS8Wasm } from '../ops/dense/wasm.js';
import { emitDequantizeWasm, emitQuantizeWasm } from '../ops/quantize/wasm.js';
import type { BufferRef, Program, Step } from '../plan/program.js';
import { ACT_CODE, type MpcPlan } from './spec.js';
import type { TinyforgeMpcMetadata } from '../../runtime/controller.js';

export const MPC_METADATA_SECTION = 'tinyforge-mpc';
const FEATURES = binaryen.Features.SIMD128 | binaryen.Features.SignExt | binaryen.Features.MutableGlobals
  | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory
  | ((binaryen.Features as unknown as Record<string, number>).BulkMemoryOpt ?? 0);
const PAGE = 65536;
const CONFIG_WORDS = 55;

/** The version runtime/kernels/mpc.ts reports (mpc_kernel_version); a stale build/kernels.wasm is rebuilt in memory. */
export const MPC_KERNEL_VERSION = 4;

/** int8 model step table (runtime/kernels/mpc.ts): kernel codes and words per step. */
const KERNEL_CODE: Record<string, number> = { quantize: 0, dequantize: 1, dense_i8_n8: 2, dense_i8_n16: 3, dense_i8_g: 4 };
const MSTEP_WORDS = 14;

interface RecordedCall { kernel: string; args: number[] }

/**
 * The int8 model's kernel calls, exactly as the WASM backend emits them: each step goes through its op's own
 * WASM emitter (compiler/ops/<op>/wasm.ts) with a context that records the kernel and its constant arguments
 * (f32 arguments as their bits) instead of building code; constants land in the controller's data region.
 */
function recordInt8Model(program: Program, addr: (ref: BufferRef) => number, data: (bytes: Uint8Array) => number): RecordedCall[] {
  const values: number[] = [];
  const calls: RecordedCall[] = [];
  const bits = new DataView(new ArrayBuffer(4));
  const ctx: WasmEmitContext = {
    addr, data: (bytes) => data(bytes),
    scratch: () => fail('internal error: an int8 MPC forward model step asked for kernel scratch'),
    i32: (v) => values.push(v | 0) - 1,
    f32: (v) => { bits.setFloat32(0, v, true); return values.push(bits.getInt32(0, true)) - 1; },
    f64: () => fail('internal error: an int8 MPC forward model step passes an f64'),
    nop: () => -1,
    supports: (kernel) => kernel in KERNEL_CODE,
    call: (kernel, args: Expr[]) => {
      if (!(kernel in KERNEL_CODE)) fail(`int8 MPC forward model: kernel '${kernel}' is not supported by the MPC controller`);
      if (args.length > MSTEP_WORDS - 1) fail(`internal error: kernel '${kernel}' takes ${args.length} arguments`);
      calls.push({ kernel, args: args.map((a) => values[a]) });
      return calls.length - 1;
    },
  };
  for (const step of program.steps as Step[]) {
    if (step.op === 'quantize') emitQuantizeWasm(step, ctx);
    else if (step.op === 'dequantize') emitDequantizeWasm(step, ctx);
    else if (step.op === 'dense_s8') emitDenseS8Wasm(step, ctx);
    else fail(`int8 MPC forward model: step '${step.name}' (${step.op}) is not supported`);
  }
  return calls;
}

let rebuilt: Promise<Uint8Array> | undefined;

/** Kernel module with the current MPC kernel. */
async function mpcKernels(): Promise<Uint8Array> {
  const k = await kernelsWasm();
  const inst = await WebAssembly.instantiate(k as Uint8Array<ArrayBuffer>, {}).catch(() => undefined);
  const version = (inst?.instance.exports as Record<string, unknown> | undefined)?.mpc_kernel_version;
  if (typeof version === 'function' && version() === MPC_KERNEL_VERSION) return k;
  rebuilt ??= compileKernels();
  return rebuilt;
}

interface Layout { bytes: Uint8Array; view: DataView; at: number }

export async function emitMpcWasm(plan: MpcPlan): Promise<Uint8Array> {
  const mod = binaryen.readBinary(await mpcKernels());
  try {
    mod.setFeatures(FEATURES);
    return link(mod, plan);
  } finally {
    mod.dispose();
  }
}

function link(mod: binaryen.Module, plan: MpcPlan): Uint8Array {
  const kernelFn = new Map<string, string>();
  for (let i = mod.getNumExports() - 1; i >= 0; i--) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (e.kind === binaryen.ExternalFunction) kernelFn.set(e.name, e.value);
    mod.removeExport(e.name);
  }
  const fn = (name: string) => kernelFn.get(name) ?? fail(`build/kernels.wasm has no kernel '${name}'; rebuild with npm run build`);
  const segments: Array<{ offset: number; data: Uint8Array }> = [];
  let end = 0;
  const m_ = mod as unknown as { getNumDataSegments(): number; getDataSegmentInfo(ref: number): { offset: number | null; data: ArrayBuffer; passive: boolean } };
  for (let i = 0; i < m_.getNumDataSegments(); i++) {
    const info = m_.getDataSegmentInfo(mod.getDataSegmentByIndex(i));
    if (info.passive || info.offset === null) fail('build/kernels.wasm has a passive data segment; rebuild the kernels with npm run build');
    segments.push({ offset: info.offset, data: new Uint8Array(info.data) });
    end = Math.max(end, info.offset + info.data.byteLength);
  }

  // One contiguous region holds everything the controller touches; all of it is initialized data.
  const base = Math.ceil(Math.max(end, 1024) / 64) * 64;
  const { m, p, s, nIn, n, N2, HU, HY, maxWidth: W, layers } = plan;
  const L: Layout = { bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), at: 0 };
  const chunks: Array<{ off: number; write: (v: DataView, off: number) => void; bytes: number }> = [];
  const alloc = (bytes: number, write: (v: DataView, off: number) => void = () => {}) => {
    const off = L.at;
    chunks.push({ off, write, bytes });
    L.at = Math.ceil((L.at + Math.max(bytes, 4)) / 16) * 16;
    return base + off;
  };
  const f32s = (a: ArrayLike<number>) => alloc(a.length * 4, (v, o) => { for (let i = 0; i < a.length; i++) v.setFloat32(o + 4 * i, a[i], true); });
  const i32s = (a: ArrayLike<number>) => alloc(a.length * 4, (v, o) => { for (let i = 0; i < a.length; i++) v.setInt32(o + 4 * i, a[i], true); });
  const zeros = (count: number) => alloc(count * 4);

  const cfg = zeros(CONFIG_WORDS);
  const measurement = zeros(p + s), reference = zeros(plan.refSize), uOut = zeros(m);
  const predictIn = zeros(nIn), predictOut = zeros(p);
  const xb = zeros((layers.length + 1) * W);
  const outp = xb + 4 * layers.length * W;
  let stepTable = 0, stepCount = 0;
  if (plan.int8) {
    // the model's input is the controller's x buffer, its output the next W floats; the arena has 16 bytes of slack
    const prog = plan.int8;
    const arena = zeros(Math.ceil((prog.arenaBytes + 16) / 4));
    const addr = (ref: BufferRef) => (ref.space === 'input' ? xb : ref.space === 'output' ? outp : arena) + ref.offset;
    const calls = recordInt8Model(prog, addr, (bytes) => alloc(bytes.length, (v, o) => { new Uint8Array(v.buffer, o, bytes.length).set(bytes); }));
    const words = new Int32Array(calls.length * MSTEP_WORDS);
    calls.forEach((c, k) => { words[k * MSTEP_WORDS] = KERNEL_CODE[c.kernel]; c.args.forEach((a, j) => { words[k * MSTEP_WORDS + 1 + j] = a; }); });
    stepTable = i32s(words); stepCount = calls.length;
  }
  const layerTable: number[] = [];
  for (const l of layers) layerTable.push(l.inF, l.outF, ACT_CODE[l.act], f32s(l.w), f32s(l.b));
  const words: Array<[number, number, 'i' | 'f']> = [];
  const set = (k: number, v: number, t: 'i' | 'f' = 'i') => words.push([k, v, t]);
  set(0, layers.length); set(1, m); set(2, p); set(3, s); set(4, nIn); set(5, plan.N1); set(6, N2); set(7, plan.Nu); set(8, n);
  set(9, plan.iterations); set(10, plan.mode === 'exact' ? 1 : 0); set(11, plan.clamp || plan.barrier > 0 ? 1 : 0);
  set(12, plan.dyn.length); set(13, W); set(14, HU); set(15, HY);
  set(16, plan.epsilon, 'f'); set(17, plan.barrier, 'f'); set(18, plan.maxStep, 'f');
  set(19, i32s(layerTable)); set(20, i32s(plan.layout)); set(21, i32s(plan.dyn.length ? plan.dyn : [0]));
  set(22, f32s(plan.Q)); set(23, f32s(plan.lambda)); set(24, f32s(plan.half)); set(25, f32s(plan.center));
  set(26, f32s(plan.fourOverR)); set(27, f32s(plan.clo)); set(28, f32s(plan.chi)); set(29, f32s(plan.uInit));
  set(30, zeros(n)); set(31, zeros(HU * m)); set(32, zeros(HY * p)); set(33, zeros(1)); set(34, zeros(Math.max(1, s)));
  set(35, zeros(N2 * p)); set(36, zeros(N2 * p * n)); set(37, xb); set(38, zeros((layers.length + 1) * W * n));
  set(39, zeros(n)); set(40, zeros(n * n)); set(41, zeros(n)); set(42, zeros(n * n)); set(43, zeros(n)); set(44, zeros(n)); set(45, zeros(n));
  set(46, zeros(plan.refSize)); set(47, measurement); set(48, reference); set(49, uOut); set(50, plan.preview ? 1 : 0);
  set(51, plan.int8 ? 1 : 0); set(52, stepTable || zeros(1)); set(53, stepCount); set(54, outp);

  const region = new Uint8Array(L.at);
  const view = new DataView(region.buffer);
  for (const c of chunks) c.write(view, c.off);
  for (const [k, v, t] of words) {
    const o = cfg - base + 4 * k;
    if (t === 'f') view.setFloat32(o, v, true); else view.setInt32(o, v, true);
  }
  segments.push({ offset: base, data: region });
  const memoryBytes = base + region.byteLength + 16;

  const c = mod.i32.const(cfg);
  mod.addFunction('step', binaryen.none, binaryen.i32, [], mod.call(fn('mpc_step'), [c], binaryen.i32));
  mod.addFunction('reset', binaryen.none, binaryen.none, [], mod.call(fn('mpc_reset'), [mod.i32.const(cfg)], binaryen.none));
  mod.addFunction('predict', binaryen.none, binaryen.none, [],
    mod.call(fn('mpc_predict'), [mod.i32.const(cfg), mod.i32.const(predictIn), mod.i32.const(predictOut)], binaryen.none));
  for (const e of ['step', 'reset', 'predict']) mod.addFunctionExport(e, e);

  const meta: TinyforgeMpcMetadata = {
    format: 'tinyforge-mpc/1', name: plan.name,
    controls: m, outputs: p, sensors: s, modelInputs: nIn, referenceSize: plan.refSize,
    horizon: { N1: plan.N1, N2, Nu: plan.Nu }, iterations: plan.iterations, derivatives: plan.mode, rateHz: plan.rateHz,
    forwardModel: plan.int8 ? 'int8' : 'float32',
    addresses: { measurement, reference, u: uOut, predictIn, predictOut },
    memoryBytes,
  };
  const pages = Math.max(1, Math.ceil(memoryBytes / PAGE));
  mod.setMemory(pages, pages, 'memory', segments.map((sg) => ({ offset: mod.i32.const(sg.offset), data: sg.data, passive: false })));
  mod.addCustomSection(MPC_METADATA_SECTION, new TextEncoder().encode(JSON.stringify(meta)));
  if (!mod.validate()) fail(`internal error: the MPC WASM module for ${plan.name} does not validate`);
  binaryen.setOptimizeLevel(3);
  binaryen.setShrinkLevel(1);
  mod.optimize();
  if (!mod.validate()) fail(`internal error: the optimized MPC WASM module for ${plan.name} does not validate`);
  return mod.emitBinary();
}
