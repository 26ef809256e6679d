// Float32 kernels for the non-dense steps (semantics: the TS oracles in compiler/ops/*/index.ts).
// Arithmetic that the oracle does in double (LayerNorm, affine maps, softmax) is done here in f64 too
// (f64x2 where it vectorises), in the oracle's operation order, so the results agree with it to the last
// float32 bit or nearly so. add/mul use f32x4: one IEEE float32 op equals the oracle's double op rounded
// to float32. The series scalers are specified in float32 and follow that order exactly.
import { exp_f64x2 } from './float_math';

// ---------- helpers ----------

/** two f32 at p -> f64x2 */
@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}
/** f64x2 -> two f32 at p */
@inline function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}
@inline function lf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}
@inline function sf(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}
@inline function hsum2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// ---------- LayerNorm over the last dimension ----------

/**
 * y = (x - mean) * (1 / sqrt(var / d + eps)) * w + b per row of d features (biased variance), in f64.
 * b == 0: no bias. y may equal x.
 */
export function layer_norm_f32(x: usize, y: usize, rows: i32, d: i32, eps: f64, w: usize, b: usize): void {
  const rowBytes = <usize>d << 2;
  const d2 = d & ~1;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let acc = f64x2.splat(0);
    let i = 0;
    for (; i < d2; i += 2) acc = f64x2.add(acc, ld2(xr + (<usize>i << 2)));
    let sum = hsum2(acc);
    if (i < d) sum += <f64>lf(xr, i);
    const mean = sum / <f64>d;
    const mv = f64x2.splat(mean);
    acc = f64x2.splat(0);
    for (i = 0; i < d2; i += 2) {
      const c = f64x2.sub(ld2(xr + (<usize>i << 2)), mv);
      acc = f64x2.add(acc, f64x2.mul(c, c));
    }
    let v = hsum2(acc);
    if (i < d) { const c = <f64>lf(xr, i) - mean; v += c * c; }
    const inv = 1.0 / Math.sqrt(v / <f64>d + eps);
    const iv = f64x2.splat(inv);
    if (b != 0) {
      for (i = 0; i < d2; i += 2) {
        const o = <usize>i << 2;
        st2(yr + o, f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(ld2(xr + o), mv), iv), ld2(w + o)), ld2(b + o)));
      }
      if (i < d) sf(yr, i, <f32>((<f64>lf(xr, i) - mean) * inv * <f64>lf(w, i) + <f64>lf(b, i)));
    } else {
      for (i = 0; i < d2; i += 2) {
        const o = <usize>i << 2;
        st2(yr + o, f64x2.mul(f64x2.mul(f64x2.sub(ld2(xr + o), mv), iv), ld2(w + o)));
      }
      if (i < d) sf(yr, i, <f32>((<f64>lf(xr, i) - mean) * inv * <f64>lf(w, i)));
    }
  }
}

// ---------- per-feature affine (folded BatchNorm, series unscaling) ----------

/** y[i] = x[i] * scale[i % period] + shift[i % period], in f64 (n a multiple of period). y may equal x. */
export function affine_f32(x: usize, y: usize, n: i32, period: i32, scale: usize, shift: usize): void {
  if (period == 1) {
    const s = f64x2.splat(<f64>load<f32>(scale)), t = f64x2.splat(<f64>load<f32>(shift));
    const n2 = n & ~1;
    let i = 0;
    for (; i < n2; i += 2) {
      const o = <usize>i << 2;
      st2(y + o, f64x2.add(f64x2.mul(ld2(x + o), s), t));
    }
    if (i < n) sf(y, i, <f32>(<f64>lf(x, i) * <f64>load<f32>(scale) + <f64>load<f32>(shift)));
    return;
  }
  const p2 = period & ~1;
  for (let base = 0; base < n; base += period) {
    const xb = x + (<usize>base << 2), yb = y + (<usize>base << 2);
    const cnt = min(period, n - base);
    let j = 0;
    if (cnt == period) {
      for (; j < p2; j += 2) {
        const o = <usize>j << 2;
        st2(yb + o, f64x2.add(f64x2.mul(ld2(xb + o), ld2(scale + o)), ld2(shift + o)));
      }
    }
    for (; j < cnt; j++) sf(yb, j, <f32>(<f64>lf(xb, j) * <f64>lf(scale, j) + <f64>lf(shift, j)));
  }
}

// ---------- add / mul with a periodic second operand ----------

