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
 * sums (f32 a + 0 * x == a), so the decoder step (nk = i + 1) gives the full pass's bits. Four or more queries run
 * in groups of 4 (attnS8Blocks), fewer (the decoder step) one at a time.
 * scratch: 3 x 256 f32 tables, then attnS8Blocks' buffers (4+ queries) or nk i32 scores and nk f32 weights.
 */
export function attention_s8(q: usize, k: usize, v: usize, mask: usize, y: usize, i0: i32, nq: i32, nk: i32,
  heads: i32, dh: i32, causal: i32, qZp: i32, kZp: i32, vZp: i32, maskZp: i32, maskThreshold: i32,
  base0: f32, base1: f32, base2: f32, outRatio: f32, outZp: i32, scratch: usize): void {
  const D = <usize>(heads * dh);
  const tab = scratch, acc = scratch + 3072, ew = acc + (<usize>nk << 2);
  buildTable(tab, base0);
  buildTable(tab + 1024, base1);
  buildTable(tab + 2048, base2);
  if (nq >= 4) {
    attnS8Blocks(q, k, v, mask, y, i0, nq, nk, heads, dh, causal, qZp, kZp, vZp, maskZp, maskThreshold, outRatio, outZp, tab, scratch + 3072);
    return;
  }
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

// ---------- int8 attention, 4 queries at a time ----------
//
// Per head, the keys are laid out like dense_i8_t's weights (per block of 8 keys, per dimension pair (d, d + 1):
// 16 i16 k - kZp, keys 0..3 then 4..7, lanes (d, d + 1)) and 4 queries' q - qZp are widened to i16 pairs (pair p of
// query r at +16 p + 4 r), so a dot of a query pair splat over the lanes gives 4 keys' 2-term sums: a tile of
// 4 queries x 8 keys keeps 8 accumulators (int32 sums are exact in any order). Each query's weights are computed
// 4 keys per vector (queryWeights) into rows of the 4 queries' weights per key, so that the sums and the weighted
// value sums run over the keys with the 4 queries in the lanes (v - vZp as f32 rows, dims padded with zeros to a
// multiple of 4): each lane the oracle's sequences sum = f32(sum + e_j) and a = f32(a + f32(e_j * x_j)), keys ascending.

/** roundToInt8 on 4 f32 lanes -> i32 in [-128, 128] (int8_ops.ts roundS8x4; the saturating narrow maps 128 to 127). */
@inline function roundS8x4(t: v128): v128 {
  const z = v128.and(t, f32x4.eq(t, t));
  const r = f32x4.pmin(f32x4.floor(f32x4.add(f32x4.abs(z), f32x4.splat(0.5))), f32x4.splat(128));
  const signed = v128.or(r, v128.and(z, i32x4.splat(0x80000000)));
  return i32x4.sub(f32x4.add(signed, f32x4.splat(12582912)), i32x4.splat(0x4B400000));
}

const attTmp: usize = memory.data(16, 16);

function attnS8Blocks(q: usize, k: usize, v: usize, mask: usize, y: usize, i0: i32, nq: i32, nk: i32,
  heads: i32, dh: i32, causal: i32, qZp: i32, kZp: i32, vZp: i32, maskZp: i32, maskThreshold: i32,
  outRatio: f32, outZp: i32, tab: usize, buf: usize): void {
  const D = <usize>(heads * dh);
  const kp = <usize>((dh + 1) >> 1), kb = <usize>((nk + 7) >> 3), dq = <usize>((dh + 3) & ~3);
  const nkb = <usize>nk;
  // layout (compiler/ops/attention/wasm.ts sizes it): key pairs [kb][kp] x 32 bytes | f32 values [nk][dq] |
  // query pairs kp x 16 bytes (+ 16) | scores [4][8 kb] i32 | weights [8 kb][4] f32 | mask flags [8 kb] i32 (0 / -1)
  const KP = buf, VF = KP + kb * kp * 32, QP = VF + nkb * dq * 4, SC = QP + kp * 16 + 16, SR = kb << 5;
  const EW = SC + (SR << 2), AT = EW + (kb << 7);
  let first = nk; // first key the mask lets through
  for (let j = 0; j < <i32>(kb << 3); j++) {
    const ok = j < nk && i32(load<i8>(mask + <usize>j)) - maskZp >= maskThreshold;
    store<i32>(AT + (<usize>j << 2), ok ? -1 : 0);
    if (ok && j < first) first = j;
  }
  const zo = f32x4.splat(<f32>outZp), kz = <i32>kZp, qz = <i32>qZp, vzf = i32x4.splat(vZp);
  const intMin = i32x4.splat(0x80000000);
  for (let h = 0; h < heads; h++) {
    const ho = <usize>(h * dh);
    // keys of head h in pairs (missing keys and the odd dimension: 0)
    for (let b: usize = 0; b < kb; b++) {
      for (let p: usize = 0; p < kp; p++) {
        const o = KP + (b * kp + p) * 32;
        for (let l: usize = 0; l < 8; l++) {
          const j = (b << 3) + l, d = p << 1, at = o + ((l >> 2) << 4) + ((l & 3) << 2);
          const kr = k + j * D + ho + d;
          const x0 = j < nkb ? i32(load<i8>(kr)) - kz : 0;
          const x1 = j < nkb && d + 1 < <usize>dh ? i32(load<i8>(kr, 1)) - kz : 0;
          store<i32>(at, (x0 & 0xffff) | (x1 << 16));
        }
      }
    }
    // values of head h as f32 rows of dq (zeros past dh)
    for (let j: usize = 0; j < nkb; j++) {
      const vr = v + j * D + ho, fr = VF + j * dq * 4;
      let d: usize = 0;
      for (; d + 4 <= <usize>dh; d += 4) {
        const x = i32x4.sub(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(vr + d))), vzf);
        v128.store(fr + (d << 2), f32x4.convert_i32x4_s(x));
      }
      for (; d < dq; d++) store<f32>(fr + (d << 2), d < <usize>dh ? <f32>(i32(load<i8>(vr + d)) - vZp) : 0);
    }
    for (let r0 = 0; r0 < nq; r0 += 4) {
      const nv = nq - r0 < 4 ? nq - r0 : 4;
      // 4 queries' q - qZp pairs (rows past nq repeat the last one)
      for (let r = 0; r < 4; r++) {
        const qr = q + <usize>(r0 + (r < nv ? r : nv - 1)) * D + ho;
        for (let p: usize = 0; p < kp; p++) {
          const d = p << 1;
          const x0 = i32(load<i8>(qr + d)) - qz, x1 = d + 1 < <usize>dh ? i32(load<i8>(qr + d + 1)) - qz : 0;
          store<i32>(QP + (p << 4) + (<usize>r << 2), (x0 & 0xffff) | (x1 << 16));
        }
      }
      // scores: 4 queries x 8 keys per tile
      for (let b: usize = 0; b < kb; b++) {
        let a0 = i32x4.splat(0), a1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0, e0 = a0, e1 = a0;
        let wp = KP + b * kp * 32;
        const qend = QP + (kp << 4);
        for (let bp = QP; bp < qend; bp += 16) {
          const wa = v128.load(wp), wb = v128.load(wp, 16);
          let s = v128.load32_splat(bp);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s, wa)); a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s, wb));
          s = v128.load32_splat(bp, 4);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(s, wa)); c1 = i32x4.add(c1, i32x4.dot_i16x8_s(s, wb));
          s = v128.load32_splat(bp, 8);
          d0 = i32x4.add(d0, i32x4.dot_i16x8_s(s, wa)); d1 = i32x4.add(d1, i32x4.dot_i16x8_s(s, wb));
          s = v128.load32_splat(bp, 12);
          e0 = i32x4.add(e0, i32x4.dot_i16x8_s(s, wa)); e1 = i32x4.add(e1, i32x4.dot_i16x8_s(s, wb));
          wp += 32;
        }
        const so = SC + (b << 5);
        v128.store(so, a0); v128.store(so, a1, 16);
        v128.store(so + SR, c0); v128.store(so + SR, c1, 16);
        v128.store(so + 2 * SR, d0); v128.store(so + 2 * SR, d1, 16);
        v128.store(so + 3 * SR, e0); v128.store(so + 3 * SR, e1, 16);
      }
      // per query: the keys it attends (mask, and j <= i if causal), their maximum score
      const i = i0 + r0;
      const l0 = causal != 0 && i + 1 < nk ? i + 1 : nk, l1 = causal != 0 && i + 2 < nk ? i + 2 : nk;
      const l2 = causal != 0 && i + 3 < nk ? i + 3 : nk, l3 = causal != 0 && i + 4 < nk ? i + 4 : nk;
      const n0 = first < l0, n1 = first < l1, n2 = first < l2, n3 = first < l3;
      const m0 = maxAttended(SC, AT, l0, intMin), m1 = maxAttended(SC + SR, AT, l1, intMin);
      const m2 = maxAttended(SC + 2 * SR, AT, l2, intMin), m3 = maxAttended(SC + 3 * SR, AT, l3, intMin);
      // weights (rows past nq compute harmless values), then their sums: 4 chains in the lanes, each in key order
      queryWeights(SC, AT, EW, nk, m0, l0, n0, tab);
      queryWeights(SC + SR, AT, EW + 4, nk, m1, l1, n1, tab);
      queryWeights(SC + 2 * SR, AT, EW + 8, nk, m2, l2, n2, tab);
      queryWeights(SC + 3 * SR, AT, EW + 12, nk, m3, l3, n3, tab);
      let sums = f32x4.splat(0);
      for (let j = 0; j < nk; j++) sums = f32x4.add(sums, v128.load(EW + (<usize>j << 4)));
      const kq = f32x4.mul(f32x4.div(f32x4.splat(1), sums), f32x4.splat(outRatio));
      // keys after every valid query's last attended one weigh 0 for all of them (causal), unless one attends none
      let jEnd = n0 ? l0 : nk;
      if (nv > 1) jEnd = max(jEnd, n1 ? l1 : nk);
      if (nv > 2) jEnd = max(jEnd, n2 ? l2 : nk);
      if (nv > 3) jEnd = max(jEnd, n3 ? l3 : nk);
      weightedSums(EW, VF, jEnd, dh, dq, kq, zo, y + <usize>r0 * D + ho, D, nv);
    }
  }
}

