// TensorFlow Lite kernels (int8, int16x8, float32): the TS oracle of compiler/ops/<op>/index.ts operation by
// operation (TFLM reference semantics), so WASM gives the same bits as the oracle and the C backend.
// Geometry and quantization parameters come in i32 parameter blocks (`p`) that compiler/ops/<op>/wasm.ts
// places in the data segment; element sizes (`es`: 1 int8, 2 int16, 4 int32/float32) select the loads.
// Every integer operation wraps like the oracle's `| 0` / Math.imul; float ones are f32 in the oracle's order
// except where the oracle computes in double (logistic / tanh / LSTM gates: exp and tanh are fdlibm's, as V8's).
import { requantize } from './dense_s8';

// ---------------------------------------------------------------- element access

@inline function ldi(p: usize, i: i32, es: i32): i32 {
  if (es == 1) return <i32>load<i8>(p + <usize>i);
  if (es == 2) return <i32>load<i16>(p + (<usize>i << 1));
  return load<i32>(p + (<usize>i << 2));
}

@inline function sti(p: usize, i: i32, es: i32, v: i32): void {
  if (es == 1) store<i8>(p + <usize>i, v);
  else if (es == 2) store<i16>(p + (<usize>i << 1), v);
  else store<i32>(p + (<usize>i << 2), v);
}

@inline function ldf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
@inline function stf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
@inline function prm(p: usize, k: i32): i32 { return load<i32>(p + (<usize>k << 2)); }

@inline function clampI64(v: i64, lo: i32, hi: i32): i32 {
  return v < i64(lo) ? lo : v > i64(hi) ? hi : i32(v);
}

@inline function lowOf(es: i32): i32 { return es == 1 ? -128 : es == 2 ? -32768 : i32.MIN_VALUE; }
@inline function highOf(es: i32): i32 { return es == 1 ? 127 : es == 2 ? 32767 : i32.MAX_VALUE; }

// ---------------------------------------------------------------- fixed point (compiler/quant/fixedpoint.ts, ops/tflite.ts)

@inline function srdhm(a: i32, b: i32): i32 {
  if (a == i32.MIN_VALUE && b == i32.MIN_VALUE) return i32.MAX_VALUE;
  const ab = i64(a) * i64(b);
  const nudge: i64 = ab >= 0 ? (1 << 30) : 1 - (1 << 30);
  return i32((ab + nudge) / (i64(1) << 31));
}

@inline function rdbp(x: i32, e: i32): i32 {
  if (e == 0) return x;
  const mask = (1 << e) - 1;
  const rem = x & mask;
  const thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}

/** TFLite's 64-bit MultiplyByQuantizedMultiplier (int16x8 kernels). */
@inline function mbqm64(x: i64, m: i32, shift: i32): i32 {
  const reduced: i64 = m < 0x7fff0000 ? i64((m + (1 << 15)) >> 16) : 0x7fff;
  const total = i64(15 - shift);
  return i32((x * reduced + (i64(1) << (total - 1))) >> total);
}

@inline function satMulPOT(x: i32, e: i32): i32 {
  if (e == 0) return x;
  if (e < 0) return rdbp(x, -e);
  const thr = (1 << (31 - e)) - 1;
  if (x > thr) return i32.MAX_VALUE;
  if (x < -thr) return i32.MIN_VALUE;
  return x << e;
}

function expQuarter(a: i32): i32 {
  const c: i32 = 1895147668, third: i32 = 715827883;
  const x = a + (1 << 28);
  const x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  const x4o4 = satMulPOT(x4, -2);
  const poly = satMulPOT(srdhm(x4o4 + x3, third) + x2, -1);
  return c + srdhm(c, x + poly);
}

const EXP_BARREL: StaticArray<i32> = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];

/** gemmlowp exp_on_negative_values (Q(ib).(31-ib) in, Q0.31 out). */
function expNeg(a: i32, ib: i32): i32 {
  const frac = 31 - ib;
  const quarter = 1 << (frac - 2);
  const amq = (a & (quarter - 1)) - quarter;
  let result = expQuarter(satMulPOT(amq, ib));
  const rem = amq - a;
  for (let k = 0; k < 7; k++) {
    const e = k - 2;
    if (ib > e && (rem & (1 << (frac + e))) != 0) result = srdhm(result, unchecked(EXP_BARREL[k]));
  }
  if (ib > 5 && a < -(1 << (36 - ib))) result = 0;
  if (a == 0) result = i32.MAX_VALUE;
  return result;
}

/** gemmlowp one_over_one_plus_x (minus = 0) / one_minus_x_over_one_plus_x (minus = 1), Q0.31. */
function nrRecip(a: i32, minus: bool): i32 {
  const s = i64(a) + i64(i32.MAX_VALUE);
  const half = i32((s + (s >= 0 ? 1 : -1)) / 2);
  let x: i32 = 1515870810 + srdhm(half, -1010580540);
  for (let i = 0; i < 3; i++) {
    const om = (1 << 29) - srdhm(half, x);
    x = x + satMulPOT(srdhm(x, om), 2);
  }
  return minus ? satMulPOT(x - (1 << 29), 2) : satMulPOT(x >> 1, 2);
}

// ---------------------------------------------------------------- fdlibm exp / expm1 / tanh (as V8's Math.exp / Math.tanh)

@inline function hiWord(x: f64): u32 { return <u32>(reinterpret<u64>(x) >> 32); }
@inline function loWord(x: f64): u32 { return <u32>reinterpret<u64>(x); }
@inline function addExp(y: f64, k: i32): f64 { return reinterpret<f64>(reinterpret<i64>(y) + (i64(k) << 52)); }

const LN2HI: f64 = 6.93147180369123816490e-01;
const LN2LO: f64 = 1.90821492927058770002e-10;
const INVLN2: f64 = 1.44269504088896338700e+00;

