// Sequence-model kernels (MatFormer BERT / OLMo): embedding lookup, rotary position embedding and multi-head
// attention, float32 and int8, in exactly the arithmetic of compiler/ops/{embedding,rope,attention}/index.ts.
//
// Every kernel works on a block of token rows so the same code serves the full forward pass (rows 0 .. T-1)
// and the one-token decoder step (row p against the KV cache): callers pass pointers already offset to the
// block's first row and the block's first position (t0 / i0) for what depends on the position.

// ---------- helpers ----------

/** roundToInt8 of compiler/plan/program.ts. */
@inline function roundS8(y: f32): i32 {
  let t = y;
  if (t != t) t = 0;
  if (t > 256) t = 256;
  if (t < -256) t = -256;
  const r: i32 = t >= 0 ? i32(f32.trunc(t + <f32>0.5)) : -i32(f32.trunc(<f32>0.5 - t));
  return r < -128 ? -128 : r > 127 ? 127 : r;
}

/** embeddingIndex of compiler/ops/embedding: trunc(f32(id + 0.5)) for id > 0, else 0; clamped to rows - 1. */
@inline function rowIndex(id: f32, rows: i32): i32 {
  if (!(id > 0)) return 0;
  const v: f32 = id + <f32>0.5;
  if (v >= <f32>rows) return rows - 1;
  return i32(v);
}

// ---------- embedding ----------

/**
 * out[t, :] = word[id_t] (+ type[type_t]) (+ position[t0 + t]) for t < n, f32 adds in that order.
 * ids/types point at the block's first id (f32 values); types = 0 / pos = 0 when the table is absent.
 */
export function embedding_f32(ids: usize, types: usize, y: usize, t0: i32, n: i32, dim: i32,
  word: usize, wordRows: i32, type: usize, typeRows: i32, pos: usize, posRows: i32): void {
  const rb = <usize>dim << 2;
  for (let t = 0; t < n; t++) {
    const wr = word + <usize>rowIndex(load<f32>(ids + (<usize>t << 2)), wordRows) * rb;
    const tr = type != 0 ? type + <usize>rowIndex(load<f32>(types + (<usize>t << 2)), typeRows) * rb : 0;
    const pt = t0 + t;
    const pr = pos != 0 ? pos + <usize>(pt < posRows ? pt : posRows - 1) * rb : 0;
    const yr = y + <usize>t * rb;
    for (let c: usize = 0; c < rb; c += 4) {
      let e = load<f32>(wr + c);
      if (tr != 0) e = e + load<f32>(tr + c);
      if (pr != 0) e = e + load<f32>(pr + c);
      store<f32>(yr + c, e);
    }
  }
}

/** embedding_f32 with int8 tables and one f32 scale per row: an entry reads f32(q * scale[row]). */
export function embedding_q8(ids: usize, types: usize, y: usize, t0: i32, n: i32, dim: i32,
  word: usize, wordScale: usize, wordRows: i32, type: usize, typeScale: usize, typeRows: i32,
  pos: usize, posScale: usize, posRows: i32): void {
  const rb = <usize>dim;
  for (let t = 0; t < n; t++) {
    const wi = rowIndex(load<f32>(ids + (<usize>t << 2)), wordRows);
    const wr = word + <usize>wi * rb, ws = load<f32>(wordScale + (<usize>wi << 2));
    let tr: usize = 0, ts: f32 = 0;
    if (type != 0) {
      const ti = rowIndex(load<f32>(types + (<usize>t << 2)), typeRows);
      tr = type + <usize>ti * rb; ts = load<f32>(typeScale + (<usize>ti << 2));
    }
    let pr: usize = 0, ps: f32 = 0;
    if (pos != 0) {
      const pt = t0 + t, pi = pt < posRows ? pt : posRows - 1;
      pr = pos + <usize>pi * rb; ps = load<f32>(posScale + (<usize>pi << 2));
    }
    const yr = y + (<usize>t * rb << 2);
    for (let c: usize = 0; c < rb; c++) {
      let e: f32 = <f32>load<i8>(wr + c) * ws;
      if (tr != 0) e = e + <f32>load<i8>(tr + c) * ts;
      if (pr != 0) e = e + <f32>load<i8>(pr + c) * ps;
      store<f32>(yr + (c << 2), e);
    }
  }
}