/** 4 f32 table entries at t + the byte offsets in o's lanes. */
@inline function gather4(t: usize, o: v128): v128 {
  let v = v128.load32_zero(t + <usize>i32x4.extract_lane(o, 0));
  v = v128.load32_lane(t + <usize>i32x4.extract_lane(o, 1), v, 1);
  v = v128.load32_lane(t + <usize>i32x4.extract_lane(o, 2), v, 2);
  return v128.load32_lane(t + <usize>i32x4.extract_lane(o, 3), v, 3);
}

/**
 * f32(a * b) flushed to 0 below 1e-30f, lane-wise (a, b >= 0), without subnormal operands or results (x86 cores take
 * a slow assist for each): where the biased exponents sum to at most 152 (zero and subnormal operands included) the
 * product is below 2^-100 < 1e-30f, so both operands are zeroed; elsewhere it is at least 2^-101, a normal float.
 */
@inline function mulFlush4(a: v128, b: v128): v128 {
  const ok = i32x4.gt_s(i32x4.add(i32x4.shr_u(a, 23), i32x4.shr_u(b, 23)), i32x4.splat(152));
  const p = f32x4.mul(v128.and(a, ok), v128.and(b, ok));
  return v128.andnot(p, f32x4.lt(p, f32x4.splat(1e-30)));
}

