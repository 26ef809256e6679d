/**
 * The lowered program: what every backend consumes. A flat list of steps over three memory spaces:
 * `input` (the caller's float input), `output` (the caller's float output) and `arena` (one static
 * buffer, offsets planned by liveness). Each step is owned by one op module under compiler/ops/,
 * which knows its reference evaluation and its code emission per backend.
 *
 * Integer semantics are fixed here so that C (host), C (Cortex-M4F) and WASM compute identical int8:
 *  - quantize:   t = f32(x / scale); NaN -> 0; clamp t to [-256, 256];
 *                r = t >= 0 ? trunc(f32(t + 0.5)) : -trunc(f32(0.5 - t)); q = clamp(r + zeroPoint, -128, 127)
 *  - dequantize: y = f32(f32(q - zeroPoint) * scale)
 *  - dense_s8:   acc = bias[o] + sum_i w[o,i] * x[i]   (int32; bias already holds -zp_in * sum_i w[o,i])
 *                v = multiplyByQuantizedMultiplier(acc, multiplier[o], shift[o]) + outZeroPoint  (TFLite rounding)
 *                v = clamp(v, actMin, actMax); if (lut) v = lut[v + 128]; out[o] = (int8)v
 *                Per-channel multipliers (dense_s8, dense_s4, affine_s8) have their low 15 bits zero
 *                (16-bit mantissas), so backends may store them as uint16 + shift.
 *  - dense_s4:   as dense_s8 with 4-bit weights: byte k of a row holds column 2k in its low nibble and
 *                column 2k+1 in its high nibble, both two's complement in [-8, 7]; rows are ceil(in/2) bytes.
 *  - mul_s8:     v = mbqm((a - aZp) * (b - bZp), multiplier, shift) + outZp, clamped  (TFLite MUL)
 *  - add_s8:     a' = mbqm((a - aZp) << 20, aMultiplier, aShift), b' likewise,
 *                v = mbqm(a' + b', outMultiplier, outShift) + outZp, clamped  (TFLite ADD)
 *  - affine_s8:  v = mbqm((x - inZp) * w[c] + bias[c], multiplier[c], shift[c]) + outZp, clamped
 * Float steps around int8 code (layer_norm_s8, softmax_s8, scale_series_f32, unscale_series_f32) use
 * float32 arithmetic in exactly the order their op module documents, no fused multiply-add (C: compile
 * with -std=c99 or -ffp-contract=off), so they too give identical bits on every target.
 * roundToInt8(y): NaN -> 0; clamp to [-256, 256]; round half away from zero (f32 add of 0.5, truncate); clamp to int8.
 *
 * Persistent state (TFLite variable tensors: SVDF activation state, LSTM output / cell state): steps marked
 * `reset: true` give a state buffer its initial value. They run when a model instance starts and on an explicit
 * reset (C tf_model_reset(), WASM export `reset`, runtime model.reset()), never as part of an inference, so the
 * state carries over from one inference to the next as in TFLite / TFLite Micro. State buffers are reserved in
 * the arena for the whole program (never shared with other tensors).
 */
import type { TfliteStep } from './lower-quantized.js';
import type { EmbeddingStep } from '../ops/embedding/index.js';
import type { AttentionStep } from '../ops/attention/index.js';
import type { RopeStep } from '../ops/rope/index.js';
import type { ConcatStep, SliceStep } from '../ops/slice/index.js';

export type Space = 'input' | 'output' | 'arena';
export type DType = 'float32' | 'int8' | 'int16' | 'int32';
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'gelu' | 'linear';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'gelu', 'linear'];

export interface BufferRef {
  space: Space;
  /** byte offset inside its space (arena offsets are 16-byte aligned) */
  offset: number;
  dtype: DType;
  /** number of elements */
  length: number;
}

export interface QuantParams {
  scale: number; // exactly representable as float32
  zeroPoint: number;
}

export interface IOSpec {
  name: string;
  /** logical shape of one sample, e.g. [26] */
  shape: number[];
  dtype: 'float32';
  /** set for int8 programs: how the float tensor maps to the int8 tensor the int8 API takes/returns */
  quant?: QuantParams;
}

interface StepBase {
  op: string;
  /** layer name from the checkpoint, used for function names and reports */
  name: string;
  in: BufferRef;
  out: BufferRef;
  /** further operands, in the order the op documents (backends pass them after in and out) */
  aux?: BufferRef[];
  /** runs on reset only (initializes persistent state), not in an inference */
  reset?: true;
}

