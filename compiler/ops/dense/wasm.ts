/**
 * WASM emission for dense layers: constant data laid out for runtime/kernels/dense_f32.ts / dense_q.ts and one
 * kernel call. int8 and int4 layers (dense_s8 / dense_s4) whose requantization fits the checked f32 path
 * (checkedF32) run dense_i8_t / dense_i4_t (pair layout, no horizontal sums); the others pick a kernel by input
 * width (n <= 8, n <= 16, wider). Weights are stored in the kernel's layout (int4 stays packed, two weights per byte).
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { Activation, DenseF32Step, DenseS4Step, DenseS8Step } from '../../plan/program.js';
import { unpackInt4 } from './quantize.js';

/** The kernels walk rows * features elements; refuse buffers that do not hold them. */
function checkRows(step: DenseF32Step | DenseS8Step | DenseS4Step): number {
  const rows = step.rows ?? 1;
  if (!Number.isInteger(rows) || rows < 1 || step.in.length < rows * step.inFeatures || step.out.length < rows * step.outFeatures) {
    fail(`program step '${step.name}': ${rows} rows of ${step.inFeatures} -> ${step.outFeatures} do not fit its buffers (${step.in.length} -> ${step.out.length} values)`);
  }
  return rows;
}

/** Must match the ACT_* constants in runtime/kernels/dense_f32.ts. */
export const WASM_ACTIVATION_CODE: Record<Activation, number> = { linear: 0, relu: 1, tanh: 2, sigmoid: 3, gelu: 4 };

/** Bytes per block of 4 outputs in the requantization constants (QB in runtime/kernels/dense_q.ts). */
const QB = 112;
const INT32_MIN = -2147483648;

/**
 * Per block of 4 outputs (padded with zero channels), i32x4 each: bias, multiplier, 1 << leftShift, mask, mask >> 1
 * (mask = 2^rightShift - 1), 2^(31 - rightShift) (0 for no right shift), -1 where rightShift = 0: the layout
 * runtime/kernels/dense_q.ts requantizes lane-parallel.
 */
function requantConstants(step: DenseS8Step | DenseS4Step): Uint8Array {
  const m = step.outFeatures, groups = Math.ceil(m / 8) * 2;
  const q = new Int32Array(groups * (QB / 4));
  // padding channels: no left shift (their outputs are never stored)
  for (let o = m; o < groups * 4; o++) q[(o >> 2) * (QB / 4) + 8 + (o & 3)] = 1;
  for (let o = 0; o < m; o++) {
    const g = (o >> 2) * (QB / 4), l = o & 3, sh = step.shift[o];
    const left = sh > 0 ? sh : 0, right = sh > 0 ? 0 : -sh;
    q[g + l] = step.bias[o];
    q[g + 4 + l] = step.multiplier[o];
    q[g + 8 + l] = (1 << left) | 0;
    q[g + 12 + l] = ((1 << right) - 1) | 0;
    q[g + 16 + l] = ((1 << right) - 1) >> 1;
    q[g + 20 + l] = right > 0 ? 2 ** (31 - right) : 0;
    q[g + 24 + l] = right > 0 ? 0 : -1;
  }
  return bytesOf(q);
}

/** The vector kernels' preconditions (the TS oracle's corner cases they do not reproduce). */
function checkQuantized(step: DenseS8Step | DenseS4Step): void {
  const { name, outFeatures: m } = step;
  if (step.bias.length < m || step.multiplier.length < m || step.shift.length < m) fail(`program step '${name}': per-channel arrays hold fewer than ${m} channels`);
  for (let o = 0; o < m; o++) {
    if (step.multiplier[o] === INT32_MIN) fail(`program step '${name}': channel ${o} has multiplier -2^31, which no quantizer produces; the program file is corrupt`);
    if (step.shift[o] < -31 || step.shift[o] > 31) fail(`program step '${name}': channel ${o} has shift ${step.shift[o]} outside [-31, 31]; the program file is corrupt`);
  }
  const inRange = (v: number) => Number.isInteger(v) && v >= -128 && v <= 127;
  if (!inRange(step.actMin) || !inRange(step.actMax) || step.actMin > step.actMax) fail(`program step '${name}': activation range [${step.actMin}, ${step.actMax}] is not an int8 range`);
  if (step.lut && step.lut.length !== 256) fail(`program step '${name}': the activation table has ${step.lut.length} entries, not 256`);
}