export function tfl_exp(x: f64): f64 {
  let hx = hiWord(x);
  const xsb = <i32>(hx >> 31);
  hx &= 0x7fffffff;
  let hi: f64 = 0, lo: f64 = 0, k = 0;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | loWord(x)) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > 7.09782712893383973096e+02) return Infinity;
    if (x < -7.45133219101941108420e+02) return 0;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      if (x == 1.0) return 2.718281828459045235360;
      hi = xsb == 0 ? x - LN2HI : x + LN2HI;
      lo = xsb == 0 ? LN2LO : -LN2LO;
      k = 1 - xsb - xsb;
    } else {
      k = <i32>(INVLN2 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = <f64>k;
      hi = x - t * LN2HI;
      lo = t * LN2LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1.0 + x;
  } else k = 0;
  const t = x * x;
  const c = x - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03 + t * (6.61375632143793436117e-05
    + t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return addExp(y, 1023) * 2.0;
    return addExp(y, k);
  }
  return addExp(y, k + 1000) * 9.33263618503218878990e-302;
}

function expm1(x: f64): f64 {
  let hx = hiWord(x);
  const xsb = hx & 0x80000000;
  hx &= 0x7fffffff;
  let hi: f64 = 0, lo: f64 = 0, c: f64 = 0, k = 0;
  if (hx >= 0x4043687A) {
    if (hx >= 0x40862E42) {
      if (hx >= 0x7ff00000) {
        if (((hx & 0xfffff) | loWord(x)) != 0) return x + x;
        return xsb == 0 ? x : -1.0;
      }
      if (x > 7.09782712893383973096e+02) return Infinity;
    }
    if (xsb != 0) return -1.0;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      if (xsb == 0) { hi = x - LN2HI; lo = LN2LO; k = 1; } else { hi = x + LN2HI; lo = -LN2LO; k = -1; }
    } else {
      k = <i32>(INVLN2 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = <f64>k;
      hi = x - t * LN2HI;
      lo = t * LN2LO;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x3c900000) {
    return x;
  } else k = 0;
  const hfx = 0.5 * x;
  const hxs = x * hfx;
  const r1 = 1.0 + hxs * (-3.33333333333331316428e-02 + hxs * (1.58730158725481460165e-03 + hxs * (-7.93650757867487942473e-05
    + hxs * (4.00821782732936239552e-06 + hxs * -2.01099218183624371326e-07))));
  let t = 3.0 - r1 * hfx;
  let e = hxs * ((r1 - t) / (6.0 - x * t));
  if (k == 0) return x - (x * e - hxs);
  e = x * (e - c) - c;
  e -= hxs;
  if (k == -1) return 0.5 * (x - e) - 0.5;
  if (k == 1) {
    if (x < -0.25) return -2.0 * (e - (x + 0.5));
    return 1.0 + 2.0 * (x - e);
  }
  if (k <= -2 || k > 56) {
    let y = 1.0 - (e - x);
    if (k == 1024) y = addExp(y, 1023) * 2.0;
    else y = addExp(y, k);
    return y - 1.0;
  }
  let y: f64;
  if (k < 20) {
    t = reinterpret<f64>(<u64>(0x3ff00000 - (0x200000 >> k)) << 32);
    y = t - (e - x);
    y = addExp(y, k);
  } else {
    t = reinterpret<f64>(<u64>((0x3ff - k) << 20) << 32);
    y = x - (e + t);
    y += 1.0;
    y = addExp(y, k);
  }
  return y;
}

export function tfl_tanh(x: f64): f64 {
  const jx = <i32>hiWord(x);
  const ix = jx & 0x7fffffff;
  if (ix >= 0x7ff00000) return jx >= 0 ? 1.0 / x + 1.0 : 1.0 / x - 1.0;
  let z: f64;
  if (ix < 0x40360000) {
    if (ix < 0x3e300000) return x;
    if (ix >= 0x3ff00000) {
      const t = expm1(2.0 * Math.abs(x));
      z = 1.0 - 2.0 / (t + 2.0);
    } else {
      const t = expm1(-2.0 * Math.abs(x));
      z = -t / (t + 2.0);
    }
  } else z = 1.0;
  return jx >= 0 ? z : -z;
}

@inline function sigmoidF(v: f32): f32 { return <f32>(1.0 / (1.0 + tfl_exp(-<f64>v))); }

// ---------------------------------------------------------------- CONV_2D / DEPTHWISE_CONV_2D (ops/conv)

// p: batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padH, padW,
//    filterC, depthwise, inZp, outZp, actMin, actMax
// q: per output channel 4 x i32: bias lo, bias hi (int64 mode), multiplier, shift
// mode: 0 = int32 accumulator (+ bias lo when hasBias) and mbqm + outZp; 1 = int64 accumulator (+ bias hi:lo when hasBias), mbqm64

/** Integer convolution, generic (grouped, dilated, int8 or int16 activations, int8 weights). */
export function tfl_conv_int(x: usize, y: usize, w: usize, q: usize, p: usize, es: i32, mode: i32, hasBias: i32): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5), outC = prm(p, 6);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), dH = prm(p, 11), dW = prm(p, 12), padH = prm(p, 13), padW = prm(p, 14);
  const fC = prm(p, 15), dw = prm(p, 16), zp = prm(p, 17), outZp = prm(p, 18), lo = prm(p, 19), hi = prm(p, 20);
  const perGroup = dw != 0 ? 1 : outC / (inC / fC);
  let oi = 0;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    for (let c = 0; c < outC; c++) {
      let a32: i32 = 0;
      let a64: i64 = 0;
      const xoff = dw != 0 ? c / fC : (c / perGroup) * fC;
      for (let ky = 0; ky < kH; ky++) {
        const iy = y0 + ky * dH;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx * dW;
          if (ix < 0 || ix >= inW) continue;
          const base = ((b * inH + iy) * inW + ix) * inC + xoff;
          if (dw != 0) {
            const wv = <i32>load<i8>(w + <usize>((ky * kW + kx) * outC + c));
            const xv = ldi(x, base, es);
            if (mode == 0) a32 += wv * (xv - zp); else a64 += i64(wv * xv);
          } else {
            const wb = w + <usize>(((c * kH + ky) * kW + kx) * fC);
            if (mode == 0) {
              for (let ic = 0; ic < fC; ic++) a32 += <i32>load<i8>(wb + <usize>ic) * (ldi(x, base + ic, es) - zp);
            } else {
              for (let ic = 0; ic < fC; ic++) a64 += i64(<i32>load<i8>(wb + <usize>ic) * ldi(x, base + ic, es));
            }
          }
        }
      }
      const qc = q + (<usize>c << 4);
      let v: i64;
      if (mode == 0) {
        if (hasBias) a32 += load<i32>(qc);
        v = i64(requantize(a32, load<i32>(qc, 8), load<i32>(qc, 12))) + i64(outZp);
      } else {
        if (hasBias) a64 += (i64(load<i32>(qc, 4)) << 32) + i64(load<u32>(qc));
        v = i64(mbqm64(a64, load<i32>(qc, 8), load<i32>(qc, 12)));
      }
      sti(y, oi++, es, clampI64(v, lo, hi));
    }
  }
}

