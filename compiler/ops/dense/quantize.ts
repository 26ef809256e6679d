/**
 * int8 lowering of a dense node: symmetric per-output-channel int8 weights, int32 bias with the
 * input zero point folded in (so kernels do a pure int8 dot product), per-channel fixed-point
 * multipliers, and the activation fused as a clamp (ReLU) or a 256-entry table (tanh/sigmoid/gelu).
 */
import { fail } from '../../errors.js';
import type { DenseNode } from '../../ir/graph.js';
import type { BufferRef, DenseS4Step, DenseS8Step, QuantParams } from '../../plan/program.js';
import { quantizeMultiplierCompact } from '../../quant/fixedpoint.js';
import { applyActivation } from '../activation.js';

export interface DenseQuantParams {
  input: QuantParams;
  /** the pre-activation tensor (tanh/sigmoid/gelu only) */
  preActivation: QuantParams | null;
  output: QuantParams;
}

const clampI8 = (v: number) => (v < -128 ? -128 : v > 127 ? 127 : v);

/** Symmetric per-output-channel weights in [-qmax, qmax] (127 for int8, 7 for int4). */
export function quantizeWeightsPerChannel(w: Float32Array, rows: number, cols: number, qmax = 127): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let o = 0; o < rows; o++) {
    let maxAbs = 0;
    for (let i = 0; i < cols; i++) maxAbs = Math.max(maxAbs, Math.abs(w[o * cols + i]));
    const s = maxAbs > 0 ? Math.fround(maxAbs / qmax) : 1;
    scales[o] = s;
    for (let i = 0; i < cols; i++) q[o * cols + i] = Math.max(-qmax, Math.min(qmax, Math.round(w[o * cols + i] / s)));
  }
  return { q, scales };
}

/** Packs int4 values row by row: column 2k in the low nibble, 2k+1 in the high nibble. */
export function packInt4(q: Int8Array, rows: number, cols: number): Int8Array {
  const stride = Math.ceil(cols / 2);
  const out = new Int8Array(rows * stride);
  for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) {
    const nib = q[o * cols + i] & 0xf;
    out[o * stride + (i >> 1)] |= i & 1 ? nib << 4 : nib;
  }
  return out;
}

export function unpackInt4(packed: Int8Array, rows: number, cols: number): Int8Array {
  const stride = Math.ceil(cols / 2);
  const q = new Int8Array(rows * cols);
  for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) {
    const byte = packed[o * stride + (i >> 1)];
    q[o * cols + i] = i & 1 ? byte >> 4 : (byte << 28) >> 28;
  }
  return q;
}

export function lowerDenseS8(n: DenseNode, input: BufferRef, output: BufferRef, p: DenseQuantParams, rowsOfInput = 1, weightBits: 8 | 4 = 8): DenseS8Step | DenseS4Step {
  const { inFeatures: cols, outFeatures: rows, activation } = n.attrs;
  const { q, scales } = quantizeWeightsPerChannel(n.attrs.weights, rows, cols, weightBits === 4 ? 7 : 127);
  const smooth = activation === 'tanh' || activation === 'sigmoid' || activation === 'gelu';
  if (smooth && !p.preActivation) throw new Error(`internal: ${n.name} has no pre-activation calibration`);
  const target = smooth ? p.preActivation! : p.output;
  const bias = new Int32Array(rows), multiplier = new Int32Array(rows), shift = new Int32Array(rows);
  for (let o = 0; o < rows; o++) {
    const accScale = p.input.scale * scales[o];
    let sumW = 0;
    for (let i = 0; i < cols; i++) sumW += q[o * cols + i];
    const b = Math.round(n.attrs.bias[o] / accScale) - p.input.zeroPoint * sumW;
    if (b > 2147483647 || b < -2147483648) fail(`layer '${n.name}': bias ${n.attrs.bias[o]} of channel ${o} overflows int32 after quantization; recalibrate with a wider input range`);
    bias[o] = b;
    const m = quantizeMultiplierCompact(accScale / target.scale);
    multiplier[o] = m.multiplier;
    shift[o] = m.shift;
  }
  let lut: Int8Array | null = null;
  let actMin = -128;
  if (activation === 'relu') actMin = clampI8(p.output.zeroPoint);
  if (smooth) {
    lut = new Int8Array(256);
    const pre = p.preActivation!;
    for (let v = -128; v <= 127; v++) {
      const y = applyActivation(activation, pre.scale * (v - pre.zeroPoint));
      lut[v + 128] = clampI8(Math.round(y / p.output.scale) + p.output.zeroPoint);
    }
  }
  const common = { name: n.name, in: input, out: output, inFeatures: cols, outFeatures: rows, bias, multiplier, shift, outZeroPoint: target.zeroPoint, actMin, actMax: 127, lut };
  const rowsField = rowsOfInput > 1 ? { rows: rowsOfInput } : {};
  return weightBits === 4
    ? { op: 'dense_s4', ...common, ...rowsField, weights: packInt4(q, rows, cols) }
    : { op: 'dense_s8', ...common, ...rowsField, weights: q };
}
