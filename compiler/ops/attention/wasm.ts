/**
 * WASM emission for attention_f32 / attention_s8 (runtime/kernels/seq_ops.ts). The full pass is one kernel call over
 * all T queries; the decoder step (emitAttentionDecodeWasm) first appends row p of k, v and the mask to this
 * layer's KV cache, then runs query p against cached keys 0 .. p.
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { elementBytes } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { BufferRef } from '../../plan/program.js';
import type { AttentionStep } from './index.js';

/**
 * Scratch bytes of one call (f32: nk f64 scores; s8: 3 tables + nk scores + nk weights, or with 4+ queries the buffers
 * of attnS8Blocks in runtime/kernels/seq_ops.ts: key pairs, f32 values, query pairs, scores, weights, mask flags).
 */
export function attentionScratchBytes(step: AttentionStep): number {
  const T = step.tokens;
  if (step.op === 'attention_f32') return 8 * T;
  const kp = Math.ceil(step.headDim / 2), kb = Math.ceil(T / 8), dq = Math.ceil(step.headDim / 4) * 4;
  return 3072 + Math.max(8 * T, kb * kp * 32 + T * dq * 4 + kp * 16 + 16 + kb * 8 * 16 + kb * 8 * 16 + kb * 8 * 4);
}

function operands(step: AttentionStep): { k: BufferRef; v: BufferRef; mask: BufferRef; D: number; eb: number } {
  const [k, v, mask] = step.aux ?? [];
  if (!k || !v || !mask) return fail(`program step '${step.name}': ${step.op} needs aux = [k, v, mask]`);
  const T = step.tokens, D = step.heads * step.headDim;
  const eb = step.op === 'attention_s8' ? 1 : 4;
  for (const r of [step.in, k, v, step.out]) {
    if (elementBytes(r) !== eb) fail(`program step '${step.name}': ${step.op} on a ${r.dtype} buffer`);
    if (r.length < T * D) fail(`program step '${step.name}': a ${r.length}-value buffer does not hold ${T} x ${D}`);
  }
  if (elementBytes(mask) !== eb || mask.length < T) fail(`program step '${step.name}': the mask is not ${T} ${step.op === 'attention_s8' ? 'int8' : 'float32'} values`);
  if (step.op === 'attention_s8') {
    if (step.base.length !== 3 || [...step.base].some((b) => !(b >= 0 && b <= 1))) fail(`program step '${step.name}': attention_s8 bases [${[...step.base]}] are outside [0, 1]`);
    if (step.headDim * 255 * 255 > 0x7ffffffe) fail(`program step '${step.name}': head dimension ${step.headDim} overflows the int32 scores`);
  }
  return { k, v, mask, D, eb };
}

interface Block { q: number; y: number; k: number; v: number; mask: number; i0: number; nq: number; nk: number }

function call(step: AttentionStep, ctx: WasmEmitContext, b: Block): Expr {
  const head = [b.q, b.k, b.v, b.mask, b.y, b.i0, b.nq, b.nk, step.heads, step.headDim, step.causal ? 1 : 0].map((x) => ctx.i32(x));
  const scratch = ctx.i32(ctx.scratch(attentionScratchBytes(step)));
  if (step.op === 'attention_f32') return ctx.call('attention_f32', [...head, scratch]);
  return ctx.call('attention_s8', [
    ...head, ctx.i32(step.qZeroPoint), ctx.i32(step.kZeroPoint), ctx.i32(step.vZeroPoint), ctx.i32(step.maskZeroPoint), ctx.i32(step.maskThreshold),
    ctx.f32(step.base[0]), ctx.f32(step.base[1]), ctx.f32(step.base[2]), ctx.f32(step.outRatio), ctx.i32(step.outZeroPoint), scratch,
  ]);
}

export function emitAttentionWasm(step: AttentionStep, ctx: WasmEmitContext): Expr {
  const { k, v, mask } = operands(step);
  const T = step.tokens;
  return call(step, ctx, { q: ctx.addr(step.in), y: ctx.addr(step.out), k: ctx.addr(k), v: ctx.addr(v), mask: ctx.addr(mask), i0: 0, nq: T, nk: T });
}

/** Bytes of one layer's KV cache: T rows of k, T rows of v, T mask values (each part 16-byte aligned). */
export function attentionCacheBytes(step: AttentionStep): { k: number; v: number; mask: number; total: number } {
  const eb = step.op === 'attention_s8' ? 1 : 4, T = step.tokens, D = step.heads * step.headDim;
  const a16 = (n: number) => Math.ceil(n / 16) * 16;
  const kv = a16(T * D * eb), m = a16(T * eb);
  return { k: 0, v: kv, mask: 2 * kv, total: 2 * kv + m };
}

/** Decoder step at position p: cache row p of k, v and the mask at `cache`, then query p against keys 0 .. p. */
export function emitAttentionDecodeWasm(step: AttentionStep, ctx: WasmEmitContext, p: number, cache: number): Expr {
  const { k, v, mask, D, eb } = operands(step);
  if (!step.causal) fail(`program step '${step.name}': the decoder step needs causal attention`);
  if (p < 0 || p >= step.tokens) fail(`internal error: decoder position ${p} outside ${step.tokens} tokens`);
  const c = attentionCacheBytes(step), rb = D * eb;
  const kc = cache + c.k, vc = cache + c.v, mc = cache + c.mask;
  const copy = (dst: number, src: number, n: number) => ctx.call('copy_bytes', [ctx.i32(dst), ctx.i32(src), ctx.i32(n)]);
  if (!ctx.block) return fail(`internal error: this WASM emit context cannot emit statement blocks (step '${step.name}')`);
  return ctx.block([
    copy(kc + p * rb, ctx.addr(k) + p * rb, rb),
    copy(vc + p * rb, ctx.addr(v) + p * rb, rb),
    copy(mc + p * eb, ctx.addr(mask) + p * eb, eb),
    call(step, ctx, { q: ctx.addr(step.in) + p * rb, y: ctx.addr(step.out) + p * rb, k: kc, v: vc, mask: mc, i0: p, nq: 1, nk: p + 1 }),
  ]);
}