/**
 * int8 depthwise convolution, 4 channels per pass (depth multiplier 1): interior pixels use a folded bias
 * (bias - inZp * sum w, q lane 1) and no zero-point subtraction; border pixels subtract the zero point over the
 * in-image taps. Both equal the oracle's int32 sum mod 2^32. Weights [kH*kW][outC] (the file's layout).
 */
export function tfl_depthwise_s8(x: usize, y: usize, w: usize, q: usize, p: usize): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5), C = prm(p, 6);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), dH = prm(p, 11), dW = prm(p, 12), padH = prm(p, 13), padW = prm(p, 14);
  const zp = prm(p, 17), outZp = prm(p, 18), lo = prm(p, 19), hi = prm(p, 20);
  const zpv = i32x4.splat(zp);
  const C4 = C & ~3;
  let oi = 0;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    const interior = y0 >= 0 && y0 + (kH - 1) * dH < inH && x0 >= 0 && x0 + (kW - 1) * dW < inW;
    let c = 0;
    for (; c < C4; c += 4) {
      let acc = i32x4.splat(0);
      for (let ky = 0; ky < kH; ky++) {
        const iy = y0 + ky * dH;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx * dW;
          if (ix < 0 || ix >= inW) continue;
          let xv = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(x + <usize>(((b * inH + iy) * inW + ix) * inC + c))));
          if (!interior) xv = i32x4.sub(xv, zpv);
          const wv = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(w + <usize>((ky * kW + kx) * C + c))));
          acc = i32x4.add(acc, i32x4.mul(xv, wv));
        }
      }
      for (let l = 0; l < 4; l++) {
        const qc = q + (<usize>(c + l) << 4);
        const a = i32x4.extract_lane(acc, 0) + (interior ? load<i32>(qc, 4) : load<i32>(qc));
        sti(y, oi + l, 1, clampI64(i64(requantize(a, load<i32>(qc, 8), load<i32>(qc, 12))) + i64(outZp), lo, hi));
        acc = i32x4.shuffle(acc, acc, 1, 2, 3, 0);
      }
      oi += 4;
    }
    for (; c < C; c++) {
      let a: i32 = 0;
      for (let ky = 0; ky < kH; ky++) {
        const iy = y0 + ky * dH;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx * dW;
          if (ix < 0 || ix >= inW) continue;
          a += <i32>load<i8>(w + <usize>((ky * kW + kx) * C + c)) * (<i32>load<i8>(x + <usize>(((b * inH + iy) * inW + ix) * inC + c)) - zp);
        }
      }
      const qc = q + (<usize>c << 4);
      a += load<i32>(qc);
      sti(y, oi++, 1, clampI64(i64(requantize(a, load<i32>(qc, 8), load<i32>(qc, 12))) + i64(outZp), lo, hi));
    }
  }
}

/** int8 im2col for convolutions run as dense layers: rows of kH*kW*inC, taps outside the image hold the zero point. */
export function tfl_im2col_s8(x: usize, col: usize, p: usize): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), dH = prm(p, 11), dW = prm(p, 12), padH = prm(p, 13), padW = prm(p, 14);
  const zp = prm(p, 17);
  let d = col;
  const n = <usize>inC;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    for (let ky = 0; ky < kH; ky++) {
      const iy = y0 + ky * dH;
      for (let kx = 0; kx < kW; kx++) {
        const ix = x0 + kx * dW;
        if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
          for (let i: usize = 0; i < n; i++) store<i8>(d + i, zp);
        } else {
          const s = x + <usize>(((b * inH + iy) * inW + ix) * inC);
          let i: usize = 0;
          for (; i + 16 <= n; i += 16) v128.store(d + i, v128.load(s + i));
          for (; i < n; i++) store<u8>(d + i, load<u8>(s + i));
        }
        d += n;
      }
    }
  }
}

/** Float convolution: acc = f32(acc + f32(x * w)) over the in-image taps (ky, kx, ic), + bias, clamp. */
export function tfl_conv_f32(x: usize, y: usize, w: usize, bias: usize, p: usize, lo: f32, hi: f32): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5), outC = prm(p, 6);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), dH = prm(p, 11), dW = prm(p, 12), padH = prm(p, 13), padW = prm(p, 14);
  const fC = prm(p, 15), dw = prm(p, 16);
  const perGroup = dw != 0 ? 1 : outC / (inC / fC);
  let oi = 0;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    for (let c = 0; c < outC; c++) {
      let acc: f32 = 0;
      const xoff = dw != 0 ? c / fC : (c / perGroup) * fC;
      for (let ky = 0; ky < kH; ky++) {
        const iy = y0 + ky * dH;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx * dW;
          if (ix < 0 || ix >= inW) continue;
          const base = ((b * inH + iy) * inW + ix) * inC + xoff;
          if (dw != 0) acc = acc + ldf(x, base) * ldf(w, (ky * kW + kx) * outC + c);
          else {
            const wb = ((c * kH + ky) * kW + kx) * fC;
            for (let ic = 0; ic < fC; ic++) acc = acc + ldf(x, base + ic) * ldf(w, wb + ic);
          }
        }
      }
      if (bias != 0) acc = acc + ldf(bias, c);
      stf(y, oi++, acc < lo ? lo : acc > hi ? hi : acc);
    }
  }
}