export interface DenseF32Step extends StepBase {
  op: 'dense_f32';
  /** rows of the input processed with the same weights (leading dimensions flattened); default 1 */
  rows?: number;
  inFeatures: number;
  outFeatures: number;
  /** row-major [outFeatures][inFeatures] */
  weights: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

export interface DenseS8Step extends StepBase {
  op: 'dense_s8';
  /** rows of the input processed with the same weights; default 1 */
  rows?: number;
  inFeatures: number;
  outFeatures: number;
  /** row-major [outFeatures][inFeatures], symmetric per output channel */
  weights: Int8Array;
  /** per output channel, input zero point folded in */
  bias: Int32Array;
  multiplier: Int32Array;
  shift: Int32Array;
  outZeroPoint: number;
  actMin: number;
  actMax: number;
  /** 256-entry table indexed by v + 128 (tanh/sigmoid/gelu), or null */
  lut: Int8Array | null;
}

export interface QuantizeStep extends StepBase {
  op: 'quantize';
  scale: number;
  zeroPoint: number;
}

export interface DequantizeStep extends StepBase {
  op: 'dequantize';
  scale: number;
  zeroPoint: number;
}

export interface DenseS4Step extends StepBase {
  op: 'dense_s4';
  rows?: number;
  inFeatures: number;
  outFeatures: number;
  /** packed two per byte, rows of ceil(inFeatures / 2) bytes (see the header) */
  weights: Int8Array;
  bias: Int32Array;
  multiplier: Int32Array;
  shift: Int32Array;
  outZeroPoint: number;
  actMin: number;
  actMax: number;
  lut: Int8Array | null;
}

/**
 * LayerNorm int8 -> int8 over the last dimension, per row (n = features):
 *   S = sum(q - inZp), Q = sum((q - inZp)^2) (int32); num = n*Q - S*S (int64, exact)
 *   var = f32(f32(num) / f32(n*n)); mean = f32(f32(S) / f32(n))
 *   inv = f32(1 / f32(sqrt(f32(f32(var * inScaleSq) + eps)))); k = f32(inv * inScale)
 *   y_i = f32(f32(f32(f32(f32(q_i - inZp) - mean) * k) * gain[i]) + offset[i]); out_i = roundToInt8(y_i)
 * gain = f32(weight / outScale), offset = f32(f32(bias / outScale) + outZp), computed at compile time.
 */
export interface LayerNormS8Step extends StepBase {
  op: 'layer_norm_s8';
  rows: number;
  features: number;
  inZeroPoint: number;
  inScale: number;
  inScaleSq: number;
  eps: number;
  gain: Float32Array;
  offset: Float32Array;
}

/**
 * Softmax int8 -> int8 over the last dimension (output scale 1/256, zero point -128), per row:
 *   table (built at run time, 256 floats): t[0] = 1; t[k] = t[k-1] < 1e-30f ? 0 : f32(t[k-1] * base)
 *   (base = f32(exp(-inScale)), so t[k] ~ exp(-inScale * k) with no flash spent on tables)
 *   m = max q; e_j = t[m - q_j]
 *   sum = e_0 + e_1 + ... (f32, in order); inv = f32(1 / sum)
 *   t_j = f32(f32(e_j * inv) * 256); out_j = clamp(trunc(f32(t_j + 0.5)) - 128, -128, 127)
 */
export interface SoftmaxS8Step extends StepBase {
  op: 'softmax_s8';
  rows: number;
  features: number;
  base: number;
}

/** out[i] = mul/add of in[i] and aux[0][i % period] (semantics in the header). */
export interface MulS8Step extends StepBase {
  op: 'mul_s8';
  length: number;
  period: number;
  aZeroPoint: number;
  bZeroPoint: number;
  multiplier: number;
  shift: number;
  outZeroPoint: number;
}

export interface AddS8Step extends StepBase {
  op: 'add_s8';
  length: number;
  period: number;
  aZeroPoint: number;
  aMultiplier: number;
  aShift: number;
  bZeroPoint: number;
  bMultiplier: number;
  bShift: number;
  outMultiplier: number;
  outShift: number;
  outZeroPoint: number;
}

/** Per-feature integer affine map (folded BatchNorm) over rows x features. */
export interface AffineS8Step extends StepBase {
  op: 'affine_s8';
  rows: number;
  features: number;
  inZeroPoint: number;
  weights: Int8Array;
  bias: Int32Array;
  multiplier: Int32Array;
  shift: Int32Array;
  outZeroPoint: number;
}

/** LayerNorm over the last dimension, float32: rows x features. */
export interface LayerNormF32Step extends StepBase {
  op: 'layer_norm_f32';
  rows: number;
  features: number;
  eps: number;
  weight: Float32Array;
  bias: Float32Array | null;
}

/** Per-feature y = x * scale + shift (folded inference BatchNorm), float32. */
export interface AffineF32Step extends StepBase {
  op: 'affine_f32';
  rows: number;
  features: number;
  scale: Float32Array;
  shift: Float32Array;
}

/** Softmax over the last dimension, float32 (max-subtracted). */
export interface SoftmaxF32Step extends StepBase {
  op: 'softmax_f32';
  rows: number;
  features: number;
}

/** out[i] = in[i] (+ or *) aux[0][i % period], float32. */
export interface BinaryF32Step extends StepBase {
  op: 'add_f32' | 'mul_f32';
  length: number;
  period: number;
}

/** Data movement by a dimension permutation; element type from in.dtype. */
export interface TransposeStep extends StepBase {
  op: 'transpose';
  shape: number[];
  perm: number[];
}

/** Picks `indices` along `axis` of `shape`; element type from in.dtype. */
export interface GatherStep extends StepBase {
  op: 'gather';
  shape: number[];
  axis: number;
  indices: number[];
}

/** A byte-for-byte copy (e.g. a reshape whose result is the graph output). */
export interface CopyStep extends StepBase {
  op: 'copy';
}

/** [length, channels] -> [channels, patches, patchLength], windows from the end of the series. */
export interface PatchifyF32Step extends StepBase {
  op: 'patchify_f32';
  length: number;
  channels: number;
  patchLength: number;
  stride: number;
  patches: number;
}

/** Per-channel scaling of [length, channels]; aux = [loc [channels], scale [channels]] (outputs). */
export interface ScaleSeriesF32Step extends StepBase {
  op: 'scale_series_f32';
  length: number;
  channels: number;
  kind: 'std' | 'mean' | 'none';
}

/** out = in * scale[c] + loc[c] over [rows, channels]; aux = [loc, scale] (inputs). */
export interface UnscaleSeriesF32Step extends StepBase {
  op: 'unscale_series_f32';
  rows: number;
  channels: number;
}

export type Step = DenseF32Step | DenseS8Step | DenseS4Step | QuantizeStep | DequantizeStep
  | LayerNormS8Step | SoftmaxS8Step | MulS8Step | AddS8Step | AffineS8Step
  | LayerNormF32Step | AffineF32Step | SoftmaxF32Step | BinaryF32Step | TransposeStep | GatherStep | CopyStep
  | PatchifyF32Step | ScaleSeriesF32Step | UnscaleSeriesF32Step
  | TfliteStep
  | EmbeddingStep | AttentionStep | RopeStep | SliceStep | ConcatStep;

export interface Program {
  format: 'tinyforge-program/1';
  /** C identifier-safe model name */
  name: string;
  /** int8 also covers int4 weights (dense_s4 steps) with int8 activations */
  quant: 'float32' | 'int8';
  input: IOSpec;
  output: IOSpec;
  /** peak arena bytes (a multiple of 16) */
  arenaBytes: number;
  steps: Step[];
  /** int8 programs: the arena buffers holding the int8 input/output (the int8 API reads/writes these) */
  int8Input?: BufferRef;
  int8Output?: BufferRef;
}

/** The steps of one inference (everything but the reset-only steps), in order. */
export const inferenceSteps = <S extends object>(steps: readonly S[]): S[] => steps.filter((s) => !isResetStep(s));
/** The reset-only steps (initial values of persistent state), in order. */
export const resetSteps = <S extends object>(steps: readonly S[]): S[] => steps.filter(isResetStep);
export const isResetStep = (s: object): boolean => (s as { reset?: true }).reset === true;
/** True when the program keeps state between inferences. */
export const isStateful = (p: { steps: readonly object[] }): boolean => p.steps.some(isResetStep);

export function bytesPerElement(d: DType): number {
  return d === 'int8' ? 1 : d === 'int16' ? 2 : 4;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
