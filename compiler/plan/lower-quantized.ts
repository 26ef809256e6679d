/**
 * Lowering of pre-quantized graphs (TensorFlow Lite imports): every value keeps the dtype and
 * quantization the file gives it, every node maps to the steps its op folder registers
 * (registerQuantizedLowering), and nothing is calibrated.
 *
 * The program's caller-facing IO stays float32 (the `input` / `output` spaces), as for every other
 * program: an int8 / int16 graph input is quantized with the file's input quantization by a boundary
 * step, the graph output dequantized with the file's output quantization. The integer tensors at the
 * boundary are `intInputs` / `intOutput`; `runQuantizedProgram` feeds and reads them directly (this is
 * how TFLM's integer test vectors are run, and what `tinyforge run` with integer CSVs uses).
 */
import { fail } from '../errors.js';
import type { ProgramMemory } from '../exec/memory.js';
import { ProgramMemory as Memory } from '../exec/memory.js';
import type { Graph } from '../ir/graph.js';
import '../ops/all.js';
import { stepExecutor } from '../ops/registry.js';
import {
  extBytes, quantizedLowering, viewAny, type ExtDType, type QBufferRef, type QLowerCtx, type TensorInfo, type TfliteMeta, type TflNode,
} from '../ops/tflite.js';
import { planArena, type ArenaRequest } from './memory.js';
import type { IOSpec, Program, Step } from './program.js';
import { elementCount, isResetStep } from './program.js';

import type { ConvF32Step, ConvIntStep } from '../ops/conv/index.js';
import type { TransposeConvF32Step, TransposeConvIntStep } from '../ops/transpose-conv/index.js';
import type { BinaryF32Step2, BinaryIntStep, ConstFillStep } from '../ops/tfl-binary/index.js';
import type { LeakyReluF32Step, LeakyReluIntStep } from '../ops/leaky-relu/index.js';
import type { PadStep } from '../ops/pad/index.js';
import type { StridedSliceStep } from '../ops/strided-slice/index.js';
import type { QuantizeIntStep, RequantizeStep } from '../ops/tfl-quantize/index.js';
import type { SoftmaxTflS8Step } from '../ops/tfl-softmax/index.js';
import type { PoolStep } from '../ops/pool/index.js';
import type { ActivationF32Step, ActivationS8Step } from '../ops/tfl-activation/index.js';
import type { SvdfF32Step, SvdfS8Step } from '../ops/svdf/index.js';
import type { LstmF32Step, LstmS8Step } from '../ops/lstm/index.js';

/**
 * The step kinds TFLite imports add (their buffers may be 'int16'). To make them first-class, add
 * `| TfliteStep` to plan/program.ts's Step union and 'int16' to DType, together with the backends'
 * entries (compiler/backends/c/index.ts keys STEP_TYPES by Step['op'] and C_TYPE by DType).
 */
export type TfliteStep = ConvIntStep | ConvF32Step | TransposeConvIntStep | TransposeConvF32Step | BinaryIntStep | BinaryF32Step2 | ConstFillStep
  | LeakyReluIntStep | LeakyReluF32Step | PadStep | StridedSliceStep | QuantizeIntStep | RequantizeStep | SoftmaxTflS8Step | PoolStep
  | ActivationS8Step | ActivationF32Step | SvdfS8Step | SvdfF32Step | LstmF32Step | LstmS8Step;

export type AnyStep = Step | TfliteStep;

export interface QuantizedIO {
  name: string;
  shape: number[];
  /** the file's element type of this tensor */
  dtype: ExtDType;
  scale: number;
  zeroPoint: number;
  /** where the integer (or float) tensor lives while the program runs */
  ref: QBufferRef;
  /** byte offset of this tensor's float32 values in the caller's input/output space */
  floatOffset: number;
  /** inputs: the position among the .tflite file's subgraph inputs (TFLM's `input<k>` test vectors) */
  filePosition: number;
}

/** A Program whose steps may use int16 buffers and the TFLite step kinds (ops/<op>/index.ts). */
export interface QuantizedProgram extends Omit<Program, 'steps' | 'quant'> {
  quant: 'float32' | 'int8' | 'int16x8' | 'mixed';
  steps: AnyStep[];
  /** every graph input, in the file's order (`input` describes the first) */
  inputs: QuantizedIO[];
  outputs: QuantizedIO[];
  /** index of the first step after the input boundary steps (integer feeds start here) */
  bodyStart: number;
  /** index of the first output boundary step (integer results are complete before it) */
  bodyEnd: number;
}