// ---------------------------------------------------------------- TRANSPOSE_CONV (ops/transpose-conv)

// p: batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padH, padW, inZp, outZp, actMin, actMax

/** Scatter into the accumulator image `acc` (i32, or i64 in mode 1), then requantize per output element. */
export function tfl_transpose_conv_int(x: usize, y: usize, w: usize, q: usize, p: usize, acc: usize, es: i32, mode: i32, hasBias: i32): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5), outC = prm(p, 6);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), padH = prm(p, 11), padW = prm(p, 12);
  const zp = prm(p, 13), outZp = prm(p, 14), lo = prm(p, 15), hi = prm(p, 16);
  const total = B * outH * outW * outC;
  const ab: usize = mode == 0 ? 2 : 3;
  for (let o = 0; o < total; o++) { if (mode == 0) store<i32>(acc + (<usize>o << 2), 0); else store<i64>(acc + (<usize>o << 3), 0); }
  for (let b = 0; b < B; b++) for (let iy = 0; iy < inH; iy++) for (let ix = 0; ix < inW; ix++) for (let ic = 0; ic < inC; ic++) {
    const xv = ldi(x, ((b * inH + iy) * inW + ix) * inC + ic, es) - zp;
    const y0 = iy * sH - padH, x0 = ix * sW - padW;
    for (let ky = 0; ky < kH; ky++) {
      const oy = y0 + ky;
      if (oy < 0 || oy >= outH) continue;
      for (let kx = 0; kx < kW; kx++) {
        const ox = x0 + kx;
        if (ox < 0 || ox >= outW) continue;
        const ob = ((b * outH + oy) * outW + ox) * outC;
        for (let oc = 0; oc < outC; oc++) {
          const prod = xv * <i32>load<i8>(w + <usize>(((oc * kH + ky) * kW + kx) * inC + ic));
          const at = acc + (<usize>(ob + oc) << ab);
          if (mode == 0) store<i32>(at, load<i32>(at) + prod); else store<i64>(at, load<i64>(at) + i64(prod));
        }
      }
    }
  }
  for (let o = 0; o < total; o++) {
    const c = o % outC;
    const qc = q + (<usize>c << 4);
    let v: i64;
    if (mode == 0) {
      let a = load<i32>(acc + (<usize>o << 2));
      if (hasBias) a += load<i32>(qc);
      v = i64(requantize(a, load<i32>(qc, 8), load<i32>(qc, 12))) + i64(outZp);
    } else {
      let a = load<i64>(acc + (<usize>o << 3));
      if (hasBias) a += (i64(load<i32>(qc, 4)) << 32) + i64(load<u32>(qc));
      v = i64(mbqm64(a, load<i32>(qc, 8), load<i32>(qc, 12)));
    }
    sti(y, o, es, clampI64(v, lo, hi));
  }
}

export function tfl_transpose_conv_f32(x: usize, y: usize, w: usize, bias: usize, p: usize, lo: f32, hi: f32): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), inC = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5), outC = prm(p, 6);
  const kH = prm(p, 7), kW = prm(p, 8), sH = prm(p, 9), sW = prm(p, 10), padH = prm(p, 11), padW = prm(p, 12);
  const total = B * outH * outW * outC;
  for (let o = 0; o < total; o++) stf(y, o, 0);
  for (let b = 0; b < B; b++) for (let iy = 0; iy < inH; iy++) for (let ix = 0; ix < inW; ix++) for (let ic = 0; ic < inC; ic++) {
    const xv = ldf(x, ((b * inH + iy) * inW + ix) * inC + ic);
    const y0 = iy * sH - padH, x0 = ix * sW - padW;
    for (let ky = 0; ky < kH; ky++) {
      const oy = y0 + ky;
      if (oy < 0 || oy >= outH) continue;
      for (let kx = 0; kx < kW; kx++) {
        const ox = x0 + kx;
        if (ox < 0 || ox >= outW) continue;
        const ob = ((b * outH + oy) * outW + ox) * outC;
        for (let oc = 0; oc < outC; oc++) stf(y, ob + oc, ldf(y, ob + oc) + xv * ldf(w, ((oc * kH + ky) * kW + kx) * inC + ic));
      }
    }
  }
  for (let o = 0; o < total; o++) {
    let v = ldf(y, o);
    if (bias != 0) v = v + ldf(bias, o % outC);
    stf(y, o, v < lo ? lo : v > hi ? hi : v);
  }
}

// ---------------------------------------------------------------- ADD / SUB / MUL with broadcasting (ops/tfl-binary)

// p: outShape[6], aStrides[6], bStrides[6] (rank padded to 6 on the left), then for the integer kernel:
//    aZp, bZp, outZp, leftShift, aMul, aShift, bMul, bShift, outMul, outShift, actMin, actMax
// kind: 0 add, 1 sub, 2 mul

@inline function binInt(av: i32, bv: i32, p: usize, kind: i32): i32 {
  const aZp = prm(p, 18), bZp = prm(p, 19), outZp = prm(p, 20);
  let v: i64;
  if (kind == 2) {
    v = i64(requantize((av - aZp) * (bv - bZp), prm(p, 26), prm(p, 27))) + i64(outZp);
  } else {
    const L = 1 << prm(p, 21);
    const x1 = requantize((av - aZp) * L, prm(p, 22), prm(p, 23));
    const x2 = requantize((bv - bZp) * L, prm(p, 24), prm(p, 25));
    v = i64(requantize(kind == 0 ? x1 + x2 : x1 - x2, prm(p, 26), prm(p, 27))) + i64(outZp);
  }
  return clampI64(v, prm(p, 28), prm(p, 29));
}

