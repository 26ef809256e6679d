/**
 * CONV_2D / DEPTHWISE_CONV_2D: WASM emission, bit-exact with executeConvInt / convFloat (index.ts).
 *  - int8 kernels of runtime/kernels/conv_q.ts, for per-channel requantization with multipliers other than -2^31,
 *    shifts in [-31, 31] and an int8 activation range (weights, biases and requantization constants re-laid out here):
 *    - conv_s8 1x1, stride 1, unpadded, without groups: conv_pw_s8 (a GEMM over the pixels, 4 pixels x 8 outputs per pass);
 *    - depthwise_s8 with depth multiplier 1: conv_dw_s8 (8 channels x tap pairs per dot, zero-point-padded input copy);
 *    - depthwise_s8 with one input channel (any depth multiplier), horizontal dilation 1: conv_dw1_s8.
 *    The zero point is folded into the bias where the kernel reads int8 as stored (bias - inZp * sum w): equal to the
 *    oracle's int32 sum mod 2^32.
 *  - other conv_s8 without groups run on the int8 dense kernels (compiler/ops/dense/wasm.ts): 1x1 stride-1 unpadded
 *    convolutions are a dense layer over the pixels as they are; others are im2col rows (taps outside the image
 *    hold the input zero point) in the scratch region, with the folded bias.
 *  - other depthwise_s8 with depth multiplier 1: tfl_depthwise_s8 (4 channels per SIMD pass, folded bias on interior pixels).
 *  - everything else (grouped int8, int16x8 with int32 or int64 accumulators, float32): the generic loops of
 *    runtime/kernels/tflite.ts.
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef, DenseS8Step } from '../../plan/program.js';
import { emitDenseS8Wasm } from '../dense/wasm.js';
import type { ConvF32Step, ConvGeometry, ConvIntStep } from './index.js';

export function convParams(g: ConvGeometry, depthwise: boolean, inZp: number, outZp: number, actMin: number, actMax: number): Int32Array {
  return Int32Array.from([
    g.batches, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.kH, g.kW, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padH, g.padW,
    g.filterC, depthwise ? 1 : 0, inZp, outZp, actMin, actMax,
  ]);
}

function check(s: ConvIntStep | ConvF32Step, depthwise: boolean): void {
  const inLen = s.batches * s.inH * s.inW * s.inC, outLen = s.batches * s.outH * s.outW * s.outC;
  const wLen = depthwise ? s.kH * s.kW * s.outC : s.outC * s.kH * s.kW * s.filterC;
  if (s.in.length !== inLen || s.out.length !== outLen || s.weights.length !== wLen) fail(`program step '${s.name}': ${s.op} buffers/weights do not match its geometry`);
}

const isPointwise = (s: ConvGeometry) => s.kH === 1 && s.kW === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 && s.padW === 0 && s.outH === s.inH && s.outW === s.inW;

/** Bytes of scratch a convolution needs (im2col rows of the dense path). */
export function convScratchBytes(s: ConvIntStep | ConvF32Step): number {
  if (s.op === 'depthwise_s8') {
    const k = dwKernel(s as ConvIntStep);
    if (k) return k.scratch;
  }
  const dense = (s.op === 'conv_s8' && s.filterC === s.inC) || (s.op === 'depthwise_s8' && s.inC === 1);
  if (!dense || isPointwise(s)) return 0;
  return s.batches * s.outH * s.outW * s.kH * s.kW * s.inC;
}

