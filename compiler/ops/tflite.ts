/**
 * Shared pieces of the TensorFlow Lite ops (compiler/ops/<op>/ folders registering TFLite builtins):
 * the per-tensor dtype/quantization the importer attaches to a graph, the TFLite-code -> graph-op
 * table, the pre-quantized lowering hook each op registers (used by plan/lower-quantized.ts), and the
 * integer helpers TFLM's reference kernels share (activation ranges, 64-bit requantization).
 *
 * int16 tensors: program buffers gain the element type 'int16' (2 bytes). Until the backends know it,
 * these steps and buffers are typed here (`ExtStep`, `QBufferRef`) rather than in plan/program.ts.
 */
import { fail } from '../errors.js';
import type { ProgramMemory } from '../exec/memory.js';
import type { GraphNode } from '../ir/graph.js';
import type { Table } from '../frontends/tflite-schema.js';
import type { DType, Space, Step } from '../plan/program.js';
import { quantizeMultiplier } from '../quant/fixedpoint.js';
import { registerOp, registerStep } from './registry.js';

export type TflDType = 'float32' | 'int8' | 'uint8' | 'int16' | 'int32';

export interface TensorQuant {
  scale: number[];
  zeroPoint: number[];
  /** quantized_dimension (per-channel scales run along it) */
  dim: number;
}

export interface TensorInfo {
  dtype: string;
  shape: number[];
  quant: TensorQuant | null;
}

export interface ConstTensor {
  name: string;
  shape: number[];
  dtype: string;
  data: Float32Array | Int8Array | Uint8Array | Int16Array | Int32Array | null;
  /** int64 constants: the exact values (data holds them wrapped to int32) */
  raw64?: BigInt64Array;
  quant: TensorQuant | null;
}

export type Operand = { kind: 'value'; name: string } | { kind: 'const'; tensor: ConstTensor } | { kind: 'state'; tensor: ConstTensor } | null;

export interface TflNodeAttrs<O = unknown> {
  tflOp: string;
  version: number;
  options: O;
  /** the operator's inputs in TFLite order (null = optional input omitted) */
  operands: Operand[];
  inputInfo: Array<TensorInfo | null>;
  outputInfo: TensorInfo[];
  /** the operator's intermediate tensors (dtype, shape, quantization), when the file lists any (e.g. the integer LSTM's) */
  intermediates?: TensorInfo[];
  /** "file: operator k (NAME)" for error messages */
  where: string;
}

export type TflNode<O = unknown> = GraphNode<TflNodeAttrs<O>>;

export interface TfliteMeta {
  tensors: Map<string, TensorInfo>;
  /** per graph input: its position among the file's subgraph inputs (unused inputs are dropped) */
  inputPositions: number[];
  description: string;
}

export interface TfliteOpDef {
  code: number;
  tflName: string;
  /** the graph op (registry name) the importer creates */
  graphOp: string;
  /** reads the builtin options table into plain attributes */
  options?(t: Table | null, where: string): Record<string, unknown>;
}

export const TFLITE_OPS = new Map<number, TfliteOpDef>();
export function registerTfliteOp(def: TfliteOpDef): void { TFLITE_OPS.set(def.code, def); }

// ---- program buffers and steps with int16 ----

export type ExtDType = DType | 'int16';
export interface QBufferRef { space: Space; offset: number; dtype: ExtDType; length: number }
export interface ExtStepBase { op: string; name: string; in: QBufferRef; out: QBufferRef; aux?: QBufferRef[]; reset?: true }

export const extBytes = (d: ExtDType) => (d === 'int8' ? 1 : d === 'int16' ? 2 : 4);