/**
 * One query's weights e_j (compiler/ops/attention/index.ts: E(m - score) for the keys it attends, j < lim with the
 * mask flag, 0 for the others; 1 for every key when it attends none) for keys 0 .. nk rounded up to 4, 4 keys per
 * vector and without branches on the data (E's flushes mispredict as scalar code), stored 16 bytes apart from ew.
 */
@inline function queryWeights(sc: usize, at: usize, ew: usize, nk: i32, m: i32, lim: i32, any: bool, tab: usize): void {
  if (!any) {
    for (let j = 0; j < nk; j++) store<f32>(ew + (<usize>j << 4), 1);
    return;
  }
  const mv = i32x4.splat(m), lv = i32x4.splat(lim);
  let jv = i32x4(0, 1, 2, 3);
  for (let j = 0; j < nk; j += 4) {
    const o = <usize>j << 2;
    const att = v128.and(v128.load(at + o), i32x4.lt_s(jv, lv));
    const d = v128.and(i32x4.sub(mv, v128.load(sc + o)), att);
    const c = i32x4.min_s(d, i32x4.splat((1 << 24) - 1));
    const a = gather4(tab, i32x4.shl(v128.and(c, i32x4.splat(255)), 2));
    const b = gather4(tab, i32x4.add(i32x4.shl(v128.and(i32x4.shr_u(c, 8), i32x4.splat(255)), 2), i32x4.splat(1024)));
    const g = gather4(tab, i32x4.add(i32x4.shl(i32x4.shr_u(c, 16), 2), i32x4.splat(2048)));
    const e = v128.and(v128.andnot(mulFlush4(mulFlush4(a, b), g), i32x4.gt_s(d, i32x4.splat((1 << 24) - 1))), att);
    const w = ew + (<usize>j << 4);
    v128.store32_lane(w, e, 0);
    v128.store32_lane(w, e, 1, 16);
    v128.store32_lane(w, e, 2, 32);
    v128.store32_lane(w, e, 3, 48);
    jv = i32x4.add(jv, i32x4.splat(4));
  }
}