// ---------- rotary position embedding (rotate-half) ----------

/** n rows of [heads * dh]; cos/sin point at the block's first row of the [T, dh/2] tables. Double inside, f32 out. */
export function rope_f32(x: usize, y: usize, n: i32, heads: i32, dh: i32, cos: usize, sin: usize): void {
  const half = dh >> 1, D = heads * dh;
  for (let t = 0; t < n; t++) {
    const cr = cos + (<usize>(t * half) << 2), sr = sin + (<usize>(t * half) << 2);
    for (let h = 0; h < heads; h++) {
      const o = <usize>(t * D + h * dh);
      for (let i = 0; i < half; i++) {
        const c = <f64>load<f32>(cr + (<usize>i << 2)), s = <f64>load<f32>(sr + (<usize>i << 2));
        const pa = (o + <usize>i) << 2, pb = (o + <usize>(i + half)) << 2;
        const a = <f64>load<f32>(x + pa), b = <f64>load<f32>(x + pb);
        store<f32>(y + pa, <f32>(a * c - b * s));
        store<f32>(y + pb, <f32>(b * c + a * s));
      }
    }
  }
}

/** int8 RoPE (semantics in compiler/ops/rope/index.ts), f32 arithmetic, no fused multiply-add. */
export function rope_s8(x: usize, y: usize, n: i32, heads: i32, dh: i32, cos: usize, sin: usize, inZp: i32, ratio: f32, outZp: i32): void {
  const half = dh >> 1, D = heads * dh;
  const zo = <f32>outZp;
  for (let t = 0; t < n; t++) {
    const cr = cos + (<usize>(t * half) << 2), sr = sin + (<usize>(t * half) << 2);
    for (let h = 0; h < heads; h++) {
      const o = <usize>(t * D + h * dh);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(cr + (<usize>i << 2)), s = load<f32>(sr + (<usize>i << 2));
        const pa = o + <usize>i, pb = o + <usize>(i + half);
        const a = <f32>(i32(load<i8>(x + pa)) - inZp), b = <f32>(i32(load<i8>(x + pb)) - inZp);
        const ya: f32 = a * c - b * s;
        const yb: f32 = b * c + a * s;
        store<i8>(y + pa, roundS8(ya * ratio + zo));
        store<i8>(y + pb, roundS8(yb * ratio + zo));
      }
    }
  }
}

// ---------- attention ----------

const F32_MIN: f64 = -3.4028234663852886e38;

/**
 * Float attention for query rows i0 .. i0+nq-1 (q, y point at row i0) against keys 0 .. nk-1 (k, v, mask point at
 * key 0); rows are heads * dh floats. Reference arithmetic: f64 dot products in order, s_j = dot / sqrt(dh) + bias_j,
 * max-subtracted exp, f64 sums, f32 out. Causal keys after the query get bias F32_MIN (their score rounds to exactly
 * F32_MIN, so the dot product is skipped); exponentials that are exactly 0 are skipped in the value sums (adding
 * 0 changes nothing), which makes the one-query decoder step (nk = i + 1) give the full pass's bits.
 * scratch: nk f64.
 */