@inline function binary(x: usize, b: usize, y: usize, n: i32, period: i32, isMul: bool): void {
  if (period == 1) {
    const s = load<f32>(b);
    const sv = f32x4.splat(s);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o);
      v128.store(y + o, isMul ? f32x4.mul(xv, sv) : f32x4.add(xv, sv));
    }
    for (; i < n; i++) sf(y, i, isMul ? lf(x, i) * s : lf(x, i) + s);
    return;
  }
  for (let base = 0; base < n; base += period) {
    const xb = x + (<usize>base << 2), yb = y + (<usize>base << 2);
    const cnt = min(period, n - base);
    let j = 0;
    for (; j + 4 <= cnt; j += 4) {
      const o = <usize>j << 2;
      const xv = v128.load(xb + o), bv = v128.load(b + o);
      v128.store(yb + o, isMul ? f32x4.mul(xv, bv) : f32x4.add(xv, bv));
    }
    for (; j < cnt; j++) sf(yb, j, isMul ? lf(xb, j) * lf(b, j) : lf(xb, j) + lf(b, j));
  }
}

/** y[i] = x[i] + b[i % period]. y may equal x (not b unless period == n). */
export function add_f32(x: usize, b: usize, y: usize, n: i32, period: i32): void {
  binary(x, b, y, n, period, false);
}

/** y[i] = x[i] * b[i % period]. */
export function mul_f32(x: usize, b: usize, y: usize, n: i32, period: i32): void {
  binary(x, b, y, n, period, true);
}

// ---------- softmax over the last dimension ----------

// float32 exp for softmax: Cody-Waite reduction by ln 2 and a degree-7 Taylor polynomial (relative error a few
// ulp of float32 over the softmax range); inputs are clamped to >= -87.3 so the result stays a normal float.
const EXP_LOG2E: f32 = 1.4426950408889634;
const EXP_LN2_HI: f32 = 0.693359375;
const EXP_LN2_LO: f32 = -2.12194440e-4;

@inline function expf4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87.3));
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(EXP_LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(EXP_LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(EXP_LN2_LO)));
  let p = f32x4.splat(<f32>(1.0 / 5040));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 720)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 120)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 24)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 6)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  // p * 2^k: k added to the exponent field
  return i32x4.add(p, i32x4.shl(i32x4.trunc_sat_f32x4_s(k), 23));
}

/**
 * Softmax over rows of d features, float32: max-subtracted exponentials (expf4) written to y, summed in f32,
 * then divided by the sum; matches the double-precision oracle to ~1e-6 relative. y may not alias x.
 * `scratch` is unused (kept for the calling convention).
 */
export function softmax_f32(x: usize, y: usize, rows: i32, d: i32, scratch: usize): void {
  const rowBytes = <usize>d << 2;
  const d4 = <usize>(d & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let mx: f32 = -Infinity;
    let i: usize = 0;
    if (d4 > 0) {
      let mv = f32x4.splat(-Infinity);
      for (; i < d4; i += 16) mv = f32x4.max(mv, v128.load(xr + i));
      mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    }
    for (; i < rowBytes; i += 4) mx = max(mx, load<f32>(xr + i));
    const m = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    for (i = 0; i < d4; i += 16) {
      const e = expf4(f32x4.sub(v128.load(xr + i), m));
      v128.store(yr + i, e);
      acc = f32x4.add(acc, e);
    }
    let sum: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; i < rowBytes; i += 4) {
      const e = f32x4.extract_lane(expf4(f32x4.splat(load<f32>(xr + i) - mx)), 0);
      store<f32>(yr + i, e);
      sum += e;
    }
    const sv = f32x4.splat(sum);
    for (i = 0; i < d4; i += 16) v128.store(yr + i, f32x4.div(v128.load(yr + i), sv));
    for (; i < rowBytes; i += 4) store<f32>(yr + i, load<f32>(yr + i) / sum);
  }
}

// ---------- data movement ----------
// Plain loads/stores rather than memory.copy: the linkers (backends/wasm, mpc/wasm) do not enable
// binaryen's bulk-memory-opt feature. Buffers of one step never overlap.

@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i + 4 <= n; i += 4) store<u32>(dst + i, load<u32>(src + i));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
}

/** copies n bytes (non-overlapping buffers). */
export function copy_bytes(dst: usize, src: usize, n: i32): void {
  copyBytes(dst, src, <usize>n);
}

/**
 * y[i0,i1,i2,i3] = x[i0*s0 + i1*s1 + i2*s2 + i3*s3] over the output extents n0..n3 (row-major y),
 * strides in elements of `size` bytes (4 or 1). Contiguous innermost runs are block copies.
 */
export function transpose(x: usize, y: usize, size: i32, n0: i32, n1: i32, n2: i32, n3: i32, s0: i32, s1: i32, s2: i32, s3: i32): void {
  const es = <usize>size;
  const runBytes = <usize>n3 * es;
  let out = y;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        const src = x + <usize>(a * s0 + b * s1 + c * s2) * es;
        if (s3 == 1) {
          copyBytes(out, src, runBytes);
        } else if (size == 4) {
          const st = <usize>s3 << 2;
          let p = src;
          for (let k = 0; k < n3; k++) { store<u32>(out + (<usize>k << 2), load<u32>(p)); p += st; }
        } else {
          const st = <usize>s3;
          let p = src;
          for (let k = 0; k < n3; k++) { store<u8>(out + <usize>k, load<u8>(p)); p += st; }
        }
        out += runBytes;
      }
    }
  }
}