export function viewI8(mem: ProgramMemory, r: QBufferRef): Int8Array { return new Int8Array(mem.spaces[r.space], r.offset, r.length); }
export function viewI16(mem: ProgramMemory, r: QBufferRef): Int16Array { return new Int16Array(mem.spaces[r.space], r.offset, r.length); }
export function viewI32(mem: ProgramMemory, r: QBufferRef): Int32Array { return new Int32Array(mem.spaces[r.space], r.offset, r.length); }
export function viewF32(mem: ProgramMemory, r: QBufferRef): Float32Array { return new Float32Array(mem.spaces[r.space], r.offset, r.length); }
/** An integer view of an int8 / int16 / int32 buffer. */
export function viewInt(mem: ProgramMemory, r: QBufferRef): Int8Array | Int16Array | Int32Array {
  return r.dtype === 'int8' ? viewI8(mem, r) : r.dtype === 'int16' ? viewI16(mem, r) : viewI32(mem, r);
}
export function viewAny(mem: ProgramMemory, r: QBufferRef): Int8Array | Int16Array | Int32Array | Float32Array {
  return r.dtype === 'float32' ? viewF32(mem, r) : viewInt(mem, r);
}

/** registerStep for steps typed outside plan/program.ts's Step union. */
export function registerExtStep<S extends ExtStepBase>(op: S['op'], execute: (step: S, mem: ProgramMemory) => void): void {
  registerStep(op as Step['op'], execute as unknown as (s: Step, m: ProgramMemory) => void);
}

// ---- pre-quantized lowering hook ----

export interface QLowerCtx {
  /** the buffer holding a graph value (in the file's dtype) */
  read(value: string): QBufferRef;
  /** a new buffer for a value this step writes, in the file's dtype */
  write(value: string): QBufferRef;
  /** a scratch arena buffer live only during the current step */
  scratch(dtype: ExtDType, length: number): QBufferRef;
  /**
   * a persistent state buffer (a TFLite variable tensor), reserved for the whole program; `init` is the step
   * that gives it its initial value, run on reset only (plan/program.ts)
   */
  state(dtype: ExtDType, length: number): QBufferRef;
  info(value: string): TensorInfo;
  shape(value: string): number[];
}

/** Returns the steps for a node, or 'alias' when its output shares its first input's bytes. */
export type QLowering = (node: TflNode, ctx: QLowerCtx) => Array<Step | ExtStepBase> | 'alias';
const lowerings = new Map<string, QLowering>();
export function registerQuantizedLowering(graphOp: string, fn: QLowering): void { lowerings.set(graphOp, fn); }
export function quantizedLowering(graphOp: string): QLowering | undefined { return lowerings.get(graphOp); }

// ---- TFLM integer helpers ----

export const INT_RANGE: Record<string, [number, number]> = { int8: [-128, 127], int16: [-32768, 32767], uint8: [0, 255], int32: [-2147483648, 2147483647] };

/** std::round on a float: half away from zero. */
export const roundHalfAway = (x: number) => (x >= 0 ? Math.floor(x + 0.5) : -Math.floor(0.5 - x));

export const ACTIVATION_NAMES = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];
export function activationName(code: number, where: string): string {
  const n = ACTIVATION_NAMES[code];
  if (!n) fail(`${where}: unknown fused activation ${code}`);
  return n;
}

/** TFLM CalculateActivationRangeQuantized: the clamp a fused activation becomes on the output tensor. */
export function activationRange(act: string, out: TensorInfo, where: string): [number, number] {
  const [qmin, qmax] = INT_RANGE[out.dtype] ?? fail(`${where}: no integer range for ${out.dtype}`);
  const scale = Math.fround(out.quant?.scale[0] ?? 1), zp = out.quant?.zeroPoint[0] ?? 0;
  const q = (f: number) => zp + roundHalfAway(Math.fround(f / scale));
  switch (act) {
    case 'NONE': return [qmin, qmax];
    case 'RELU': return [Math.max(qmin, q(0)), qmax];
    case 'RELU6': return [Math.max(qmin, q(0)), Math.min(qmax, q(6))];
    case 'RELU_N1_TO_1': return [Math.max(qmin, q(-1)), Math.min(qmax, q(1))];
    default: return fail(`${where}: fused activation ${act} is not supported on quantized tensors`);
  }
}

