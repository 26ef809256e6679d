/**
 * gemmlowp's fixed-point logistic and tanh on 16-bit raw values (FixedPoint<int16_t, n> -> FixedPoint<int16_t, 0>),
 * the activations of TFLite's integer LSTM (portable_tensor_utils ApplySigmoid on Q3.12, ApplyTanh on Qn.(15-n)).
 * The same algorithms as the 32-bit forms in ops/tfl-softmax (exp on [-1/4, 0) by a Taylor polynomial around -1/8,
 * a barrel shifter over the integer bits, Newton-Raphson reciprocals), evaluated with 16-bit semantics:
 *  - every add, subtract and negate of a raw value wraps to int16 (gemmlowp's generic operators on int16_t);
 *  - products are SaturatingRoundingDoublingHighMul at 16 bits: (a*b + 2^14 or 1-2^14) / 2^15, truncated;
 *  - the Q0.31 constants become 16-bit ones by a rounding shift right by 16 (RescaleConstantInitializer);
 *  - the one saturating add (exp's final step) clamps to int16.
 * The C (lstm/c.ts) and AssemblyScript (runtime/kernels/lstm_q.ts) kernels implement exactly these steps.
 */
import { roundingDivideByPOT } from '../../quant/fixedpoint.js';

/** Wraps to int16 (two's complement). */
export const w16 = (v: number): number => (v << 16) >> 16;
export const sat16 = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

/** A gemmlowp Q0.31 constant as its 16-bit counterpart. */
const c16 = (v32: number): number => w16(roundingDivideByPOT(v32, 16));

/** exp(-1/8), 1/3 (Q0.15) */
export const EXP_MINUS_EIGHTH = c16(1895147668), ONE_THIRD = c16(715827883);
/** exp(-2^k) for k = -2..4 (Q0.15; the last rounds to 0) */
export const EXP_BARREL = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242].map(c16);
/** 48/17 and -32/17 (Q2.13) */
export const NR_48_17 = c16(1515870810), NR_NEG_32_17 = c16(-1010580540);

export function srdhm16(a: number, b: number): number {
  if (a === -32768 && b === -32768) return 32767;
  const ab = a * b;
  return w16(Math.trunc((ab + (ab >= 0 ? 1 << 14 : 1 - (1 << 14))) / 32768));
}

/** RoundingDivideByPOT on an int16 (exponent 0..15). */
export function rdbp16(x: number, e: number): number {
  const mask = (1 << e) - 1;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return w16((x >> e) + ((x & mask) > threshold ? 1 : 0));
}

/** SaturatingRoundingMultiplyByPOT<e> on an int16. */
export function satMulPot16(x: number, e: number): number {
  if (e === 0) return x;
  if (e < 0) return rdbp16(x, -e);
  const threshold = (1 << (15 - e)) - 1;
  return x > threshold ? 32767 : x < -threshold ? -32768 : w16(x * (1 << e));
}

/** exp(a) for a in [-1/4, 0), Q0.15 in and out. */
function expQuarter16(a: number): number {
  const x = w16(a + (1 << 12));
  const x2 = srdhm16(x, x), x3 = srdhm16(x2, x), x4 = srdhm16(x2, x2);
  const poly = rdbp16(w16(srdhm16(w16(rdbp16(x4, 2) + x3), ONE_THIRD) + x2), 1);
  return sat16(EXP_MINUS_EIGHTH + srdhm16(EXP_MINUS_EIGHTH, w16(x + poly)));
}

/** exp(a) for a <= 0 given with `ib` integer bits (Q(ib).(15-ib)); Q0.15 result (1 -> 32767). */
export function expOnNegativeValues16(a: number, ib: number): number {
  const frac = 15 - ib, quarter = 1 << (frac - 2);
  const amq = w16((a & (quarter - 1)) - quarter);
  let result = expQuarter16(satMulPot16(amq, ib));
  const rem = w16(amq - a);
  for (let k = 0; k < 7; k++) {
    const e = k - 2;
    if (ib > e && rem & (1 << (frac + e))) result = srdhm16(result, EXP_BARREL[k]);
  }
  if (ib > 5 && a < -(1 << (20 - ib))) result = 0;
  return a === 0 ? 32767 : result;
}

/** Newton-Raphson: 1 / (1 + a) (minus = false) or (1 - a) / (1 + a) (minus = true), a in [0, 1) as Q0.15. */
function nrRecip16(a: number, minus: boolean): number {
  const s = a + 32767;
  const half = w16(Math.trunc((s + (s >= 0 ? 1 : -1)) / 2));
  let x = w16(NR_48_17 + srdhm16(half, NR_NEG_32_17));
  for (let i = 0; i < 3; i++) {
    const om = w16((1 << 13) - srdhm16(half, x));
    x = w16(x + satMulPot16(srdhm16(x, om), 2));
  }
  return minus ? satMulPot16(w16(x - (1 << 13)), 2) : satMulPot16(x, 1);
}

/** gemmlowp::logistic of a Q(ib).(15-ib) int16 -> Q0.15 (TFLite ApplySigmoid: ib = 3). */
export function logistic16(a: number, ib: number): number {
  if (a === 0) return 1 << 14;
  const abs = a > 0 ? a : w16(-a);
  const pos = nrRecip16(expOnNegativeValues16(w16(-abs), ib), false);
  return a > 0 ? pos : w16(32767 - pos);
}

/** gemmlowp::tanh of a Q(ib).(15-ib) int16 -> Q0.15 (TFLite ApplyTanh(ib)). */
export function tanh16(a: number, ib: number): number {
  if (a === 0) return 0;
  const n = a < 0 ? a : w16(-a);
  const t = nrRecip16(expOnNegativeValues16(n, ib + 1), true);
  return a < 0 ? w16(-t) : t;
}