function emitConvS8Dense(s: ConvIntStep, ctx: WasmEmitContext): Expr {
  const K = s.kH * s.kW * s.inC, rows = s.batches * s.outH * s.outW;
  const bias = new Int32Array(s.outC);
  for (let c = 0; c < s.outC; c++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += s.weights[c * K + k];
    bias[c] = ((s.bias ? s.bias[c] : 0) - s.inZeroPoint * sum) | 0;
  }
  const pointwise = isPointwise(s);
  const colRef: BufferRef = { space: 'arena', offset: -1, dtype: 'int8', length: rows * K };
  const dense: DenseS8Step = {
    op: 'dense_s8', name: s.name, in: pointwise ? (s.in as BufferRef) : colRef, out: s.out as BufferRef, rows, inFeatures: K, outFeatures: s.outC,
    weights: s.weights, bias, multiplier: s.multiplier, shift: s.shift, outZeroPoint: s.outZeroPoint, actMin: s.actMin, actMax: s.actMax, lut: null,
  };
  if (pointwise) return emitDenseS8Wasm(dense, ctx);
  const col = ctx.scratch(rows * K);
  const sub: WasmEmitContext = { ...ctx, addr: (r) => (r === colRef ? col : ctx.addr(r)) };
  const p = ctx.data(bytesOf(convParams(s, false, s.inZeroPoint, s.outZeroPoint, s.actMin, s.actMax)), `${s.name}.geometry`);
  if (!ctx.block) fail(`program step '${s.name}': this WASM linker cannot emit multi-call steps`);
  return ctx.block([ctx.call('tfl_im2col_s8', [ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(col), ctx.i32(p)]), emitDenseS8Wasm(dense, sub)]);
}

export function emitConvWasm(s: ConvIntStep | ConvF32Step, ctx: WasmEmitContext): Expr {
  const depthwise = s.op.startsWith('depthwise');
  check(s, depthwise);
  const x = ctx.i32(ctx.addr(s.in as BufferRef)), y = ctx.i32(ctx.addr(s.out as BufferRef));
  if (s.op === 'conv_f32' || s.op === 'depthwise_f32') {
    const f = s as ConvF32Step;
    const p = ctx.data(bytesOf(convParams(f, depthwise, 0, 0, 0, 0)), `${s.name}.geometry`);
    const w = ctx.data(bytesOf(f.weights), `${s.name}.weights`);
    const b = f.bias ? ctx.data(bytesOf(f.bias), `${s.name}.bias`) : 0;
    return ctx.call('tfl_conv_f32', [x, y, ctx.i32(w), ctx.i32(b), ctx.i32(p), ctx.f32(f.actMin), ctx.f32(f.actMax)]);
  }
  const q = s as ConvIntStep;
  const s16 = q.op.endsWith('s16');
  if (q.in.dtype !== (s16 ? 'int16' : 'int8') || q.out.dtype !== q.in.dtype) fail(`program step '${q.name}': ${q.op} expects ${s16 ? 'int16' : 'int8'} buffers`);
  if (q.op === 'conv_s8' && q.filterC === q.inC) return emitPwS8(q, ctx) ?? emitConvS8Dense(q, ctx);
  if (q.op === 'depthwise_s8') {
    const k = dwKernel(q);
    if (k) return emitDwS8(q, k, ctx);
  }
  if (q.op === 'depthwise_s8' && q.inC === 1) {
    // one input channel: every output channel sees the same taps, i.e. a convolution with filterC = inC = 1
    // (weights [kH*kW][outC] transposed to [outC][kH*kW]); same int32 sums, so the same bits
    const taps = q.kH * q.kW, w = new Int8Array(q.outC * taps);
    for (let c = 0; c < q.outC; c++) for (let t = 0; t < taps; t++) w[c * taps + t] = q.weights[t * q.outC + c];
    return emitConvS8Dense({ ...q, op: 'conv_s8', filterC: 1, weights: w }, ctx);
  }
  const mode = s16 && !q.bias ? 1 : 0;
  const consts = new Int32Array(4 * q.outC);
  for (let c = 0; c < q.outC; c++) {
    if (mode === 1) {
      if (q.bias64) { consts[4 * c] = q.bias64[2 * c]; consts[4 * c + 1] = q.bias64[2 * c + 1]; }
    } else {
      const b = q.bias ? q.bias[c] : 0;
      consts[4 * c] = b;
      if (depthwise) {
        let sum = 0;
        for (let t = 0; t < q.kH * q.kW; t++) sum += q.weights[t * q.outC + c];
        consts[4 * c + 1] = (b - q.inZeroPoint * sum) | 0;
      }
    }
    consts[4 * c + 2] = q.multiplier[c]; consts[4 * c + 3] = q.shift[c];
  }
  const p = ctx.data(bytesOf(convParams(q, depthwise, q.inZeroPoint, q.outZeroPoint, q.actMin, q.actMax)), `${q.name}.geometry`);
  const w = ctx.data(bytesOf(q.weights), `${q.name}.weights`);
  const qa = ctx.data(bytesOf(consts), `${q.name}.requant`);
  if (q.op === 'depthwise_s8' && q.filterC === 1 && q.inC === q.outC) {
    return ctx.call('tfl_depthwise_s8', [x, y, ctx.i32(w), ctx.i32(qa), ctx.i32(p)]);
  }
  const hasBias = mode === 1 ? !!q.bias64 : !!q.bias;
  return ctx.call('tfl_conv_int', [x, y, ctx.i32(w), ctx.i32(qa), ctx.i32(p), ctx.i32(s16 ? 2 : 1), ctx.i32(mode), ctx.i32(hasBias ? 1 : 0)]);
}

