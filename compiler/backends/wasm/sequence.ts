/**
 * Sequence models (MatFormer BERT encoders, MatFormer-OLMo decoders) in the WASM backend:
 *  - the emitters of their steps (embedding, rope, attention, slice/concat of the packed IO);
 *  - the metadata the runtime's encode() / logits() / generate() read (the packed input rows, the output parts);
 *  - the decoder step: for a causal program, `decode(p)` runs the whole network for the one token at position p,
 *    against a KV cache. Every step of such a program works token row by token row, except attention (query p needs
 *    keys 0 .. p) and the position-dependent embedding / RoPE rows. So decode(p) runs each step on row p of its
 *    buffers (the same arena offsets as run(), rows = 1), appends row p of every layer's k, v and mask to that
 *    layer's cache, and attends query p to cached keys 0 .. p. Cost per token: the weights once + O(p) attention,
 *    not a full forward pass. Row p of decode(p)'s output equals row p of run() bit for bit (the kernels are
 *    row-independent, and keys after p have weight exactly 0 in run()'s causal attention) as long as the token at
 *    p is a real token (mask 1): the runtime's generate() never pads.
 *    One function per position (constant addresses, like run()), dispatched by `decode(p)` through a table;
 *    their constants are those of run() (identical bytes are placed once).
 * Linear memory gains the KV cache region (after the scratch region) when a decoder step is built.
 */
import binaryen from 'binaryen';
import { fail } from '../../errors.js';
import type { AttentionStep } from '../../ops/attention/index.js';
import { attentionCacheBytes, attentionScratchBytes, emitAttentionDecodeWasm, emitAttentionWasm } from '../../ops/attention/wasm.js';
import type { EmbeddingStep } from '../../ops/embedding/index.js';
import { emitEmbeddingWasm } from '../../ops/embedding/wasm.js';
import type { RopeStep } from '../../ops/rope/index.js';
import { emitRopeWasm } from '../../ops/rope/wasm.js';
import type { ConcatStep, SliceStep } from '../../ops/slice/index.js';
import { emitConcatWasm, emitSliceWasm } from '../../ops/slice/wasm.js';
import type { BufferRef, Program, Step } from '../../plan/program.js';
import type { TinyforgeSequenceMeta } from '../../../runtime/index.js';
import { elementBytes, type Expr, type WasmEmitContext } from './context.js';

/** How a packed MatFormer program maps to its graph's inputs and outputs (compiler/passes/matformer.ts Packing). */
export interface SequencePacking {
  inputNames: string[];
  tokens: number;
  outputs: Array<{ name: string; shape: number[]; offset: number; length: number }>;
}

const isAttention = (s: Step): s is Step & AttentionStep => s.op === 'attention_f32' || s.op === 'attention_s8';
const isEmbedding = (s: Step): s is Step & EmbeddingStep => s.op === 'embedding_f32' || s.op === 'embedding_q8';
const isRope = (s: Step): s is Step & RopeStep => s.op === 'rope_f32' || s.op === 'rope_s8';

/** Emission of the sequence-model steps (undefined: not one of them). */
export function emitSequenceStepWasm(step: Step, ctx: WasmEmitContext): Expr | undefined {
  if (isEmbedding(step)) return emitEmbeddingWasm(step, ctx);
  if (isRope(step)) return emitRopeWasm(step, ctx);
  if (isAttention(step)) return emitAttentionWasm(step, ctx);
  if (step.op === 'slice_rows') return emitSliceWasm(step as SliceStep, ctx);
  if (step.op === 'concat_rows') return emitConcatWasm(step as ConcatStep, ctx);
  return undefined;
}

export function sequenceScratchBytes(step: Step): number {
  return isAttention(step) ? attentionScratchBytes(step) : 0;
}

// ---------------------------------------------------------------------------------------------
// The plan: metadata and whether a decoder step can be built

export interface SequencePlan {
  meta: Omit<TinyforgeSequenceMeta, 'decode'>;
  /** set when the program is causal and every step runs row by row: the KV cache size */
  decoder?: { cacheBytes: number };
}