export function attention_f32(q: usize, k: usize, v: usize, mask: usize, y: usize, i0: i32, nq: i32, nk: i32,
  heads: i32, dh: i32, causal: i32, scratch: usize): void {
  const D = heads * dh, rb = <usize>D << 2;
  const scale: f64 = 1 / Math.sqrt(<f64>dh);
  for (let r = 0; r < nq; r++) {
    const i = i0 + r;
    const qr = q + <usize>r * rb, yr = y + <usize>r * rb;
    for (let h = 0; h < heads; h++) {
      const ho = <usize>(h * dh) << 2;
      let m: f64 = -Infinity;
      for (let j = 0; j < nk; j++) {
        let s: f64;
        if (causal != 0 && j > i) {
          s = F32_MIN;
        } else {
          let dot: f64 = 0;
          const kr = k + <usize>j * rb + ho;
          for (let d = 0; d < dh; d++) dot += <f64>load<f32>(qr + ho + (<usize>d << 2)) * <f64>load<f32>(kr + (<usize>d << 2));
          let bias: f64 = (1 - <f64>load<f32>(mask + (<usize>j << 2))) * F32_MIN;
          if (bias < F32_MIN) bias = F32_MIN;
          s = dot * scale + bias;
        }
        store<f64>(scratch + (<usize>j << 3), s);
        if (s > m) m = s;
      }
      let sum: f64 = 0;
      for (let j = 0; j < nk; j++) {
        const e = Math.exp(load<f64>(scratch + (<usize>j << 3)) - m);
        store<f64>(scratch + (<usize>j << 3), e);
        sum += e;
      }
      for (let d = 0; d < dh; d++) {
        let acc: f64 = 0;
        const vo = v + ho + (<usize>d << 2);
        for (let j = 0; j < nk; j++) {
          const e = load<f64>(scratch + (<usize>j << 3));
          if (e != 0) acc += e * <f64>load<f32>(vo + <usize>j * rb);
        }
        store<f32>(yr + ho + (<usize>d << 2), <f32>(acc / sum));
      }
    }
  }
}

/** tk[0] = 1, tk[n] = tk[n-1] < 1e-30f ? 0 : f32(tk[n-1] * base) (softmaxTable of compiler/ops/softmax). */
@inline function buildTable(t: usize, base: f32): void {
  let x: f32 = 1;
  store<f32>(t, x);
  for (let n = 1; n < 256; n++) {
    x = x < <f32>1e-30 ? 0 : x * base;
    store<f32>(t + (<usize>n << 2), x);
  }
}

/** E(d) of compiler/ops/attention/index.ts. */
@inline function expE(d: i32, t: usize): f32 {
  if (d >= 1 << 24) return 0;
  let e: f32 = load<f32>(t + (<usize>(d & 255) << 2)) * load<f32>(t + 1024 + (<usize>((d >> 8) & 255) << 2));
  if (e < <f32>1e-30) e = 0;
  e = e * load<f32>(t + 2048 + (<usize>(d >> 16) << 2));
  if (e < <f32>1e-30) e = 0;
  return e;
}

/** sum_d (q[d] - qZp) * (k[d] - kZp), int32 (exact in any order). */
@inline function dotS8(qp: usize, kp: usize, dh: i32, qZp: i32, kZp: i32): i32 {
  let d = 0, a: i32 = 0;
  if (dh >= 8) {
    const qz = i16x8.splat(<i16>qZp), kz = i16x8.splat(<i16>kZp);
    let acc = i32x4.splat(0);
    for (; d + 8 <= dh; d += 8) {
      const qv = i16x8.sub(i16x8.extend_low_i8x16_s(v128.load64_zero(qp + <usize>d)), qz);
      const kv = i16x8.sub(i16x8.extend_low_i8x16_s(v128.load64_zero(kp + <usize>d)), kz);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(qv, kv));
    }
    a = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  }
  for (; d < dh; d++) a += (i32(load<i8>(qp + <usize>d)) - qZp) * (i32(load<i8>(kp + <usize>d)) - kZp);
  return a;
}