// ---------------------------------------------------------------- int8 kernels of runtime/kernels/conv_q.ts

const INT32_MIN = -2147483648;
/** The per-channel requantization conv_q.ts implements: multipliers other than -2^31, shifts in [-31, 31], an int8 range. */
function requantOk(s: ConvIntStep): boolean {
  for (let c = 0; c < s.outC; c++) if (s.multiplier[c] === INT32_MIN || !(s.shift[c] >= -31 && s.shift[c] <= 31)) return false;
  return Number.isInteger(s.actMin) && Number.isInteger(s.actMax) && s.actMin >= -128 && s.actMax <= 127 && s.actMin <= s.actMax
    && (!s.bias || s.bias.length >= s.outC) && s.multiplier.length >= s.outC && s.shift.length >= s.outC;
}

/**
 * Requantization constants of conv_q.ts per block of 4 channels (channels padded to a multiple of 8) and its flags:
 * bit 1 = the checked f32 layout (64 bytes per block: bias, M, f32 M / 2^(31+e), f32 2^-(e+1); every channel without
 * left shift, with a right shift e in 1..13, M > 2^30 and accumulators (bias included) below 2^23 in magnitude for any
 * input: accBound(c) bounds them), else the general one of runtime/kernels/dense_q.ts (112 bytes).
 */
export function convRequantConstants(bias: Int32Array, multiplier: Int32Array, shift: Int32Array, C: number, accBound: (c: number) => number): { bytes: Uint8Array; flags: number } {
  const blocks = Math.ceil(C / 8) * 2;
  let fast = true;
  for (let c = 0; c < C; c++) if (!(shift[c] <= -1 && shift[c] >= -13 && multiplier[c] > 2 ** 30 && accBound(c) < 2 ** 23)) fast = false;
  const QB = fast ? 64 : 112;
  const buf = new ArrayBuffer(blocks * QB);
  const q = new Int32Array(buf), f = new Float32Array(buf);
  for (let o = 0; o < blocks * 4; o++) {
    const g = (o >> 2) * (QB / 4), l = o & 3;
    const real = o < C;
    const sh = real ? shift[o] : -1;
    const lsh = sh > 0 ? sh : 0, e = sh > 0 ? 0 : -sh;
    q[g + l] = real ? bias[o] : 0;
    q[g + 4 + l] = real ? multiplier[o] : 2 ** 30 + 1;
    if (fast) {
      f[g + 8 + l] = Math.fround(q[g + 4 + l] / 2 ** (31 + e));
      f[g + 12 + l] = 2 ** -(e + 1);
    } else {
      q[g + 8 + l] = (1 << lsh) | 0;
      q[g + 12 + l] = ((2 ** e) - 1) | 0;
      q[g + 16 + l] = (((2 ** e) - 1) | 0) >> 1;
      q[g + 20 + l] = e > 0 ? 2 ** (31 - e) | 0 : 0;
      q[g + 24 + l] = e > 0 ? 0 : -1;
    }
  }
  return { bytes: new Uint8Array(buf), flags: fast ? 2 : 0 };
}