/** The sequence view of a program (undefined for programs without an embedding step). */
export function planSequence(program: Program, packing?: SequencePacking): SequencePlan | undefined {
  const emb = program.steps.find(isEmbedding);
  if (!emb) return undefined;
  const T = emb.tokens;
  const slices = program.steps.filter((s): s is Step & SliceStep => s.op === 'slice_rows' && s.in.space === 'input')
    .sort((a, b) => a.offset - b.offset);
  const inputNames = packing?.inputNames ?? slices.map((s) => s.name.replace(/^inputs\./, ''));
  const k = program.input.shape.length === 2 ? program.input.shape[0] : 0;
  if (program.input.shape[1] !== T || inputNames.length !== k || !inputNames.includes('input_ids')) return undefined;
  let outputs = packing?.outputs;
  if (!outputs) {
    const concat = program.steps.find((s): s is Step & ConcatStep => s.op === 'concat_rows' && s.out.space === 'output');
    if (concat) {
      const parts = [concat.in, ...(concat.aux ?? [])];
      const bert = parts.length === 2 && parts[0].length === T * emb.dim && parts[1].length === emb.dim;
      let offset = 0;
      outputs = parts.map((r, i) => {
        const o = {
          name: bert ? ['last_hidden_state', 'pooler_output'][i] : `output_${i}`,
          shape: r.length % T === 0 && r.length > T ? [T, r.length / T] : [r.length], offset, length: r.length,
        };
        offset += r.length;
        return o;
      });
    } else {
      const shape = program.output.shape.length ? [...program.output.shape] : [program.output.shape.reduce((a, b) => a * b, 1)];
      outputs = [{ name: program.output.name, shape, offset: 0, length: shape.reduce((a, b) => a * b, 1) }];
    }
  }
  const attention = program.steps.filter(isAttention);
  const causal = attention.length > 0 && attention.every((s) => s.causal);
  const meta: SequencePlan['meta'] = {
    kind: causal ? 'decoder' : 'encoder', tokens: T, inputNames, outputs,
    vocabSize: emb.wordRows, typeVocabSize: emb.tokenType ? emb.typeRows : 0, hiddenSize: emb.dim,
  };
  const plan: SequencePlan = { meta };
  if (causal && attention.every((s) => s.tokens === T) && program.steps.every((s) => rowStep(s, T, 0) !== null)) {
    plan.decoder = { cacheBytes: attention.reduce((n, s) => n + attentionCacheBytes(s).total, 0) };
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Decoder step

type RowStep = { kind: 'generic'; step: Step } | { kind: 'embedding' | 'rope' | 'attention' };

function rowRef(ref: BufferRef, T: number, p: number): BufferRef | null {
  if (ref.length % T !== 0) return null;
  const n = ref.length / T;
  return { ...ref, offset: ref.offset + p * n * elementBytes(ref), length: n };
}

/** Step `s` restricted to token row p (null: the step does not work row by row, so no decoder step). */
function rowStep(s: Step, T: number, p: number): RowStep | null {
  if (isEmbedding(s)) return s.tokens === T ? { kind: 'embedding' } : null;
  if (isRope(s)) return s.tokens === T ? { kind: 'rope' } : null;
  if (isAttention(s)) return s.tokens === T && s.causal ? { kind: 'attention' } : null;
  const io = () => {
    const i = rowRef(s.in, T, p), o = rowRef(s.out, T, p);
    return i && o ? { in: i, out: o } : null;
  };
  switch (s.op) {
    case 'slice_rows': {
      const o = rowRef(s.out, T, p);
      return o && s.in.space === 'input' ? { kind: 'generic', step: { ...s, out: o, offset: (s as SliceStep).offset + p * o.length } as Step } : null;
    }
    case 'dense_f32': case 'dense_s8': case 'dense_s4': case 'layer_norm_f32': case 'layer_norm_s8':
    case 'softmax_f32': case 'softmax_s8': case 'affine_f32': case 'affine_s8': {
      const r = io();
      return r && (s.rows ?? 1) === T && !s.aux ? { kind: 'generic', step: { ...s, ...r, rows: 1 } as Step } : null;
    }
    case 'quantize': case 'dequantize': case 'copy': {
      const r = io();
      return r && s.in.length === s.out.length && !s.aux ? { kind: 'generic', step: { ...s, ...r } } : null;
    }
    case 'add_f32': case 'mul_f32': case 'add_s8': case 'mul_s8': {
      const r = io(), b = s.aux?.[0];
      if (!r || !b || s.length !== s.in.length || s.length !== T * r.in.length) return null;
      const row = r.in.length;
      if (s.period === s.length) {
        const br = rowRef(b, T, p);
        return br ? { kind: 'generic', step: { ...s, ...r, aux: [br], length: row, period: row } as Step } : null;
      }
      return row % s.period === 0 ? { kind: 'generic', step: { ...s, ...r, length: row } as Step } : null;
    }
    default: return null;
  }
}

/**
 * Adds decode_<p> for every position and the exported `decode(p: i32)` dispatcher; returns the export name.
 * `segments` are the data segments placed so far (run()'s constants): decoder constants with the same bytes reuse them.
 */
export function linkDecoder(mod: binaryen.Module, program: Program, plan: SequencePlan, ctx: WasmEmitContext, cacheBase: number,
  segments: Array<{ offset: number; data: Uint8Array }>, emitStep: (s: Step, c: WasmEmitContext) => Expr): string {
  const T = plan.meta.tokens;
  const placed = new Map<string, number[]>();
  const key = (b: Uint8Array) => {
    let h = 0x811c9dc5;
    const step = Math.max(1, Math.floor(b.length / 4096));
    for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i], 0x01000193);
    return `${b.length}:${h >>> 0}`;
  };
  for (const s of segments) {
    const k = key(s.data);
    placed.set(k, [...(placed.get(k) ?? []), s.offset]);
  }
  const byOffset = new Map(segments.map((s) => [s.offset, s.data]));
  const same = (a: Uint8Array, b: Uint8Array) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  const dctx: WasmEmitContext = {
    ...ctx,
    data(bytes, label) {
      const k = key(bytes);
      for (const o of placed.get(k) ?? []) if (same(byOffset.get(o)!, bytes)) return o;
      const o = ctx.data(bytes, label);
      placed.set(k, [...(placed.get(k) ?? []), o]);
      byOffset.set(o, bytes.slice());
      return o;
    },
  };
  // cache slots, in attention step order
  const cacheOf = new Map<Step, number>();
  let at = cacheBase;
  for (const s of program.steps) if (isAttention(s)) { cacheOf.set(s, at); at += attentionCacheBytes(s).total; }

  const names: string[] = [];
  for (let p = 0; p < T; p++) {
    const body = program.steps.map((s) => {
      const r = rowStep(s, T, p);
      if (!r) return fail(`internal error: step '${s.name}' has no row form for the decoder step`);
      if (r.kind === 'generic') return emitStep(r.step, dctx);
      if (r.kind === 'embedding') return emitEmbeddingWasm(s as Step & EmbeddingStep, dctx, { first: p, count: 1 });
      if (r.kind === 'rope') return emitRopeWasm(s as Step & RopeStep, dctx, { first: p, count: 1 });
      return emitAttentionDecodeWasm(s as Step & AttentionStep, dctx, p, cacheOf.get(s)!);
    });
    const name = `decode_${p}`;
    mod.addFunction(name, binaryen.none, binaryen.none, [], mod.block(null, body, binaryen.none));
    names.push(name);
  }
  mod.addTable('decode_table', T, T);
  mod.addActiveElementSegment('decode_table', 'decode_elements', names, mod.i32.const(0));
  const pos = mod.local.get(0, binaryen.i32);
  mod.addFunction('decode', binaryen.i32, binaryen.none, [], mod.if(
    mod.i32.lt_u(pos, mod.i32.const(T)),
    mod.call_indirect('decode_table', mod.local.get(0, binaryen.i32), [], binaryen.none, binaryen.none),
  ));
  mod.addFunctionExport('decode', 'decode');
  return 'decode';
}