export function tfl_binary_int(a: usize, b: usize, y: usize, p: usize, kind: i32, es: i32): void {
  const n0 = prm(p, 0), n1 = prm(p, 1), n2 = prm(p, 2), n3 = prm(p, 3), n4 = prm(p, 4), n5 = prm(p, 5);
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) for (let i1 = 0; i1 < n1; i1++) for (let i2 = 0; i2 < n2; i2++) for (let i3 = 0; i3 < n3; i3++) for (let i4 = 0; i4 < n4; i4++) {
    const ab = i0 * prm(p, 6) + i1 * prm(p, 7) + i2 * prm(p, 8) + i3 * prm(p, 9) + i4 * prm(p, 10);
    const bb = i0 * prm(p, 12) + i1 * prm(p, 13) + i2 * prm(p, 14) + i3 * prm(p, 15) + i4 * prm(p, 16);
    const as = prm(p, 11), bs = prm(p, 17);
    for (let i5 = 0; i5 < n5; i5++) sti(y, o++, es, binInt(ldi(a, ab + i5 * as, es), ldi(b, bb + i5 * bs, es), p, kind));
  }
}

export function tfl_binary_f32(a: usize, b: usize, y: usize, p: usize, kind: i32, lo: f32, hi: f32): void {
  const n0 = prm(p, 0), n1 = prm(p, 1), n2 = prm(p, 2), n3 = prm(p, 3), n4 = prm(p, 4), n5 = prm(p, 5);
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) for (let i1 = 0; i1 < n1; i1++) for (let i2 = 0; i2 < n2; i2++) for (let i3 = 0; i3 < n3; i3++) for (let i4 = 0; i4 < n4; i4++) {
    const ab = i0 * prm(p, 6) + i1 * prm(p, 7) + i2 * prm(p, 8) + i3 * prm(p, 9) + i4 * prm(p, 10);
    const bb = i0 * prm(p, 12) + i1 * prm(p, 13) + i2 * prm(p, 14) + i3 * prm(p, 15) + i4 * prm(p, 16);
    const as = prm(p, 11), bs = prm(p, 17);
    for (let i5 = 0; i5 < n5; i5++) {
      const av = ldf(a, ab + i5 * as), bv = ldf(b, bb + i5 * bs);
      const v: f32 = kind == 0 ? av + bv : kind == 1 ? av - bv : av * bv;
      stf(y, o++, v < lo ? lo : v > hi ? hi : v);
    }
  }
}

// ---------------------------------------------------------------- LEAKY_RELU (ops/leaky-relu)

export function tfl_leaky_relu_int(x: usize, y: usize, n: i32, es: i32, inZp: i32, outZp: i32, idM: i32, idS: i32, alM: i32, alS: i32): void {
  const lo = lowOf(es), hi = highOf(es);
  for (let i = 0; i < n; i++) {
    const d = ldi(x, i, es) - inZp;
    const v = i64(outZp) + i64(d >= 0 ? requantize(d, idM, idS) : requantize(d, alM, alS));
    sti(y, i, es, clampI64(v, lo, hi));
  }
}

export function tfl_leaky_relu_f32(x: usize, y: usize, n: i32, alpha: f32): void {
  for (let i = 0; i < n; i++) {
    const v = ldf(x, i);
    stf(y, i, v >= 0 ? v : v * alpha);
  }
}

// ---------------------------------------------------------------- PAD / STRIDED_SLICE (ops/pad, ops/strided-slice), any element type

// pad p: inShape[5], outShape[5], before[5] (rank padded to 5 on the left)
export function tfl_pad(x: usize, y: usize, p: usize, es: i32, value: i32): void {
  const total = prm(p, 5) * prm(p, 6) * prm(p, 7) * prm(p, 8) * prm(p, 9);
  for (let i = 0; i < total; i++) sti(y, i, es, value);
  const n0 = prm(p, 0), n1 = prm(p, 1), n2 = prm(p, 2), n3 = prm(p, 3), n4 = prm(p, 4);
  const o1 = prm(p, 6), o2 = prm(p, 7), o3 = prm(p, 8), o4 = prm(p, 9);
  const bytes = <usize>(n4 * es);
  let src = x;
  for (let i0 = 0; i0 < n0; i0++) for (let i1 = 0; i1 < n1; i1++) for (let i2 = 0; i2 < n2; i2++) for (let i3 = 0; i3 < n3; i3++) {
    const o = (((((i0 + prm(p, 10)) * o1 + i1 + prm(p, 11)) * o2 + i2 + prm(p, 12)) * o3 + i3 + prm(p, 13)) * o4 + prm(p, 14));
    const dst = y + <usize>(o * es);
    for (let k: usize = 0; k < bytes; k++) store<u8>(dst + k, load<u8>(src + k));
    src += bytes;
  }
}

// strided slice p: inShape[5], start[5], stride[5], counts[5]
export function tfl_strided_slice(x: usize, y: usize, p: usize, es: i32): void {
  const s1 = prm(p, 4) * prm(p, 3) * prm(p, 2) * prm(p, 1), s2 = prm(p, 4) * prm(p, 3) * prm(p, 2), s3 = prm(p, 4) * prm(p, 3), s4 = prm(p, 4);
  let o = 0;
  for (let k0 = 0; k0 < prm(p, 15); k0++) for (let k1 = 0; k1 < prm(p, 16); k1++) for (let k2 = 0; k2 < prm(p, 17); k2++) for (let k3 = 0; k3 < prm(p, 18); k3++) {
    const base = (prm(p, 5) + k0 * prm(p, 10)) * s1 + (prm(p, 6) + k1 * prm(p, 11)) * s2 + (prm(p, 7) + k2 * prm(p, 12)) * s3 + (prm(p, 8) + k3 * prm(p, 13)) * s4;
    const st = prm(p, 9), sd = prm(p, 14);
    for (let k4 = 0; k4 < prm(p, 19); k4++) sti(y, o++, es, ldi(x, base + st + k4 * sd, es));
  }
}

