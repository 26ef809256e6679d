/**
 * WASM emission for embedding_f32 / embedding_q8 (runtime/kernels/seq_ops.ts): tables as constants, one kernel
 * call over a block of tokens. `rows` selects the block (the decoder step emits one token at position p).
 */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { bytesOf } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { EmbeddingF32Step, EmbeddingQ8Step, EmbeddingStep } from './index.js';

export interface TokenBlock { first: number; count: number }

function check(step: EmbeddingStep, block: TokenBlock): void {
  const { tokens: T, dim } = step;
  if (step.in.dtype !== 'float32' || step.out.dtype !== 'float32') fail(`program step '${step.name}': ${step.op} takes float32 ids and writes float32 rows`);
  if (step.in.length < T || step.out.length < T * dim) fail(`program step '${step.name}': ${step.op} buffers do not hold ${T} ids -> ${T} x ${dim}`);
  if (step.wordRows < 1 || step.word.length !== step.wordRows * dim) fail(`program step '${step.name}': word table of ${step.word.length} values is not ${step.wordRows} x ${dim}`);
  if (step.tokenType && (!step.aux?.[0] || step.aux[0].length < T || step.tokenType.length !== step.typeRows * dim)) fail(`program step '${step.name}': token-type table or ids do not match`);
  if (step.position && (step.positionRows < 1 || step.position.length !== step.positionRows * dim)) fail(`program step '${step.name}': position table is not ${step.positionRows} x ${dim}`);
  if (block.first < 0 || block.count < 1 || block.first + block.count > T) fail(`internal error: token block ${block.first}+${block.count} outside ${T} tokens`);
}

export function emitEmbeddingWasm(step: EmbeddingStep, ctx: WasmEmitContext, block: TokenBlock = { first: 0, count: step.tokens }): Expr {
  check(step, block);
  const t0 = block.first, dim = step.dim;
  const ids = ctx.addr(step.in) + 4 * t0;
  const types = step.tokenType && step.aux ? ctx.addr(step.aux[0]) + 4 * t0 : 0;
  const y = ctx.addr(step.out) + 4 * t0 * dim;
  const head = [ctx.i32(ids), ctx.i32(types), ctx.i32(y), ctx.i32(t0), ctx.i32(block.count), ctx.i32(dim)];
  if (step.op === 'embedding_f32') {
    const s = step as EmbeddingF32Step;
    return ctx.call('embedding_f32', [
      ...head,
      ctx.i32(ctx.data(bytesOf(s.word), `${s.name}.word`)), ctx.i32(s.wordRows),
      ctx.i32(s.tokenType ? ctx.data(bytesOf(s.tokenType), `${s.name}.token_type`) : 0), ctx.i32(s.typeRows),
      ctx.i32(s.position ? ctx.data(bytesOf(s.position), `${s.name}.position`) : 0), ctx.i32(s.positionRows),
    ]);
  }
  const s = step as EmbeddingQ8Step;
  if (s.wordScale.length !== s.wordRows) fail(`program step '${s.name}': ${s.wordScale.length} word scales for ${s.wordRows} rows`);
  const table = (q: Int8Array | null, sc: Float32Array | null, label: string) =>
    (q && sc ? [ctx.data(bytesOf(q), `${s.name}.${label}`), ctx.data(bytesOf(sc), `${s.name}.${label}_scale`)] : [0, 0]);
  const [w, ws] = table(s.word, s.wordScale, 'word'), [t, ts] = table(s.tokenType, s.tokenTypeScale, 'token_type'), [p, ps] = table(s.position, s.positionScale, 'position');
  return ctx.call('embedding_q8', [
    ...head, ctx.i32(w), ctx.i32(ws), ctx.i32(s.wordRows), ctx.i32(t), ctx.i32(ts), ctx.i32(s.typeRows), ctx.i32(p), ctx.i32(ps), ctx.i32(s.positionRows),
  ]);
}