/** y[o, j, :] = x[o, idx[j], :] with rows of `inner` bytes; idx is an i32 array of k entries. */
export function gather_bytes(x: usize, y: usize, outer: i32, n: i32, inner: i32, idx: usize, k: i32): void {
  const ib = <usize>inner;
  let out = y;
  for (let o = 0; o < outer; o++) {
    const xo = x + <usize>o * <usize>n * ib;
    for (let j = 0; j < k; j++) {
      copyBytes(out, xo + <usize>load<i32>(idx + (<usize>j << 2)) * ib, ib);
      out += ib;
    }
  }
}

/** [L, C] -> [C, np, pl]: patch p of channel c is the window starting at start + p * stride. */
export function patchify_f32(x: usize, y: usize, L: i32, C: i32, pl: i32, stride: i32, np: i32): void {
  const start = L - (pl + stride * (np - 1));
  let out = y;
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < np; p++) {
      const t0 = start + p * stride;
      if (C == 1) {
        copyBytes(out, x + (<usize>t0 << 2), <usize>pl << 2);
      } else {
        let src = x + (<usize>(t0 * C + c) << 2);
        const st = <usize>C << 2;
        for (let t = 0; t < pl; t++) { store<f32>(out + (<usize>t << 2), load<f32>(src)); src += st; }
      }
      out += <usize>pl << 2;
    }
  }
}

// ---------- series scaling (TinyTimeMixer scalers) ----------
// float32 arithmetic in exactly the order compiler/ops/scaler/index.ts documents (no fused multiply-add), so
// these are bit-identical with the oracle and the C backend.

export const SCALE_NONE = 0;
export const SCALE_MEAN = 1;
export const SCALE_STD = 2;

/**
 * Per channel c of x [L, C]:
 *   std:  sum = f32(sum + x); mean = f32(sum / L); d = f32(x - mean); v = f32(v + f32(d * d));
 *         scale = f32(sqrt(f32(f32(v / L) + 1e-5f))); loc = mean
 *   mean: sum = f32(sum + |x|); scale = f32(sum / L), at least 1e-10f; loc = 0
 *   none: loc = 0, scale = 1
 * loc/scale are stored to `loc`/`scale` [C]; y = f32(f32(x - loc) / scale).
 */
export function scale_series_f32(x: usize, y: usize, loc: usize, scale: usize, L: i32, C: i32, kind: i32): void {
  const st = <usize>C << 2;
  const n = <f32>L;
  for (let c = 0; c < C; c++) {
    const xc = x + (<usize>c << 2);
    let l: f32 = 0, sc: f32 = 1;
    if (kind == SCALE_MEAN) {
      let s: f32 = 0;
      let p = xc;
      for (let t = 0; t < L; t++) { s = s + Mathf.abs(load<f32>(p)); p += st; }
      const m: f32 = s / n;
      sc = m < <f32>1e-10 ? <f32>1e-10 : m;
    } else if (kind == SCALE_STD) {
      let s: f32 = 0;
      let p = xc;
      for (let t = 0; t < L; t++) { s = s + load<f32>(p); p += st; }
      const mean: f32 = s / n;
      let v: f32 = 0;
      p = xc;
      for (let t = 0; t < L; t++) { const d: f32 = load<f32>(p) - mean; v = v + d * d; p += st; }
      l = mean;
      sc = Mathf.sqrt(v / n + <f32>1e-5);
    }
    sf(loc, c, l);
    sf(scale, c, sc);
    let p = xc, q = y + (<usize>c << 2);
    for (let t = 0; t < L; t++) { store<f32>(q, (load<f32>(p) - l) / sc); p += st; q += st; }
  }
}

/** y[i] = f32(f32(x[i] * scale[c]) + loc[c]) with c = i % C (float32, no fused multiply-add). y may equal x. */
export function unscale_series_f32(x: usize, y: usize, loc: usize, scale: usize, n: i32, C: i32): void {
  if (C == 1) {
    const s = load<f32>(scale), l = load<f32>(loc);
    const sv = f32x4.splat(s), lv = f32x4.splat(l);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), sv), lv));
    }
    for (; i < n; i++) sf(y, i, lf(x, i) * s + l);
    return;
  }
  for (let base = 0; base < n; base += C) {
    const xb = x + (<usize>base << 2), yb = y + (<usize>base << 2);
    const cnt = min(C, n - base);
    let j = 0;
    for (; j + 4 <= cnt; j += 4) {
      const o = <usize>j << 2;
      v128.store(yb + o, f32x4.add(f32x4.mul(v128.load(xb + o), v128.load(scale + o)), v128.load(loc + o)));
    }
    for (; j < cnt; j++) sf(yb, j, lf(xb, j) * lf(scale, j) + lf(loc, j));
  }
}