/** Weight bytes per output row and the kernel for a layer of n inputs (layouts: runtime/kernels/dense_q.ts). */
function denseLayout(n: number, bits: 4 | 8): { kernel: string; rowBytes: number; block: number; generic: boolean } {
  if (n <= 8) return { kernel: `dense_i${bits}_n8`, rowBytes: bits === 8 ? 8 : 4, block: 8, generic: false };
  if (n <= 16) return { kernel: `dense_i${bits}_n16`, rowBytes: bits === 8 ? 16 : 8, block: 16, generic: false };
  return bits === 8
    ? { kernel: 'dense_i8_g', rowBytes: (n + 15) & ~15, block: 16, generic: true }
    : { kernel: 'dense_i4_g', rowBytes: ((n + 31) >> 5) * 16, block: 32, generic: true };
}

/** int8 weights [m][n] laid out for the kernel: rows of rowBytes, outputs padded to a multiple of 8. */
function layoutWeights(q: Int8Array, n: number, m: number, bits: 4 | 8, rowBytes: number, block: number): Int8Array {
  const mp = Math.ceil(m / 8) * 8;
  const w = new Int8Array(mp * rowBytes);
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < n; i++) {
      const v = q[o * n + i];
      if (bits === 8) { w[o * rowBytes + i] = v; continue; }
      // block of `block` columns in block/2 bytes: byte k = column k (low nibble) | column block/2 + k (high)
      const b = Math.floor(i / block), k = i % block, half = block / 2;
      const at = o * rowBytes + b * half + (k % half);
      w[at] |= k < half ? v & 0xf : (v & 0xf) << 4;
    }
  }
  return w;
}

/** Bytes per block of 4 outputs of the checked f32 constants (QC in runtime/kernels/dense_q.ts). */
const QC = 64;
/** Widest input of dense_i8_t / dense_i4_t: 4 widened rows of padded pairs fill their 16 KB buffer. */
const PAIR_MAX_N = 2048;

/**
 * Whether every channel fits the checked f32 requantization of dense_i8_t / dense_i4_t (its derivation:
 * runtime/kernels/dense_q.ts): no left shift, M >= 0, and for any int8 input the accumulator a (bias included)
 * has |a| < 2^23 (exact in f32) and |a| M / 2^(31+e) < 2^21 (the f32 estimate is off by less than 1 where the
 * int8 range saturates).
 */
export function checkedF32(step: DenseS8Step | DenseS4Step, q: Int8Array): boolean {
  const n = step.inFeatures;
  for (let o = 0; o < step.outFeatures; o++) {
    const M = step.multiplier[o], sh = step.shift[o];
    if (sh > 0 || M < 0) return false;
    let pos = 0, neg = 0;
    for (let i = 0; i < n; i++) { const w = q[o * n + i]; if (w > 0) pos += w; else neg -= w; }
    // x in [-128, 127]: a ranges over [bias - 128 pos - 127 neg, bias + 127 pos + 128 neg]
    const bound = Math.max(Math.abs(step.bias[o] - 128 * pos - 127 * neg), Math.abs(step.bias[o] + 127 * pos + 128 * neg));
    if (bound >= 2 ** 23 || bound * M / 2 ** (31 - sh) >= 2 ** 21) return false;
  }
  return true;
}

/** Per block of 4 outputs (padded with zero channels to a multiple of 8): bias, f32 M / 2^(31+e), f32 2^-(e+1) (0 for e = 0), M. */
function checkedConstants(step: DenseS8Step | DenseS4Step): Uint8Array {
  const m = step.outFeatures, blocks = Math.ceil(m / 8) * 2;
  const buf = new ArrayBuffer(blocks * QC);
  const i32 = new Int32Array(buf), f32 = new Float32Array(buf);
  for (let o = 0; o < m; o++) {
    const g = (o >> 2) * (QC / 4), l = o & 3, e = -step.shift[o];
    i32[g + l] = step.bias[o];
    f32[g + 4 + l] = Math.fround(step.multiplier[o] / 2 ** (31 + e));
    f32[g + 8 + l] = e > 0 ? 2 ** -(e + 1) : 0;
    i32[g + 12 + l] = step.multiplier[o];
  }
  return new Uint8Array(buf);
}

/**
 * int8 weights [m][n] in the pair layout: per block of 8 outputs (padded with zeros), per input pair (k, k + 1)
 * (ceil(n / 4) * 2 pairs), 16 int8: outputs 0..3 then 4..7, each (w[o][k], w[o][k+1]); int4: 8 bytes, element j
 * of those 16 in byte j's low nibble and element j + 8 in its high nibble.
 */
function pairWeights(q: Int8Array, n: number, m: number, bits: 4 | 8): Int8Array {
  const kp = Math.ceil(n / 4) * 2, ps = bits === 8 ? 16 : 8;
  const w = new Int8Array(Math.ceil(m / 8) * kp * ps);
  for (let o = 0; o < m; o++) {
    for (let k = 0; k < n; k++) {
      const v = q[o * n + k], el = ((o & 7) >> 2) * 8 + (o & 3) * 2 + (k & 1), at = ((o >> 3) * kp + (k >> 1)) * ps;
      if (bits === 8) w[at + el] = v;
      else if (el < 8) w[at + el] |= v & 0xf;
      else w[at + el - 8] |= (v & 0xf) << 4;
    }
  }
  return w;
}