// ---------------------------------------------------------------- QUANTIZE / DEQUANTIZE / requantize (ops/tfl-quantize)

/** float32 -> int (es 1/2/4): t = f32(x / scale); round half away from zero in double; NaN -> 0, +-inf -> the limits; + zp; clamp. */
export function tfl_quantize_int(x: usize, y: usize, n: i32, scale: f32, zp: i32, es: i32): void {
  const lo = <f64>lowOf(es), hi = <f64>highOf(es);
  for (let i = 0; i < n; i++) {
    const t = <f64>(ldf(x, i) / scale);
    let r: f64;
    if (t != t) r = 0;
    else if (t == Infinity) r = hi;
    else if (t == -Infinity) r = lo;
    else r = t >= 0 ? Math.floor(t + 0.5) : -Math.floor(0.5 - t);
    let v = r + <f64>zp;
    v = v < lo ? lo : v > hi ? hi : v;
    sti(y, i, es, <i32>v);
  }
}

/** int -> float32: f32(f64(scale) * (q - zp)). */
export function tfl_dequantize_int(x: usize, y: usize, n: i32, scale: f32, zp: i32, es: i32): void {
  const s = <f64>scale;
  for (let i = 0; i < n; i++) stf(y, i, <f32>(s * (<f64>ldi(x, i, es) - <f64>zp)));
}

export function tfl_requantize(x: usize, y: usize, n: i32, esIn: i32, esOut: i32, inZp: i32, outZp: i32, m: i32, s: i32): void {
  const lo = lowOf(esOut), hi = highOf(esOut);
  for (let i = 0; i < n; i++) sti(y, i, esOut, clampI64(i64(requantize(ldi(x, i, esIn) - inZp, m, s)) + i64(outZp), lo, hi));
}

// ---------------------------------------------------------------- SOFTMAX int8 -> int8/int16 (ops/tfl-softmax)

export function tfl_softmax_s8(x: usize, y: usize, rows: i32, depth: i32, multiplier: i32, leftShift: i32, diffMin: i32, esOut: i32, scratch: usize): void {
  const outMin = lowOf(esOut), outMax = highOf(esOut);
  const outBits = esOut == 2 ? 16 : 8;
  for (let r = 0; r < rows; r++) {
    const o = r * depth;
    let mx: i32 = i32.MIN_VALUE;
    for (let c = 0; c < depth; c++) { const v = <i32>load<i8>(x + <usize>(o + c)); if (v > mx) mx = v; }
    let sum: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(x + <usize>(o + c)) - mx;
      let e: i32 = -1;
      if (diff >= diffMin) {
        e = expNeg(srdhm(diff * (1 << leftShift), multiplier), 5);
        sum += rdbp(e, 12);
      }
      store<i32>(scratch + (<usize>c << 2), e);
    }
    const hpo = <i32>clz(sum);
    const bitsOverUnit = 12 - hpo;
    const recip = nrRecip((sum << hpo) - i32.MIN_VALUE, false);
    for (let c = 0; c < depth; c++) {
      const e = load<i32>(scratch + (<usize>c << 2));
      if (e < 0) { sti(y, o + c, esOut, outMin); continue; }
      const v = i64(rdbp(srdhm(recip, e), bitsOverUnit + 31 - outBits)) + i64(outMin);
      sti(y, o + c, esOut, clampI64(v, outMin, outMax));
    }
  }
}

// ---------------------------------------------------------------- AVERAGE_POOL_2D / MAX_POOL_2D (ops/pool)

// p: batches, inH, inW, channels, outH, outW, kH, kW, strideH, strideW, padH, padW, actMin, actMax (ints)
/** kind 0 avg, 1 max; es 1/2 integer, 4 float32 (lo/hi used for floats). */
export function tfl_pool(x: usize, y: usize, p: usize, kind: i32, es: i32, lo: f32, hi: f32): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), C = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5);
  const kH = prm(p, 6), kW = prm(p, 7), sH = prm(p, 8), sW = prm(p, 9), padH = prm(p, 10), padW = prm(p, 11), ilo = prm(p, 12), ihi = prm(p, 13);
  let oi = 0;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    const fy0 = max(0, -y0), fy1 = min(kH, inH - y0), fx0 = max(0, -x0), fx1 = min(kW, inW - x0);
    for (let c = 0; c < C; c++) {
      if (es == 4) {
        let acc: f32 = kind == 1 ? -Infinity : 0;
        let n = 0;
        for (let fy = fy0; fy < fy1; fy++) for (let fx = fx0; fx < fx1; fx++) {
          const v = ldf(x, ((b * inH + y0 + fy) * inW + x0 + fx) * C + c);
          acc = kind == 1 ? max(acc, v) : acc + v;
          n++;
        }
        const v: f32 = kind == 1 ? acc : acc / <f32>n;
        stf(y, oi++, v < lo ? lo : v > hi ? hi : v);
      } else {
        let acc: i32 = kind == 1 ? i32.MIN_VALUE : 0;
        let n = 0;
        for (let fy = fy0; fy < fy1; fy++) for (let fx = fx0; fx < fx1; fx++) {
          const v = ldi(x, ((b * inH + y0 + fy) * inW + x0 + fx) * C + c, es);
          acc = kind == 1 ? max(acc, v) : acc + v;
          n++;
        }
        let v: i32;
        if (kind == 1) v = acc;
        else v = n == 0 ? 0 : acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
        sti(y, oi++, es, v < ilo ? ilo : v > ihi ? ihi : v);
      }
    }
  }
}

const poolTmp: usize = memory.data(16, 16);

/**
 * int8 average pool (p as tfl_pool's), 8 channels per pass: int32 window sums, then TFLite's rounded C division
 * trunc((sum +- n/2) / n) in f32 — exact: |sum +- n/2| < 2^24 converts exactly and, with |quotient| <= 129 and
 * n < 2^16 (the emitter's condition), the correctly rounded quotient cannot reach the next integer (the gap is >= 1/n,
 * the rounding error <= 129 * 2^-24). Reads up to 7 bytes past the last pixel (the backend's slack).
 */