interface DwKernel {
  kernel: 'conv_dw_s8' | 'conv_dw1_s8';
  /** padded rows / columns (those the taps reach), whether the input is copied, its row bytes, scratch bytes */
  Hp: number; Wp: number; padded: boolean; rowBytes: number; scratch: number;
  /** tap pairs: [tap a, tap b] (b = -1: none, zero weight) and their byte offsets from a pixel's top-left input element */
  pairs: Array<[number, number]>; offsets: Array<[number, number]>;
}

/** The conv_q.ts kernel for an int8 depthwise step, or null when its quantization or geometry is outside their domain. */
function dwKernel(s: ConvIntStep): DwKernel | null {
  if (s.batches < 1 || s.outH < 1 || s.outW < 1 || !requantOk(s)) return null;
  const Hp = (s.outH - 1) * s.strideH + (s.kH - 1) * s.dilationH + 1, Wp = (s.outW - 1) * s.strideW + (s.kW - 1) * s.dilationW + 1;
  const pairs: Array<[number, number]> = [], offsets: Array<[number, number]> = [];
  if (s.filterC === 1 && s.inC === s.outC) {
    const padded = s.padH > 0 || s.padW > 0 || Hp > s.inH || Wp > s.inW;
    const C = s.inC, rowBytes = (padded ? Wp : s.inW) * C;
    const off = (t: number) => Math.floor(t / s.kW) * s.dilationH * rowBytes + (t % s.kW) * s.dilationW * C;
    const T = s.kH * s.kW;
    for (let t = 0; t < T; t += 2) {
      pairs.push([t, t + 1 < T ? t + 1 : -1]);
      offsets.push([off(t), off(t + 1 < T ? t + 1 : t)]);
    }
    return { kernel: 'conv_dw_s8', Hp, Wp, padded, rowBytes, scratch: padded ? Hp * Wp * C + 16 : 0, pairs, offsets };
  }
  if (s.inC === 1 && s.dilationW === 1) {
    const rowBytes = (Wp + 1) * 2;
    for (let ky = 0; ky < s.kH; ky++) for (let kx = 0; kx < s.kW; kx += 2) {
      pairs.push([ky * s.kW + kx, kx + 1 < s.kW ? ky * s.kW + kx + 1 : -1]);
      const o = ky * s.dilationH * rowBytes + kx * 2;
      offsets.push([o, o + 2]);
    }
    return { kernel: 'conv_dw1_s8', Hp, Wp, padded: true, rowBytes, scratch: Hp * rowBytes + 32, pairs, offsets };
  }
  return null;
}

