/**
 * A model of how XNNPACK (the delegate tfjs-tflite runs int8 FULLY_CONNECTED on) requantizes, used to explain
 * where TensorFlow Lite's interpreter and TFLite Micro disagree. Same int32 accumulator as TFLM
 * (bias + Σ (x − zx)·w); then, instead of TFLM's fixed-point MultiplyByQuantizedMultiplier (31-bit multiplier
 * from the double scale, rounding half away from zero), XNNPACK's "fp32" requantization: the scale is computed
 * in float32 (input·weight / output), the accumulator is converted to float32 and multiplied in float32, and the
 * product is rounded half to even before the output zero point is added and the activation clamp applied.
 */
import { readFileSync } from 'node:fs';
import { parseTflite } from '../../compiler/frontends/tflite.js';
import { multiplyByQuantizedMultiplier, quantizeMultiplier } from '../../compiler/quant/fixedpoint.js';

export interface Int8Dense { rows: number; cols: number; w: Int8Array; bias: Int32Array; inScale: number; inZp: number; wScale: number; outScale: number; outZp: number; relu: boolean }

/** The FULLY_CONNECTED layers of a per-tensor int8 TFLite MLP (hello_world_int8), in order. */
export function readInt8Mlp(file: string): Int8Dense[] {
  const m = parseTflite(new Uint8Array(readFileSync(file)), file);
  return m.operators.map((op) => {
    if (op.opName !== 'FULLY_CONNECTED') throw new Error(`${file}: operator ${op.index} is ${op.opName}, not FULLY_CONNECTED`);
    const [x, w, b] = op.inputs.map((i) => m.tensors[i]), y = m.tensors[op.outputs[0]];
    if (!w.data || !b.data || !x.quant || !w.quant || !y.quant) throw new Error(`${file}: operator ${op.index} is not a quantized dense layer`);
    // FullyConnectedOptions.fused_activation_function (field 0): 1 = RELU
    const relu = (op.options?.u8(0, 'fused_activation_function') ?? 0) === 1;
    return {
      rows: w.shape[0], cols: w.shape[1], w: new Int8Array(w.data.slice().buffer), bias: new Int32Array(b.data.slice().buffer),
      inScale: x.quant.scale[0], inZp: x.quant.zeroPoint[0], wScale: w.quant.scale[0], outScale: y.quant.scale[0], outZp: y.quant.zeroPoint[0], relu,
    };
  });
}

function accumulate(L: Int8Dense, x: ArrayLike<number>, r: number): number {
  let acc = L.bias[r];
  for (let c = 0; c < L.cols; c++) acc += (x[c] - L.inZp) * L.w[r * L.cols + c];
  return acc;
}

const clamp = (L: Int8Dense, v: number) => Math.min(127, Math.max(L.relu ? Math.max(-128, L.outZp) : -128, v));

/** TFLite Micro's reference int8 FULLY_CONNECTED. */
export function denseTflm(L: Int8Dense, x: ArrayLike<number>): number[] {
  const { multiplier, shift } = quantizeMultiplier(L.inScale * L.wScale / L.outScale);
  return Array.from({ length: L.rows }, (_, r) => clamp(L, multiplyByQuantizedMultiplier(accumulate(L, x, r), multiplier, shift) + L.outZp));
}

const roundHalfEven = (v: number) => { const r = Math.round(v); return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; };

/** XNNPACK's qs8 fully-connected with fp32 requantization. */
export function denseXnnpack(L: Int8Dense, x: ArrayLike<number>): number[] {
  const f = Math.fround, scale = f(f(L.inScale * L.wScale) / L.outScale);
  return Array.from({ length: L.rows }, (_, r) => clamp(L, roundHalfEven(f(f(accumulate(L, x, r)) * scale)) + L.outZp));
}