export function tfl_avg_pool_s8(x: usize, y: usize, p: usize): void {
  const B = prm(p, 0), inH = prm(p, 1), inW = prm(p, 2), C = prm(p, 3), outH = prm(p, 4), outW = prm(p, 5);
  const kH = prm(p, 6), kW = prm(p, 7), sH = prm(p, 8), sW = prm(p, 9), padH = prm(p, 10), padW = prm(p, 11);
  const lo = i32x4.splat(prm(p, 12)), hi = i32x4.splat(prm(p, 13));
  const cb = <usize>C;
  let yo = y;
  for (let b = 0; b < B; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    const y0 = oy * sH - padH, x0 = ox * sW - padW;
    const fy0 = max(0, -y0), fy1 = min(kH, inH - y0), fx0 = max(0, -x0), fx1 = min(kW, inW - x0);
    const n = max(0, fy1 - fy0) * max(0, fx1 - fx0);
    const half = i32x4.splat(n >> 1), nf = f32x4.splat(<f32>max(n, 1));
    for (let c = 0; c < C; c += 8) {
      let a0 = i32x4.splat(0), a1 = a0;
      for (let fy = fy0; fy < fy1; fy++) {
        const row = x + <usize>(((b * inH + y0 + fy) * inW + x0) * C + c);
        for (let fx = fx0; fx < fx1; fx++) {
          const v = v128.load8x8_s(row + <usize>fx * cb);
          a0 = i32x4.add(a0, i32x4.extend_low_i16x8_s(v));
          a1 = i32x4.add(a1, i32x4.extend_high_i16x8_s(v));
        }
      }
      // sum > 0 ? sum + n/2 : sum - n/2, then the truncating division
      a0 = i32x4.add(i32x4.sub(a0, half), v128.and(i32x4.gt_s(a0, i32x4.splat(0)), i32x4.add(half, half)));
      a1 = i32x4.add(i32x4.sub(a1, half), v128.and(i32x4.gt_s(a1, i32x4.splat(0)), i32x4.add(half, half)));
      let q0 = i32x4.trunc_sat_f32x4_s(f32x4.div(f32x4.convert_i32x4_s(a0), nf));
      let q1 = i32x4.trunc_sat_f32x4_s(f32x4.div(f32x4.convert_i32x4_s(a1), nf));
      if (n == 0) { q0 = i32x4.splat(0); q1 = q0; }
      q0 = i32x4.min_s(i32x4.max_s(q0, lo), hi); q1 = i32x4.min_s(i32x4.max_s(q1, lo), hi);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      const v = i8x16.narrow_i16x8_s(h, h);
      const d = yo + <usize>c;
      if (C - c >= 8) v128.store64_lane(d, v, 0);
      else {
        v128.store(poolTmp, v);
        for (let i = 0; i < C - c; i++) store<i8>(d + <usize>i, load<i8>(poolTmp + <usize>i));
      }
    }
    yo += cb;
  }
}

// ---------------------------------------------------------------- LOGISTIC / TANH (ops/tfl-activation)

export function tfl_activation_s8(x: usize, y: usize, n: i32, logistic: i32, inZp: i32, m: i32, s: i32, radius: i32): void {
  for (let i = 0; i < n; i++) {
    const d = <i32>load<i8>(x + <usize>i) - inZp;
    if (d <= -radius) { store<i8>(y + <usize>i, -128); continue; }
    if (d >= radius) { store<i8>(y + <usize>i, 127); continue; }
    const q = requantize(d, m, s);
    let v: i32;
    if (logistic) {
      let r: i32;
      if (q == 0) r = 1 << 30;
      else {
        const ab = q > 0 ? q : -q;
        const pos = nrRecip(expNeg(-ab, 4), false);
        r = q > 0 ? pos : i32.MAX_VALUE - pos;
      }
      v = rdbp(r, 23) - 128;
    } else {
      let r: i32;
      if (q == 0) r = 0;
      else {
        const ng = q < 0 ? q : -q;
        const t = nrRecip(expNeg(ng * 2, 4), true);
        r = q < 0 ? -t : t;
      }
      v = rdbp(r, 24);
    }
    store<i8>(y + <usize>i, v < -128 ? -128 : v > 127 ? 127 : v);
  }
}

export function tfl_activation_f32(x: usize, y: usize, n: i32, logistic: i32): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>ldf(x, i);
    stf(y, i, <f32>(logistic ? 1.0 / (1.0 + tfl_exp(-v)) : tfl_tanh(v)));
  }
}

// ---------------------------------------------------------------- SVDF (ops/svdf)

// p: batches, inputs, filters, units, rank, memory, inZp, stateZp, outZp, m1, s1, m2, s2
/** int8 input/output, int8 or int16 state (esS) and weights_time (stored as int16 here); bias int32 or 0. */
export function tfl_svdf_s8(x: usize, y: usize, state: usize, wf: usize, wt: usize, bias: usize, p: usize, esS: i32): void {
  const B = prm(p, 0), I = prm(p, 1), F = prm(p, 2), U = prm(p, 3), R = prm(p, 4), M = prm(p, 5);
  const inZp = prm(p, 6), sZp = prm(p, 7), outZp = prm(p, 8), m1 = prm(p, 9), s1 = prm(p, 10), m2 = prm(p, 11), s2 = prm(p, 12);
  const smin = lowOf(esS), smax = highOf(esS);
  const len = B * F * M;
  for (let i = 0; i + 1 < len; i++) sti(state, i, esS, ldi(state, i + 1, esS));
  for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) {
    let dot: i32 = 0;
    for (let i = 0; i < I; i++) dot += <i32>load<i8>(wf + <usize>(f * I + i)) * (<i32>load<i8>(x + <usize>(b * I + i)) - inZp);
    let v = requantize(dot, m1, s1);
    v = v < smin ? smin : v > smax ? smax : v;
    sti(state, (b * F + f) * M + M - 1, esS, sZp + v);
  }
  for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) {
    let acc: i32 = bias != 0 ? load<i32>(bias + (<usize>u << 2)) : 0;
    for (let r = 0; r < R; r++) {
      const f = u * R + r;
      let t: i32 = 0;
      for (let j = 0; j < M; j++) t += <i32>load<i16>(wt + (<usize>(f * M + j) << 1)) * (ldi(state, (b * F + f) * M + j, esS) - sZp);
      acc += t;
    }
    const v = i64(requantize(acc, m2, s2)) + i64(outZp);
    store<i8>(y + <usize>(b * U + u), clampI64(v, -128, 127));
  }
}