function emitDwS8(q: ConvIntStep, k: DwKernel, ctx: WasmEmitContext): Expr {
  const C = q.outC, chunks = Math.ceil(C / 8), np = k.pairs.length;
  // weights: per block of 8 channels, per pair, 16 int8: channels 0..3 then 4..7, lanes (tap a, tap b) per channel
  const w = new Int8Array(chunks * np * 16);
  const wAt = (t: number, c: number) => (t < 0 || c >= C ? 0 : q.weights[t * C + c]);
  for (let ch = 0; ch < chunks; ch++) for (let p = 0; p < np; p++) for (let l = 0; l < 8; l++) {
    const c = ch * 8 + l, at = (ch * np + p) * 16 + (l >> 2) * 8 + (l & 3) * 2;
    w[at] = wAt(k.pairs[p][0], c);
    w[at + 1] = wAt(k.pairs[p][1], c);
  }
  // bias: folded with the zero point for the int8 copy (border = zero point); the i16 copy holds x - zp itself
  // accumulator bound: |bias| + sum |w| * max |x| (x: int8 as stored, or x - zp in [-255, 255])
  const bias = new Int32Array(C), bound = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0, abs = 0;
    for (let t = 0; t < q.kH * q.kW; t++) { sum += q.weights[t * C + c]; abs += Math.abs(q.weights[t * C + c]); }
    if (k.kernel !== 'conv_dw_s8') sum = 0;
    bias[c] = ((q.bias ? q.bias[c] : 0) - q.inZeroPoint * sum) | 0;
    bound[c] = Math.abs(bias[c]) + abs * (k.kernel === 'conv_dw_s8' ? 128 : 255);
  }
  const rq = convRequantConstants(bias, q.multiplier, q.shift, C, (c) => bound[c]);
  const p = Int32Array.from([
    q.batches, q.inH, q.inW, q.inC, q.outH, q.outW, q.outC, q.strideH, q.strideW, q.padH, q.padW, k.Hp, k.Wp, q.inZeroPoint, q.outZeroPoint,
    q.actMin, q.actMax, np, k.padded ? 1 : 0, rq.flags | (k.kernel === 'conv_dw1_s8' && q.kH === 3 && (q.kW === 3 || q.kW === 4) ? 4 : 0), k.rowBytes, ...k.offsets.flat(),
  ]);
  const xp = k.scratch > 0 ? ctx.scratch(k.scratch) : 0;
  return ctx.call(k.kernel, [
    ctx.i32(ctx.addr(q.in as BufferRef)), ctx.i32(ctx.addr(q.out as BufferRef)), ctx.i32(ctx.data(bytesOf(w), `${q.name}.weights`)),
    ctx.i32(ctx.data(rq.bytes, `${q.name}.requant`)), ctx.i32(ctx.data(bytesOf(p), `${q.name}.geometry`)), ctx.i32(xp),
  ]);
}

/** Must match PW_MAX_K in runtime/kernels/conv_q.ts. */
const PW_MAX_K = 16384 / 8;

/** A pointwise int8 convolution (1x1, stride 1, no padding, no groups) as conv_pw_s8, or null outside its domain. */
function emitPwS8(s: ConvIntStep, ctx: WasmEmitContext): Expr | null {
  if (!isPointwise(s) || s.filterC !== s.inC || s.inC > PW_MAX_K || !requantOk(s)) return null;
  const K = s.inC, N = s.outC, P = s.batches * s.outH * s.outW, kp = Math.ceil(K / 2), blocks = Math.ceil(N / 8);
  if (P < 1) return null;
  // weights [N][K] -> per block of 8 outputs, per input pair: outputs 0..3 then 4..7, lanes (w[o][k], w[o][k+1])
  const w = new Int8Array(blocks * kp * 16);
  const bias = new Int32Array(N), bound = new Float64Array(N);
  for (let o = 0; o < N; o++) {
    let sum = 0, abs = 0;
    for (let k = 0; k < K; k++) {
      const v = s.weights[o * K + k];
      sum += v; abs += Math.abs(v);
      w[((o >> 3) * kp + (k >> 1)) * 16 + ((o & 7) >> 2) * 8 + (o & 3) * 2 + (k & 1)] = v;
    }
    bias[o] = ((s.bias ? s.bias[o] : 0) - s.inZeroPoint * sum) | 0;
    bound[o] = Math.abs(bias[o]) + abs * 128;
  }
  const rq = convRequantConstants(bias, s.multiplier, s.shift, N, (o) => bound[o]);
  return ctx.call('conv_pw_s8', [
    ctx.i32(ctx.addr(s.in as BufferRef)), ctx.i32(ctx.addr(s.out as BufferRef)), ctx.i32(ctx.data(bytesOf(w), `${s.name}.weights`)),
    ctx.i32(ctx.data(rq.bytes, `${s.name}.requant`)), ctx.i32(P), ctx.i32(K), ctx.i32(N), ctx.i32(s.outZeroPoint), ctx.i32(s.actMin), ctx.i32(s.actMax), ctx.i32(rq.flags),
  ]);
}