function emitDenseQuantized(step: DenseS8Step | DenseS4Step, q: Int8Array, bits: 4 | 8, ctx: WasmEmitContext): Expr {
  checkQuantized(step);
  const rows = checkRows(step);
  const n = step.inFeatures, m = step.outFeatures;
  if ((ctx.supports?.(`dense_i${bits}_t`) ?? true) && n <= PAIR_MAX_N && checkedF32(step, q)) {
    const pw = ctx.data(bytesOf(pairWeights(q, n, m, bits)), `${step.name}.weights`);
    const pc = ctx.data(checkedConstants(step), `${step.name}.requant`);
    const plut = step.lut ? ctx.data(bytesOf(step.lut), `${step.name}.lut`) : 0;
    return ctx.call(`dense_i${bits}_t`, [
      ctx.i32(ctx.addr(step.in)), ctx.i32(n), ctx.i32(rows), ctx.i32(pw), ctx.i32(m), ctx.i32(pc),
      ctx.i32(step.outZeroPoint), ctx.i32(step.actMin), ctx.i32(step.actMax), ctx.i32(plut), ctx.i32(ctx.addr(step.out)),
    ]);
  }
  const { kernel, rowBytes, block, generic } = denseLayout(n, bits);
  const w = ctx.data(bytesOf(layoutWeights(q, n, m, bits, rowBytes, block)), `${step.name}.weights`);
  const consts = ctx.data(requantConstants(step), `${step.name}.requant`);
  const lut = step.lut ? ctx.data(bytesOf(step.lut), `${step.name}.lut`) : 0;
  return ctx.call(kernel, [
    ctx.i32(ctx.addr(step.in)), ctx.i32(n), ctx.i32(rows), ctx.i32(w), ...(generic ? [ctx.i32(rowBytes)] : []), ctx.i32(m), ctx.i32(consts),
    ctx.i32(step.outZeroPoint), ctx.i32(step.actMin), ctx.i32(step.actMax), ctx.i32(lut), ctx.i32(ctx.addr(step.out)),
  ]);
}

export function emitDenseS8Wasm(step: DenseS8Step, ctx: WasmEmitContext): Expr {
  if (step.weights.length !== step.inFeatures * step.outFeatures) fail(`program step '${step.name}': ${step.weights.length} weights for ${step.outFeatures} x ${step.inFeatures}`);
  return emitDenseQuantized(step, step.weights, 8, ctx);
}

export function emitDenseS4Wasm(step: DenseS4Step, ctx: WasmEmitContext): Expr {
  const n = step.inFeatures, m = step.outFeatures;
  if (step.weights.length !== m * Math.ceil(n / 2)) fail(`program step '${step.name}': ${step.weights.length} packed weight bytes for ${m} x ${n} int4 weights`);
  return emitDenseQuantized(step, unpackInt4(step.weights, m, n), 4, ctx);
}

/** Narrow layers use the transposed-weights kernel (no horizontal sums per output); needs m % 4 == 0. */
export function useTransposedDense(step: DenseF32Step): boolean {
  return step.inFeatures <= 32 && step.outFeatures % 4 === 0;
}

export function emitDenseF32Wasm(step: DenseF32Step, ctx: WasmEmitContext): Expr {
  if (useTransposedDense(step)) {
    const rows = checkRows(step), n = step.inFeatures, m = step.outFeatures;
    const wt = new Float32Array(n * m);
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) wt[i * m + o] = step.weights[o * n + i];
    return ctx.call('dense_f32_t', [
      ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.data(bytesOf(wt), `${step.name}.weights_t`)), ctx.i32(n), ctx.i32(m),
      ctx.i32(ctx.data(bytesOf(step.bias), `${step.name}.bias`)), ctx.i32(WASM_ACTIVATION_CODE[step.activation]), ctx.i32(ctx.addr(step.out)), ctx.i32(rows),
    ]);
  }
  const wAddr = ctx.data(bytesOf(step.weights), `${step.name}.weights`);
  const bias = ctx.data(bytesOf(step.bias), `${step.name}.bias`);
  const args = [
    ctx.i32(ctx.addr(step.in)), ctx.i32(wAddr), ctx.i32(step.inFeatures), ctx.i32(step.outFeatures), ctx.i32(bias),
    ctx.i32(WASM_ACTIVATION_CODE[step.activation]), ctx.i32(ctx.addr(step.out)),
  ];
  const rows = checkRows(step);
  return rows === 1 ? ctx.call('dense_f32', args) : ctx.call('dense_f32_rows', [...args, ctx.i32(rows)]);
}
