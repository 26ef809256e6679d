// TFLite's 8x8_16 integer UNIDIRECTIONAL_SEQUENCE_LSTM: the TS oracle (compiler/ops/lstm/index.ts lstmInt8, with the
// 16-bit gemmlowp logistic / tanh of compiler/ops/lstm/fixedpoint16.ts) operation by operation, so WASM gives the
// oracle's bits. Raw 16-bit adds, subtracts and negations wrap (w16) as gemmlowp's int16 operators do.
import { requantize } from './dense_s8';

@inline function w16(v: i32): i32 { return <i32><i16>v; }
@inline function sat16(v: i32): i32 { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

/** gemmlowp's trunc((ab + (ab >= 0 ? 2^14 : 1 - 2^14)) / 2^15), which equals floor((ab + 2^14) / 2^15). */
@inline function srdhm16(a: i32, b: i32): i32 {
  if (a == -32768 && b == -32768) return 32767;
  return w16((a * b + (1 << 14)) >> 15);
}

@inline function rdbp16(x: i32, e: i32): i32 {
  const mask = (1 << e) - 1;
  const thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return w16((x >> e) + ((x & mask) > thr ? 1 : 0));
}

/** 32-bit RoundingDivideByPOT (exponent 1..31). */
@inline function rdbp32(x: i32, e: i32): i32 {
  const mask = (1 << e) - 1;
  const thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + ((x & mask) > thr ? 1 : 0);
}

function smpot16(x: i32, e: i32): i32 {
  if (e == 0) return x;
  if (e < 0) return rdbp16(x, -e);
  const thr = (1 << (15 - e)) - 1;
  return x > thr ? 32767 : x < -thr ? -32768 : w16(x * (1 << e));
}

// gemmlowp's Q0.31 constants rounded to 16 bits (fixedpoint16.ts): exp(-1/8), 1/3, exp(-2^k) k = -2..4, 48/17, -32/17
const EXP_M8: i32 = 28918;
const THIRD: i32 = 10923;
const NR_A: i32 = 23130;
const NR_B: i32 = -15420;

@inline function barrel(k: i32): i32 {
  return k == 0 ? 25520 : k == 1 ? 19875 : k == 2 ? 12055 : k == 3 ? 4435 : k == 4 ? 600 : k == 5 ? 11 : 0;
}

function expQuarter16(a: i32): i32 {
  const x = w16(a + (1 << 12));
  const x2 = srdhm16(x, x), x3 = srdhm16(x2, x), x4 = srdhm16(x2, x2);
  const poly = rdbp16(w16(srdhm16(w16(rdbp16(x4, 2) + x3), THIRD) + x2), 1);
  return sat16(EXP_M8 + srdhm16(EXP_M8, w16(x + poly)));
}

function expNeg16(a: i32, ib: i32): i32 {
  const frac = 15 - ib, quarter = 1 << (frac - 2);
  const amq = w16((a & (quarter - 1)) - quarter);
  let result = expQuarter16(smpot16(amq, ib));
  const rem = w16(amq - a);
  for (let k = 0; k < 7; k++) {
    const e = k - 2;
    if (ib > e && (rem & (1 << (frac + e))) != 0) result = srdhm16(result, barrel(k));
  }
  if (ib > 5 && a < -(1 << (20 - ib))) result = 0;
  return a == 0 ? 32767 : result;
}

function nr16(a: i32, minus: bool): i32 {
  const s = a + 32767;
  const half = w16((s + (s >= 0 ? 1 : -1)) / 2);
  let x = w16(NR_A + srdhm16(half, NR_B));
  for (let i = 0; i < 3; i++) {
    const om = w16((1 << 13) - srdhm16(half, x));
    x = w16(x + smpot16(srdhm16(x, om), 2));
  }
  return minus ? smpot16(w16(x - (1 << 13)), 2) : smpot16(x, 1);
}

function logistic16(a: i32, ib: i32): i32 {
  if (a == 0) return 1 << 14;
  const p = nr16(expNeg16(w16(-(a > 0 ? a : w16(-a))), ib), false);
  return a > 0 ? p : w16(32767 - p);
}

function tanh16(a: i32, ib: i32): i32 {
  if (a == 0) return 0;
  const t = nr16(expNeg16(a < 0 ? a : w16(-a), ib + 1), true);
  return a < 0 ? w16(-t) : t;
}

@inline function prm(p: usize, k: i32): i32 { return load<i32>(p + (<usize>k << 2)); }

// p: batches, steps, inputs, units, timeMajor, cifg, gate multipliers [8] (input i f c o, recurrent i f c o),
//    gate shifts [8], hidden multiplier, hidden shift, hidden zero point, cell shift (30 + cellPow),
//    tanh integer bits (15 + cellPow), cell clip (0: none)
/** x, y, h: int8; c: int16; W [4][U][I], R [4][U][U]: int8; bx, bh [4][U]: int32 effective biases. */
export function tfl_lstm_s8(x: usize, y: usize, h: usize, c: usize, W: usize, R: usize, bx: usize, bh: usize, p: usize): void {
  const B = prm(p, 0), N = prm(p, 1), I = prm(p, 2), U = prm(p, 3), tm = prm(p, 4), cifg = prm(p, 5);
  const hm = prm(p, 22), hs = prm(p, 23), hz = prm(p, 24), cellShift = prm(p, 25), tanhBits = prm(p, 26), clip = prm(p, 27);
  let gi = 0, gf = 0, gc = 0, go = 0;
  for (let b = 0; b < B; b++) {
    const hb = h + <usize>(b * U), cb = c + (<usize>(b * U) << 1);
    for (let t = 0; t < N; t++) {
      const row = tm != 0 ? t * B + b : b * N + t;
      const xr = x + <usize>(row * I), yr = y + <usize>(row * U);
      for (let u = 0; u < U; u++) {
        for (let g = cifg != 0 ? 1 : 0; g < 4; g++) {
          const wr = W + <usize>((g * U + u) * I), rr = R + <usize>((g * U + u) * U);
          let acc = load<i32>(bx + (<usize>(g * U + u) << 2));
          for (let i = 0; i < I; i++) acc += <i32>load<i8>(wr + <usize>i) * <i32>load<i8>(xr + <usize>i);
          const v = sat16(requantize(acc, prm(p, 6 + g), prm(p, 14 + g)));
          let rec = load<i32>(bh + (<usize>(g * U + u) << 2));
          for (let k = 0; k < U; k++) rec += <i32>load<i8>(rr + <usize>k) * <i32>load<i8>(hb + <usize>k);
          const gv = sat16(requantize(rec, prm(p, 10 + g), prm(p, 18 + g)) + v);
          if (g == 0) gi = gv; else if (g == 1) gf = gv; else if (g == 2) gc = gv; else go = gv;
        }
        const fg = logistic16(gf, 3);
        const ig = cifg != 0 ? w16(32767 - fg) : logistic16(gi, 3);
        const gg = tanh16(gc, 3);
        const og = logistic16(go, 3);
        const cp = cb + (<usize>u << 1);
        let cell = sat16(w16(rdbp32(fg * <i32>load<i16>(cp), 15)) + w16(rdbp32(ig * gg, cellShift)));
        if (clip > 0) cell = cell > clip ? clip : cell < -clip ? -clip : cell;
        store<i16>(cp, cell);
        const o = requantize(og * tanh16(cell, tanhBits), hm, hs) + hz;
        store<i8>(yr + <usize>u, o < -128 ? -128 : o > 127 ? 127 : o);
      }
      for (let u = 0; u < U; u++) store<i8>(hb + <usize>u, load<i8>(yr + <usize>u));
    }
  }
}