class Allocator {
  private requests = new Map<string, ArenaRequest>();
  private refs: Array<{ id: string; ref: QBufferRef }> = [];
  private n = 0;
  alloc(id: string | null, dtype: ExtDType, length: number, at: number): { id: string; ref: QBufferRef } {
    const key = id ?? `scratch#${this.n++}`;
    const ref: QBufferRef = { space: 'arena', offset: -1, dtype, length };
    this.requests.set(key, { id: key, bytes: Math.max(1, length * extBytes(dtype)), first: at, last: at });
    this.refs.push({ id: key, ref });
    return { id: key, ref };
  }
  extend(id: string, at: number): void {
    const r = this.requests.get(id)!;
    r.last = Math.max(r.last, at);
  }
  /** a buffer live from the first step to the last: never shares bytes with another tensor */
  persistent(dtype: ExtDType, length: number): QBufferRef {
    const a = this.alloc(null, dtype, length, 0);
    this.requests.get(a.id)!.last = Number.MAX_SAFE_INTEGER;
    return a.ref;
  }
  finish(): number {
    const plan = planArena([...this.requests.values()]);
    for (const { id, ref } of this.refs) ref.offset = plan.offsets.get(id)!;
    return plan.peakBytes;
  }
}

function ioDtype(info: TensorInfo, where: string): ExtDType {
  const d = info.dtype;
  if (d === 'float32' || d === 'int8' || d === 'int16' || d === 'int32') return d;
  return fail(`${where}: graph IO of type ${d} is not supported`);
}