export function tfl_svdf_f32(x: usize, y: usize, state: usize, wf: usize, wt: usize, bias: usize, p: usize, lo: f32, hi: f32): void {
  const B = prm(p, 0), I = prm(p, 1), F = prm(p, 2), U = prm(p, 3), R = prm(p, 4), M = prm(p, 5);
  const len = B * F * M;
  for (let i = 0; i + 1 < len; i++) stf(state, i, ldf(state, i + 1));
  for (let b = 0; b < B; b++) for (let k = 0; k < F; k++) {
    let dot: f32 = 0;
    for (let i = 0; i < I; i++) dot = dot + ldf(wf, k * I + i) * ldf(x, b * I + i);
    stf(state, (b * F + k) * M + M - 1, dot);
  }
  for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) {
    let acc: f32 = bias != 0 ? ldf(bias, u) : 0;
    for (let r = 0; r < R; r++) {
      const k = u * R + r;
      let t: f32 = 0;
      for (let j = 0; j < M; j++) t = t + ldf(wt, k * M + j) * ldf(state, (b * F + k) * M + j);
      acc = acc + t;
    }
    stf(y, b * U + u, acc < lo ? lo : acc > hi ? hi : acc);
  }
}

// ---------------------------------------------------------------- UNIDIRECTIONAL_SEQUENCE_LSTM float32 (ops/lstm)

// p: batches, steps, inputs, units, timeMajor, cifg, activation (0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6, 4 TANH, 5 SIGN_BIT)
@inline function lstmAct(kind: i32, v: f32): f32 {
  if (kind == 4) return <f32>tfl_tanh(<f64>v);
  if (kind == 1) return max<f32>(0, v);
  if (kind == 3) return min<f32>(6, max<f32>(0, v));
  if (kind == 2) return min<f32>(1, max<f32>(-1, v));
  if (kind == 5) return v < 0 ? 1 : 0;
  return v;
}

export function tfl_lstm_f32(x: usize, y: usize, h: usize, c: usize, W: usize, R: usize, bias: usize, p: usize, cellClip: f32, gate: usize): void {
  const Bn = prm(p, 0), N = prm(p, 1), I = prm(p, 2), U = prm(p, 3), tm = prm(p, 4), cifg = prm(p, 5), act = prm(p, 6);
  for (let b = 0; b < Bn; b++) {
    const hb = h + (<usize>(b * U) << 2), cb = c + (<usize>(b * U) << 2);
    for (let t = 0; t < N; t++) {
      const row = tm != 0 ? t * Bn + b : b * N + t;
      const xo = row * I;
      for (let g = cifg != 0 ? 1 : 0; g < 4; g++) {
        for (let u = 0; u < U; u++) {
          let acc = ldf(bias, g * U + u);
          const wr = (g * U + u) * I, rr = (g * U + u) * U;
          for (let i = 0; i < I; i++) acc = acc + ldf(W, wr + i) * ldf(x, xo + i);
          for (let k = 0; k < U; k++) acc = acc + ldf(R, rr + k) * ldf(hb, k);
          stf(gate, g * U + u, acc);
        }
      }
      for (let u = 0; u < U; u++) {
        const fg = sigmoidF(ldf(gate, U + u));
        const ig: f32 = cifg != 0 ? <f32>1 - fg : sigmoidF(ldf(gate, u));
        const gg = lstmAct(act, ldf(gate, 2 * U + u));
        let cell: f32 = fg * ldf(cb, u) + ig * gg;
        if (cellClip > 0) cell = min(cellClip, max(-cellClip, cell));
        stf(cb, u, cell);
        const og = sigmoidF(ldf(gate, 3 * U + u));
        stf(hb, u, og * lstmAct(act, cell));
      }
      for (let u = 0; u < U; u++) stf(y, row * U + u, ldf(hb, u));
    }
  }
}

// ---------------------------------------------------------------- float FULLY_CONNECTED / SOFTMAX of TFLite float graphs
// The oracle's dense_f32 / softmax_f32 (compiler/ops/dense, ops/softmax) in its own arithmetic: double accumulation
// in input order (f32 x f32 products are exact in double), double exp (fdlibm), one rounding to f32 at the end.

/** act: 0 linear, 1 relu. */
export function tfl_dense_f32_exact(x: usize, w: usize, bias: usize, y: usize, n: i32, m: i32, rows: i32, act: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * n) << 2);
    for (let o = 0; o < m; o++) {
      let acc = <f64>ldf(bias, o);
      const wr = w + (<usize>(o * n) << 2);
      for (let i = 0; i < n; i++) acc += <f64>ldf(wr, i) * <f64>ldf(xr, i);
      if (act == 1) acc = acc > 0 ? acc : 0;
      stf(y, r * m + o, <f32>acc);
    }
  }
}

export function tfl_softmax_f32_exact(x: usize, y: usize, rows: i32, d: i32, scratch: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mx: f64 = -Infinity;
    for (let i = 0; i < d; i++) mx = max(mx, <f64>ldf(x, o + i));
    let s: f64 = 0;
    for (let i = 0; i < d; i++) {
      const e = tfl_exp(<f64>ldf(x, o + i) - mx);
      store<f64>(scratch + (<usize>i << 3), e);
      s += e;
    }
    for (let i = 0; i < d; i++) stf(y, o + i, <f32>(load<f64>(scratch + (<usize>i << 3)) / s));
  }
}
