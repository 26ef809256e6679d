/**
 * Multi-head scaled dot-product attention of one layer (the part between the Q/K/V projections and the
 * output projection): inputs q, k, v [T, heads * headDim] (head h = columns h*headDim ..), mask [T]
 * (1 = real token, 0 = padding; applied on the key axis); output [T, heads * headDim].
 *
 * Float reference (double inside, float32 out), per head h and query i:
 *   s_j = (q_i . k_j) / sqrt(headDim) + bias_j,
 *   bias_j = max((1 - mask_j) * F32_MIN + (causal && j > i ? F32_MIN : 0), F32_MIN)
 *   (F32_MIN = -3.4028234663852886e38: HF's additive mask; OLMo's ensure_finite caps the sum)
 *   p = softmax(s) (max-subtracted); out_i = sum_j p_j v_j.
 * With 0/1 masks this is: softmax over the attended keys (mask_j = 1 and, if causal, j <= i); when a
 * query has no attended key, every key gets the same weight 1/T (the bias swamps the scores).
 *
 * int8 (attention_s8; in = q, aux = [k, v, mask], all int8; out int8):
 *   attended_j = (mask_q[j] - maskZp >= maskThreshold) && (!causal || j <= i)
 *     (maskThreshold = ceil(0.5 / maskScale): the dequantized mask is >= 0.5)
 *   per head h, query i:
 *     acc_j = sum_d (q[i,h,d] - qZp) * (k[j,h,d] - kZp)                     (int32, exact)
 *     if some key is attended: m = max over attended j of acc_j; for attended j: e_j = E(m - acc_j),
 *        for the others e_j = 0; else e_j = 1 for every j
 *     E(d) (d >= 0 an integer): d >= 2^24 -> 0; else
 *        e = f32(t0[d & 255] * t1[(d >> 8) & 255]); if (e < 1e-30f) e = 0;
 *        e = f32(e * t2[d >> 16]);                  if (e < 1e-30f) e = 0
 *     tables (built at run time like softmax_s8's, 3 x 256 floats): tk[0] = 1,
 *        tk[n] = tk[n-1] < 1e-30f ? 0 : f32(tk[n-1] * base[k]); base[k] = f32(exp(-c * 256^k)),
 *        c = qScale * kScale / sqrt(headDim) (compile time), so E(d) ~ exp(-c d)
 *     sum = e_0 + e_1 + ... + e_{T-1} (f32, j ascending); kq = f32(f32(1 / sum) * outRatio)
 *       (outRatio = f32(vScale / outScale))
 *     for each d: a = 0; for j ascending: a = f32(a + f32(e_j * f32(v[j,h,d] - vZp)))
 *       out[i,h,d] = roundToInt8(f32(f32(a * kq) + outZp))
 * No fused multiply-add anywhere (as for layer_norm_s8 / softmax_s8).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { BufferRef, Step } from '../../plan/program.js';
import { roundToInt8 } from '../../quant/fixedpoint.js';
import { softmaxTable } from '../softmax/index.js';
import { registerOp, registerStep } from '../registry.js';

/** These step kinds are in plan/program.ts's Step union (C emitters in ./c.ts; no WASM emitters yet).
 *  They are registered and returned through these casts because they are declared here, beside the op. */
const registerExtraStep = <S extends { op: string }>(op: S['op'], run: (s: S, mem: ProgramMemory) => void) => registerStep(op as never, run as never);
const asStep = <S extends { op: string }>(s: S): Step => s as unknown as Step;


export interface AttentionAttrs {
  heads: number;
  headDim: number;
  causal: boolean;
}

interface StepBase { name: string; in: BufferRef; out: BufferRef; aux?: BufferRef[] }

/** float32 attention; in = q, aux = [k, v, mask] (all float32); reference semantics above. */
export interface AttentionF32Step extends StepBase {
  op: 'attention_f32';
  tokens: number;
  heads: number;
  headDim: number;
  causal: boolean;
}

/** int8 attention; in = q, aux = [k, v, mask] (all int8); semantics in the module header. */
export interface AttentionS8Step extends StepBase {
  op: 'attention_s8';
  tokens: number;
  heads: number;
  headDim: number;
  causal: boolean;
  qZeroPoint: number;
  kZeroPoint: number;
  vZeroPoint: number;
  maskZeroPoint: number;
  maskThreshold: number;
  /** [f32(exp(-c)), f32(exp(-256 c)), f32(exp(-65536 c))] */
  base: Float32Array;
  outRatio: number;
  outZeroPoint: number;
}

export type AttentionStep = AttentionF32Step | AttentionS8Step;

export const F32_MIN = -3.4028234663852886e38;

export function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array, T: number, a: AttentionAttrs): Float32Array {
  const { heads: H, headDim: dh } = a, D = H * dh;
  const y = new Float32Array(T * D);
  const scale = 1 / Math.sqrt(dh);
  const s = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      let m = -Infinity;
      for (let j = 0; j < T; j++) {
        let dot = 0;
        for (let d = 0; d < dh; d++) dot += q[i * D + h * dh + d] * k[j * D + h * dh + d];
        const bias = Math.max((1 - mask[j]) * F32_MIN + (a.causal && j > i ? F32_MIN : 0), F32_MIN);
        s[j] = dot * scale + bias;
        if (s[j] > m) m = s[j];
      }
      let sum = 0;
      for (let j = 0; j < T; j++) { s[j] = Math.exp(s[j] - m); sum += s[j]; }
      for (let d = 0; d < dh; d++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += s[j] * v[j * D + h * dh + d];
        y[i * D + h * dh + d] = acc / sum;
      }
    }
  }
  return y;
}