/** Lowers an imported TFLite graph with the file's quantization. */
export function lowerQuantizedGraph(g: Graph): QuantizedProgram {
  const meta = (g.meta?.tflite as TfliteMeta | undefined) ?? fail(`${g.source}: not a pre-quantized (TensorFlow Lite) graph`);
  const info = (v: string) => meta.tensors.get(v) ?? fail(`${g.source}: value '${v}' has no tensor information`);
  const alloc = new Allocator();
  const steps: AnyStep[] = [];
  const home = new Map<string, { ref: QBufferRef; id?: string }>();
  const outName = g.outputs[0].name;
  let touched: string[] = [];

  // input boundary
  let floatOffset = 0;
  const inputs: QuantizedIO[] = g.inputs.map((v, k) => {
    const ti = info(v.name);
    const dtype = ioDtype(ti, g.source);
    const length = elementCount(ti.shape);
    const fref: QBufferRef = { space: 'input', offset: floatOffset, dtype: 'float32', length };
    const q = { scale: ti.quant?.scale[0] ?? 1, zeroPoint: ti.quant?.zeroPoint[0] ?? 0 };
    let ref = fref;
    if (dtype !== 'float32') {
      const a = alloc.alloc(`${v.name}:in`, dtype, length, steps.length);
      ref = a.ref;
      home.set(v.name, { ref, id: a.id });
      steps.push(boundaryStep('in', v.name, fref, ref, q));
    } else home.set(v.name, { ref });
    const io: QuantizedIO = { name: v.name, shape: ti.shape, dtype, ...q, ref, floatOffset, filePosition: meta.inputPositions?.[k] ?? k };
    floatOffset += length * 4;
    return io;
  });
  const bodyStart = steps.length;

  const ctx: QLowerCtx = {
    read: (v) => {
      const h = home.get(v) ?? fail(`${g.source}: value '${v}' is read before it is written`);
      if (h.id) touched.push(h.id);
      return h.ref;
    },
    write: (v) => {
      const ti = info(v);
      const dtype = ioDtype(ti, g.source);
      const length = elementCount(ti.shape);
      if (v === outName && dtype === 'float32') {
        const ref: QBufferRef = { space: 'output', offset: 0, dtype, length };
        home.set(v, { ref });
        return ref;
      }
      const a = alloc.alloc(v, dtype, length, steps.length);
      home.set(v, { ref: a.ref, id: a.id });
      touched.push(a.id);
      return a.ref;
    },
    scratch: (dtype, length) => {
      const a = alloc.alloc(null, dtype, length, steps.length);
      touched.push(a.id);
      return a.ref;
    },
    state: (dtype, length) => alloc.persistent(dtype, length),
    info,
    shape: (v) => info(v).shape,
  };

  for (const node of g.nodes as TflNode[]) {
    const lower = quantizedLowering(node.op) ?? fail(`${g.source}: op '${node.attrs?.tflOp ?? node.op}' (layer '${node.name}') has no quantized lowering`);
    touched = [];
    const r = lower(node, ctx);
    if (r === 'alias') {
      const src = home.get(node.inputs[0])!;
      if (node.outputs[0] === outName && src.ref.space !== 'arena' && info(outName).dtype === 'float32') {
        // a float graph whose last op is a reshape: copy into the output space
        steps.push({ op: 'copy', name: node.name, in: src.ref as Program['steps'][number]['in'], out: ctx.write(outName) as Program['steps'][number]['out'] });
      } else home.set(node.outputs[0], src);
      if (src.id) alloc.extend(src.id, steps.length);
      continue;
    }
    steps.push(...(r as AnyStep[]));
    for (const id of touched) alloc.extend(id, steps.length - 1);
  }
  const bodyEnd = steps.length;

  // output boundary
  const outputs: QuantizedIO[] = g.outputs.map((v) => {
    const ti = info(v.name);
    const dtype = ioDtype(ti, g.source);
    const length = elementCount(ti.shape);
    const h = home.get(v.name)!;
    const q = { scale: ti.quant?.scale[0] ?? 1, zeroPoint: ti.quant?.zeroPoint[0] ?? 0 };
    const fref: QBufferRef = { space: 'output', offset: 0, dtype: 'float32', length };
    if (h.id) alloc.extend(h.id, steps.length);
    if (dtype !== 'float32') steps.push(boundaryStep('out', v.name, h.ref, fref, q));
    else if (h.ref.space !== 'output') steps.push({ op: 'copy', name: 'output', in: h.ref as Step['in'], out: fref as Step['out'] });
    return { name: v.name, shape: ti.shape, dtype, ...q, ref: h.ref, floatOffset: 0, filePosition: 0 };
  });
  const arenaBytes = alloc.finish();
  const dtypes = new Set([...meta.tensors.values()].map((t) => t.dtype).filter((d) => d !== 'int32'));
  const quant = dtypes.has('int16') ? 'int16x8' : dtypes.has('int8') ? (dtypes.has('float32') ? 'mixed' : 'int8') : dtypes.has('float32') && dtypes.size === 1 ? 'float32' : 'mixed';
  const spec = (io: QuantizedIO): IOSpec => ({ name: io.name, shape: io.shape, dtype: 'float32', ...(io.dtype !== 'float32' ? { quant: { scale: io.scale, zeroPoint: io.zeroPoint } } : {}) });
  const totalIn = inputs.reduce((s, io) => s + elementCount(io.shape), 0);
  return {
    format: 'tinyforge-program/1', name: g.name, quant,
    input: { ...spec(inputs[0]), shape: inputs.length === 1 ? inputs[0].shape : [totalIn] },
    output: spec(outputs[0]),
    arenaBytes, steps, inputs, outputs, bodyStart, bodyEnd,
    ...(inputs.length === 1 && inputs[0].dtype === 'int8' ? { int8Input: inputs[0].ref as Step['in'] } : {}),
    ...(outputs[0].dtype === 'int8' ? { int8Output: outputs[0].ref as Step['in'] } : {}),
  };
}