/**
 * int8 attention (semantics in compiler/ops/attention/index.ts) for query rows i0 .. i0+nq-1 against keys 0 .. nk-1;
 * pointers as attention_f32 (int8 rows of heads * dh). Keys whose weight is exactly 0 are skipped in the value
 * sums (f32 a + 0 * x == a), so the decoder step (nk = i + 1) gives the full pass's bits.
 * scratch: 3 x 256 f32 tables, then nk i32 scores, then nk f32 weights.
 */
export function attention_s8(q: usize, k: usize, v: usize, mask: usize, y: usize, i0: i32, nq: i32, nk: i32,
  heads: i32, dh: i32, causal: i32, qZp: i32, kZp: i32, vZp: i32, maskZp: i32, maskThreshold: i32,
  base0: f32, base1: f32, base2: f32, outRatio: f32, outZp: i32, scratch: usize): void {
  const D = <usize>(heads * dh);
  const tab = scratch, acc = scratch + 3072, ew = acc + (<usize>nk << 2);
  buildTable(tab, base0);
  buildTable(tab + 1024, base1);
  buildTable(tab + 2048, base2);
  const zo = <f32>outZp;
  const vz = i32x4.splat(vZp);
  for (let r = 0; r < nq; r++) {
    const i = i0 + r;
    const qr = q + <usize>r * D, yr = y + <usize>r * D;
    for (let h = 0; h < heads; h++) {
      const ho = <usize>(h * dh);
      let any = false, m: i32 = 0;
      for (let j = 0; j < nk; j++) {
        const att = i32(load<i8>(mask + <usize>j)) - maskZp >= maskThreshold && (causal == 0 || j <= i);
        if (!att) { store<i32>(acc + (<usize>j << 2), 0x7fffffff); continue; }
        const a = dotS8(qr + ho, k + <usize>j * D + ho, dh, qZp, kZp);
        store<i32>(acc + (<usize>j << 2), a);
        if (!any || a > m) m = a;
        any = true;
      }
      let sum: f32 = 0;
      for (let j = 0; j < nk; j++) {
        let e: f32;
        if (!any) e = 1;
        else {
          // non-attended keys carry the marker 0x7fffffff (a real score never reaches it: |acc| <= dh * 255^2)
          const a = load<i32>(acc + (<usize>j << 2));
          e = a == 0x7fffffff ? 0 : expE(m - a, tab);
        }
        store<f32>(ew + (<usize>j << 2), e);
        sum = sum + e;
      }
      const kq: f32 = (<f32>1 / sum) * outRatio;
      let d = 0;
      for (; d + 4 <= dh; d += 4) {
        let a4 = f32x4.splat(0);
        const vo = v + ho + <usize>d;
        for (let j = 0; j < nk; j++) {
          const e = load<f32>(ew + (<usize>j << 2));
          if (e == 0) continue;
          const x = i32x4.sub(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(vo + <usize>j * D))), vz);
          a4 = f32x4.add(a4, f32x4.mul(f32x4.splat(e), f32x4.convert_i32x4_s(x)));
        }
        const o = f32x4.add(f32x4.mul(a4, f32x4.splat(kq)), f32x4.splat(zo));
        store<i8>(yr + ho + <usize>d, roundS8(f32x4.extract_lane(o, 0)));
        store<i8>(yr + ho + <usize>d + 1, roundS8(f32x4.extract_lane(o, 1)));
        store<i8>(yr + ho + <usize>d + 2, roundS8(f32x4.extract_lane(o, 2)));
        store<i8>(yr + ho + <usize>d + 3, roundS8(f32x4.extract_lane(o, 3)));
      }
      for (; d < dh; d++) {
        let a: f32 = 0;
        const vo = v + ho + <usize>d;
        for (let j = 0; j < nk; j++) {
          const e = load<f32>(ew + (<usize>j << 2));
          if (e == 0) continue;
          a = a + e * <f32>(i32(load<i8>(vo + <usize>j * D)) - vZp);
        }
        store<i8>(yr + ho + <usize>d, roundS8(a * kq + zo));
      }
    }
  }
}