registerOp<AttentionAttrs>('attention', {
  shape: ([q, k, v, mask], a, where) => {
    const D = a.heads * a.headDim;
    if (!q || !k || !v || !mask) fail(`${where}: attention needs q, k, v and mask inputs`);
    for (const [n, s] of [['q', q], ['k', k], ['v', v]] as const) {
      if (s.length !== 2 || s[1] !== D || s[0] !== q[0]) fail(`${where}: attention ${n} must be [tokens, ${a.heads} heads x ${a.headDim}] = [${q[0]}, ${D}], got [${s}]`);
    }
    if (mask.length !== 1 || mask[0] !== q[0]) fail(`${where}: attention mask must be [${q[0]}], got [${mask}]`);
    return [q];
  },
  reference: ([q, k, v, mask], [qs], a) => [attentionReference(q, k, v, mask, qs[0], a)],
  macs: ([q], a) => 2 * a.heads * q[0] * q[0] * a.headDim,
  lowerFloat: (n, ctx) => {
    const [q, k, v, mask] = n.inputs.map((x) => ctx.read(x));
    return asStep({ op: 'attention_f32', name: n.name, in: q, aux: [k, v, mask], out: ctx.write(n.outputs[0], 'float32'), tokens: ctx.shape(n.inputs[0])[0], ...n.attrs } satisfies AttentionF32Step);
  },
  lowerInt8: (n, ctx) => {
    const f = Math.fround;
    // the mask first: reading it may insert a quantize step, and q/k/v read before that step would end
    // their lifetimes one step too early (the planner could then put the output over them)
    const mask = ctx.read(n.inputs[3]);
    const [q, k, v] = n.inputs.slice(0, 3).map((x) => ctx.read(x));
    const [pq, pk, pv, pm] = n.inputs.map((x) => ctx.params(x));
    const po = ctx.params(n.outputs[0]);
    const c = (pq.scale * pk.scale) / Math.sqrt(n.attrs.headDim);
    return asStep({
      op: 'attention_s8', name: n.name, in: q, aux: [k, v, mask], out: ctx.write(n.outputs[0]), tokens: ctx.shape(n.inputs[0])[0], ...n.attrs,
      qZeroPoint: pq.zeroPoint, kZeroPoint: pk.zeroPoint, vZeroPoint: pv.zeroPoint,
      maskZeroPoint: pm.zeroPoint, maskThreshold: Math.ceil(0.5 / pm.scale),
      base: Float32Array.from([Math.exp(-c), Math.exp(-c * 256), Math.exp(-c * 65536)]),
      outRatio: f(pv.scale / po.scale), outZeroPoint: po.zeroPoint,
    } satisfies AttentionS8Step);
  },
});

registerExtraStep<AttentionF32Step>('attention_f32', (s, mem) => {
  const [k, v, mask] = s.aux!.map((r) => mem.f32(r));
  mem.f32(s.out).set(attentionReference(mem.f32(s.in), k, v, mask, s.tokens, s));
});

/** E(d) of the header: exp(-c d) from three run-time tables. */
export function attentionExp(d: number, t0: Float32Array, t1: Float32Array, t2: Float32Array): number {
  const f = Math.fround;
  if (d >= 1 << 24) return 0;
  let e = f(t0[d & 255] * t1[(d >> 8) & 255]);
  if (e < f(1e-30)) e = 0;
  e = f(e * t2[d >> 16]);
  if (e < f(1e-30)) e = 0;
  return e;
}

export function executeAttentionS8(s: AttentionS8Step, mem: ProgramMemory): void {
  const f = Math.fround;
  const q = mem.i8(s.in), [k, v, mask] = s.aux!.map((r) => mem.i8(r)), y = mem.i8(s.out);
  const T = s.tokens, dh = s.headDim, D = s.heads * dh;
  const t0 = softmaxTable(s.base[0]), t1 = softmaxTable(s.base[1]), t2 = softmaxTable(s.base[2]);
  const acc = new Int32Array(T), e = new Float32Array(T), att = new Uint8Array(T);
  for (let h = 0; h < s.heads; h++) {
    for (let i = 0; i < T; i++) {
      let any = false, m = 0;
      for (let j = 0; j < T; j++) {
        att[j] = mask[j] - s.maskZeroPoint >= s.maskThreshold && (!s.causal || j <= i) ? 1 : 0;
        if (!att[j]) continue;
        let a = 0;
        for (let d = 0; d < dh; d++) a += (q[i * D + h * dh + d] - s.qZeroPoint) * (k[j * D + h * dh + d] - s.kZeroPoint);
        acc[j] = a;
        if (!any || a > m) m = a;
        any = true;
      }
      let sum = 0;
      for (let j = 0; j < T; j++) {
        e[j] = !any ? 1 : att[j] ? attentionExp(m - acc[j], t0, t1, t2) : 0;
        sum = f(sum + e[j]);
      }
      const kq = f(f(1 / sum) * s.outRatio);
      for (let d = 0; d < dh; d++) {
        let a = 0;
        for (let j = 0; j < T; j++) a = f(a + f(e[j] * (v[j * D + h * dh + d] - s.vZeroPoint)));
        y[i * D + h * dh + d] = roundToInt8(f(f(a * kq) + s.outZeroPoint));
      }
    }
  }
}

registerExtraStep<AttentionS8Step>('attention_s8', executeAttentionS8);