function boundaryStep(dir: 'in' | 'out', value: string, from: QBufferRef, to: QBufferRef, q: { scale: number; zeroPoint: number }): AnyStep {
  const name = `${dir === 'in' ? 'quantize' : 'dequantize'}_${value.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const int = dir === 'in' ? to : from;
  if (int.dtype === 'int8') return { op: dir === 'in' ? 'quantize' : 'dequantize', name, in: from as Step['in'], out: to as Step['out'], scale: q.scale, zeroPoint: q.zeroPoint };
  // int16 / int32 boundaries (ops/tfl-quantize)
  return { op: dir === 'in' ? 'quantize_int' : 'dequantize_int', name, in: from, out: to, scale: q.scale, zeroPoint: q.zeroPoint };
}

export type IntTensor = Int8Array | Int16Array | Int32Array | Float32Array;

/**
 * A TFLite model instance on tensors in the file's own dtypes (TFLM's Invoke): its memory lives across
 * inferences, so variable tensors (SVDF / LSTM state) carry over from one run to the next, as in TFLite and
 * TFLite Micro; reset() gives them their initial value again (done on creation).
 */
export class QuantizedSession {
  private readonly mem: ProgramMemory;
  constructor(readonly program: QuantizedProgram) {
    this.mem = new Memory(program as unknown as Program);
    this.reset();
  }
  reset(): void {
    for (const s of this.program.steps) if (isResetStep(s)) stepExecutor(s.op)(s as Step, this.mem);
  }
  /** One inference on one tensor per graph input (missing inputs: zeros); the graph output in its own dtype. */
  run(feeds: ArrayLike<number>[], onStep?: (s: AnyStep, m: ProgramMemory) => void): IntTensor {
    const { program: p, mem } = this;
    p.inputs.forEach((io, k) => {
      const want = elementCount(io.shape);
      const f = feeds[k];
      if (f && f.length !== want) fail(`input '${io.name}' needs ${want} values ([${io.shape}] ${io.dtype}), got ${f.length}`);
      if (f) viewAny(mem, io.ref).set(f); else viewAny(mem, io.ref).fill(0);
    });
    const firstFloatIn = p.inputs.some((io) => io.dtype === 'float32');
    // integer inputs were written to their arena tensors: skip their boundary quantize steps
    const start = firstFloatIn ? 0 : p.bodyStart;
    const end = firstFloatIn ? p.steps.length : p.bodyEnd;
    for (let i = start; i < end; i++) {
      const s = p.steps[i];
      if (isResetStep(s)) continue;
      stepExecutor(s.op)(s as Step, mem);
      if (i < p.bodyEnd) onStep?.(s, mem);
    }
    return viewAny(mem, p.outputs[0].ref).slice();
  }
}

/**
 * Runs a lowered TFLite program once, on a fresh instance, on tensors in the file's own dtypes (int8 / int16 /
 * int32 / float32), one per graph input, and returns the graph output in its own dtype: TFLM's test-vector
 * semantics. Missing inputs (fewer arrays than graph inputs) are zeros, as in TFLM's zero-initialized arena.
 */
export function runQuantizedProgram(p: QuantizedProgram, feeds: ArrayLike<number>[], onStep?: (s: AnyStep, m: ProgramMemory) => void): IntTensor {
  return new QuantizedSession(p).run(feeds, onStep);
}

/** Parses a flattened CSV (commas, whitespace, newlines; an optional non-numeric header row is skipped). */
export function parseFlatCsv(text: string, file: string): number[] {
  const out: number[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, li) => {
    for (const cell of line.split(/[,;\s]+/)) {
      if (cell === '') continue;
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        if (li === 0 && out.length === 0) return; // header row
        fail(`${file}: line ${li + 1}: '${cell.slice(0, 20)}' is not a number`);
      }
      out.push(v);
    }
  });
  return out;
}

/**
 * CSV I/O for `tinyforge run` on a TFLite program: the flattened input values in the input's own
 * dtype (TFLM's `*_input0_int16.csv`; several files for several inputs) -> the flattened output CSV
 * text in the output's own dtype (one line, comma-separated, as TFLM's golden files).
 * Values outside the input dtype's range are an error naming the file.
 */
export function runTfliteCsv(p: QuantizedProgram, inputs: Array<{ file: string; text: string }>): { values: IntTensor; csv: string } {
  if (inputs.length > p.inputs.length) fail(`the model has ${p.inputs.length} input(s), got ${inputs.length} CSV files`);
  const feeds = inputs.map(({ file, text }, k) => {
    const io = p.inputs[k];
    const v = parseFlatCsv(text, file);
    const want = elementCount(io.shape);
    if (v.length !== want) fail(`${file}: input '${io.name}' is [${io.shape}] ${io.dtype} (${want} values), the file has ${v.length}`);
    if (io.dtype !== 'float32') {
      const lim = io.dtype === 'int8' ? [-128, 127] : io.dtype === 'int16' ? [-32768, 32767] : [-2147483648, 2147483647];
      const bad = v.findIndex((x) => !Number.isInteger(x) || x < lim[0] || x > lim[1]);
      if (bad >= 0) fail(`${file}: value ${bad + 1} (${v[bad]}) is not an ${io.dtype}`);
    }
    return v;
  });
  const values = runQuantizedProgram(p, feeds);
  return { values, csv: `${Array.from(values, (x) => String(x)).join(',')}\n` };
}

/** True for programs from lowerQuantizedGraph (also after a program.safetensors round trip). */
export function isQuantizedProgram(p: Program | QuantizedProgram): p is QuantizedProgram {
  return Array.isArray((p as QuantizedProgram).inputs) && typeof (p as QuantizedProgram).bodyStart === 'number';
}