/** Float clamp of a fused activation. */
export function activationRangeFloat(act: string, where: string): [number, number] {
  switch (act) {
    case 'NONE': return [-Infinity, Infinity];
    case 'RELU': return [0, Infinity];
    case 'RELU6': return [0, 6];
    case 'RELU_N1_TO_1': return [-1, 1];
    default: return fail(`${where}: fused activation ${act} is not supported`);
  }
}

/** TFLite's 64-bit MultiplyByQuantizedMultiplier (int16x8 kernels with int64 accumulators). */
export function mbqm64(x: bigint, multiplier: number, shift: number): number {
  const reduced = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const totalShift = BigInt(15 - shift);
  const round = 1n << (totalShift - 1n);
  return Number(BigInt.asIntN(32, (x * BigInt(reduced) + round) >> totalShift));
}

/** Scale and zero point of a per-tensor quantized value (error when missing). */
export function tensorQuant(info: TensorInfo | null | undefined, where: string, what: string): { scale: number; zeroPoint: number } {
  if (!info?.quant) fail(`${where}: ${what} has no quantization parameters`);
  return { scale: info.quant.scale[0], zeroPoint: info.quant.zeroPoint[0] };
}

export function constOperand(node: TflNode<unknown>, i: number, what: string): ConstTensor {
  const o = node.attrs.operands[i];
  if (!o || o.kind !== 'const' || !o.tensor.data) fail(`${node.attrs.where}: ${what} (input ${i}) must be a constant tensor`);
  return o.tensor;
}

export function optionalConst(node: TflNode<unknown>, i: number, what: string): ConstTensor | null {
  const o = node.attrs.operands[i];
  if (!o) return null;
  if (o.kind !== 'const' || !o.tensor.data) fail(`${node.attrs.where}: ${what} (input ${i}) must be a constant tensor`);
  return o.tensor;
}

/** The float values of a constant (dequantized when it is quantized). */
export function constFloat(t: ConstTensor): Float32Array {
  const d = t.data!;
  if (d instanceof Float32Array) return d;
  const q = t.quant;
  if (!q) return Float32Array.from(d as ArrayLike<number>);
  const out = new Float32Array(d.length);
  const n = q.scale.length;
  // per-channel: element index -> channel along q.dim
  const inner = n > 1 ? t.shape.slice(q.dim + 1).reduce((a, b) => a * b, 1) : 1;
  for (let i = 0; i < d.length; i++) {
    const c = n > 1 ? Math.floor(i / inner) % n : 0;
    out[i] = (d[i] - (q.zeroPoint[c] ?? 0)) * q.scale[c];
  }
  return out;
}

/** Integer values of a constant int tensor as plain numbers. */
export function constInts(t: ConstTensor, where: string, what: string): number[] {
  const d = t.data;
  if (!d || d instanceof Float32Array) fail(`${where}: ${what} must be an integer tensor`);
  return Array.from(d as ArrayLike<number>);
}

/** A node attribute reader for TFLite builtin options with defaults when the table is absent. */
export function opt<T>(t: Table | null, read: (t: Table) => T, dflt: T): T {
  return t ? read(t) : dflt;
}

/** Shapes padded to 4-D on the left (TFLM's RuntimeShape::ExtendedShape). */
export function extend4(shape: readonly number[]): number[] {
  return [...new Array(Math.max(0, 4 - shape.length)).fill(1), ...shape];
}

// ---- graph-op registration for TFLite ops ----

/**
 * Registers a TFLite graph op: its shape rule returns the file's output shapes (checked against the
 * input element counts by the caller's op-specific `check`), its reference is the float semantics.
 */