/** Largest score among keys j < lim with the mask flag set (INT32_MIN when there is none). */
@inline function maxAttended(sc: usize, at: usize, lim: i32, intMin: v128): i32 {
  let mv = intMin;
  let j = 0;
  for (; j + 4 <= lim; j += 4) {
    const o = <usize>j << 2;
    mv = i32x4.max_s(mv, v128.bitselect(v128.load(sc + o), intMin, v128.load(at + o)));
  }
  let m = max(max(i32x4.extract_lane(mv, 0), i32x4.extract_lane(mv, 1)), max(i32x4.extract_lane(mv, 2), i32x4.extract_lane(mv, 3)));
  for (; j < lim; j++) {
    const o = <usize>j << 2;
    if (load<i32>(at + o) != 0 && load<i32>(sc + o) > m) m = load<i32>(sc + o);
  }
  return m;
}

/**
 * 4 queries' outputs for one head, the queries in the lanes: a = f32(a + f32(e_j * x_jd)) over keys j < nk ascending
 * (weights of key j for the 4 queries at ew + 16 j; keys after nk weigh 0: adding 0 changes nothing), dims
 * 8 at a time (then 4; the value rows are dq >= dh floats, zero past dh); out = roundToInt8(f32(f32(a * kq) + outZp)),
 * stored for the first nv queries (rows D bytes apart), dh bytes each.
 */
function weightedSums(ew: usize, vf: usize, nk: i32, dh: i32, dq: usize, kq: v128, zo: v128, y: usize, D: usize, nv: i32): void {
  const rb = dq << 2;
  let d0: usize = 0;
  for (; d0 + 8 <= <usize>dh; d0 += 8) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let vp = vf + (d0 << 2);
    for (let j = 0; j < nk; j++) {
      const e = v128.load(ew + (<usize>j << 4));
      a0 = f32x4.add(a0, f32x4.mul(e, v128.load32_splat(vp)));
      a1 = f32x4.add(a1, f32x4.mul(e, v128.load32_splat(vp, 4)));
      a2 = f32x4.add(a2, f32x4.mul(e, v128.load32_splat(vp, 8)));
      a3 = f32x4.add(a3, f32x4.mul(e, v128.load32_splat(vp, 12)));
      a4 = f32x4.add(a4, f32x4.mul(e, v128.load32_splat(vp, 16)));
      a5 = f32x4.add(a5, f32x4.mul(e, v128.load32_splat(vp, 20)));
      a6 = f32x4.add(a6, f32x4.mul(e, v128.load32_splat(vp, 24)));
      a7 = f32x4.add(a7, f32x4.mul(e, v128.load32_splat(vp, 28)));
      vp += rb;
    }
    storeDims(a0, a1, a2, a3, kq, zo, y + d0, D, nv, 4);
    storeDims(a4, a5, a6, a7, kq, zo, y + d0 + 4, D, nv, 4);
  }
  for (; d0 < <usize>dh; d0 += 4) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let vp = vf + (d0 << 2);
    for (let j = 0; j < nk; j++) {
      const e = v128.load(ew + (<usize>j << 4));
      a0 = f32x4.add(a0, f32x4.mul(e, v128.load32_splat(vp)));
      a1 = f32x4.add(a1, f32x4.mul(e, v128.load32_splat(vp, 4)));
      a2 = f32x4.add(a2, f32x4.mul(e, v128.load32_splat(vp, 8)));
      a3 = f32x4.add(a3, f32x4.mul(e, v128.load32_splat(vp, 12)));
      vp += rb;
    }
    const left = <usize>dh - d0;
    storeDims(a0, a1, a2, a3, kq, zo, y + d0, D, nv, <i32>(left < 4 ? left : 4));
  }
}

/** Outputs of 4 dims (one vector each, queries in the lanes): the first nd dims of the first nv query rows at y, D apart. */
@inline function storeDims(a0: v128, a1: v128, a2: v128, a3: v128, kq: v128, zo: v128, y: usize, D: usize, nv: i32, nd: i32): void {
  const r0 = roundS8x4(f32x4.add(f32x4.mul(a0, kq), zo)), r1 = roundS8x4(f32x4.add(f32x4.mul(a1, kq), zo));
  const r2 = roundS8x4(f32x4.add(f32x4.mul(a2, kq), zo)), r3 = roundS8x4(f32x4.add(f32x4.mul(a3, kq), zo));
  // bytes: dim-major (dim k of query q at 4 k + q), then transposed to query-major (4 dims of query q at 4 q)
  const b = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3));
  const t = i8x16.shuffle(b, b, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  if (nd == 4) {
    v128.store32_lane(y, t, 0);
    if (nv > 1) v128.store32_lane(y + D, t, 1);
    if (nv > 2) v128.store32_lane(y + 2 * D, t, 2);
    if (nv > 3) v128.store32_lane(y + 3 * D, t, 3);
    return;
  }
  v128.store(attTmp, t);
  for (let q = 0; q < nv; q++) for (let k = 0; k < nd; k++) store<i8>(y + <usize>q * D + <usize>k, load<i8>(attTmp + <usize>(q * 4 + k)));
}