export function registerTflGraphOp<O>(graphOp: string, def: {
  reference: (inputs: Float32Array[], shapes: number[][], node: TflNodeAttrs<O>) => Float32Array[];
  check?: (inputs: number[][], attrs: TflNodeAttrs<O>) => void;
  parameters?: (attrs: TflNodeAttrs<O>) => number;
  macs?: (inputs: number[][], attrs: TflNodeAttrs<O>) => number;
  lower: QLowering;
}): void {
  registerOp<TflNodeAttrs<O>>(graphOp, {
    shape: (inputs, attrs) => { def.check?.(inputs, attrs); return attrs.outputInfo.map((o) => [...o.shape]); },
    reference: (inputs, shapes, attrs) => def.reference(inputs, shapes, attrs),
    parameters: def.parameters ?? ((a) => a.operands.reduce((s, o) => s + (o && o.kind === 'const' && o.tensor.data ? o.tensor.data.length : 0), 0)),
    ...(def.macs ? { macs: def.macs } : {}),
  });
  registerQuantizedLowering(graphOp, def.lower);
}

/** Padding as TFLM computes it (ComputePaddingHeightWidth): [before] per spatial dim. */
export function convPadding(padding: 'SAME' | 'VALID', stride: number, dilation: number, inSize: number, filter: number, outSize: number): number {
  const eff = (filter - 1) * dilation + 1;
  const total = Math.max(0, (outSize - 1) * stride + eff - inSize);
  return Math.floor(total / 2);
}

export function convOutSize(padding: 'SAME' | 'VALID', stride: number, dilation: number, inSize: number, filter: number): number {
  const eff = (filter - 1) * dilation + 1;
  return padding === 'SAME' ? Math.floor((inSize + stride - 1) / stride) : Math.floor((inSize + stride - eff) / stride);
}

/** TFLM PopulateConvolutionQuantizationParams: per output channel multiplier/shift (double arithmetic). */
export function perChannelMultipliers(inScale: number, filter: ConstTensor, outScale: number, channels: number, where: string): { multiplier: Int32Array; shift: Int32Array } {
  const q = filter.quant ?? fail(`${where}: the filter has no quantization parameters`);
  if (q.scale.length !== 1 && q.scale.length !== channels) fail(`${where}: the filter has ${q.scale.length} scales for ${channels} output channels`);
  const multiplier = new Int32Array(channels), shift = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = q.scale.length === 1 ? q.scale[0] : q.scale[c];
    const m = quantizeMultiplier((inScale * s) / outScale);
    multiplier[c] = m.multiplier; shift[c] = m.shift;
  }
  return { multiplier, shift };
}

/** int32 bias, or int64 bias as [lo, hi] int32 pairs, from a constant bias tensor. */
export function biasArrays(bias: ConstTensor | null, channels: number, where: string): { bias: Int32Array | null; bias64: Int32Array | null } {
  if (!bias) return { bias: null, bias64: null };
  if (bias.dtype === 'int32') {
    if (bias.data!.length !== channels) fail(`${where}: bias has ${bias.data!.length} values for ${channels} channels`);
    return { bias: bias.data as Int32Array, bias64: null };
  }
  if (bias.dtype === 'int64') {
    if (bias.raw64!.length !== channels) fail(`${where}: bias has ${bias.raw64!.length} values for ${channels} channels`);
    const pairs = new Int32Array(2 * channels);
    for (let c = 0; c < channels; c++) { pairs[2 * c] = Number(BigInt.asIntN(32, bias.raw64![c])); pairs[2 * c + 1] = Number(BigInt.asIntN(32, bias.raw64![c] >> 32n)); }
    return { bias: null, bias64: pairs };
  }
  return fail(`${where}: a ${bias.dtype} bias on an integer op is not supported`);
}

/** The int64 bias of channel c from [lo, hi] pairs. */
export const bias64At = (pairs: Int32Array, c: number): bigint => (BigInt(pairs[2 * c + 1]) << 32n) + BigInt(pairs[2 * c] >>> 0);

export const clampTo = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
