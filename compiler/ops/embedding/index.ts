/**
 * Embedding lookup: out[t, :] = word[id_t, :] (+ tokenType[type_t, :]) (+ position[t, :]), summed in
 * float32 in exactly that order (HF BertEmbeddings order: inputs_embeds + token_type, then + position).
 * Inputs: ids [T] (float32 values holding exact integers), optionally token-type ids [T]. Ids outside
 * [0, rows) are clamped into range (a device cannot fail mid-inference; frontends check what they can).
 *
 * Int8 programs keep the lookup as a float island (ids are not int8 data) but store the tables as int8
 * with one float32 scale per row: `quantizeEmbeddingTables` replaces the float tables by their exact
 * dequantized values f32(q * scale[row]), so the float reference (and calibration) sees exactly what
 * the `embedding_q8` step computes.
 *
 * Steps (element order row-major; `in` = ids, aux = [typeIds] when there is a type table):
 *   embedding_f32: w = word[clamp(round(id))], e = w; e = f32(e + type[...]); e = f32(e + position[t])
 *   embedding_q8:  as embedding_f32 with every table entry read as f32(q[r, c] * scale[r])
 * where round(id) = trunc(f32(id + 0.5)) for id >= 0 (ids are exact integers; negatives clamp to 0).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { BufferRef, Step } from '../../plan/program.js';
import { registerOp, registerStep } from '../registry.js';

/** These step kinds are in plan/program.ts's Step union (C emitters in ./c.ts; no WASM emitters yet).
 *  They are registered and returned through these casts because they are declared here, beside the op. */
const registerExtraStep = <S extends { op: string }>(op: S['op'], run: (s: S, mem: ProgramMemory) => void) => registerStep(op as never, run as never);
const asStep = <S extends { op: string }>(s: S): Step => s as unknown as Step;


export interface EmbeddingTable {
  /** float32 [rows, dim] */
  weight: Float32Array;
  rows: number;
}

export interface EmbeddingQ8Table {
  /** int8 [rows, dim], symmetric per row */
  q: Int8Array;
  /** float32 [rows] */
  scale: Float32Array;
}

export interface EmbeddingAttrs {
  dim: number;
  word: EmbeddingTable;
  tokenType: EmbeddingTable | null;
  position: EmbeddingTable | null;
  /** set by quantizeEmbeddingTables: the int8 form of word / tokenType / position */
  q8?: { word: EmbeddingQ8Table; tokenType: EmbeddingQ8Table | null; position: EmbeddingQ8Table | null };
}

interface StepBase { name: string; in: BufferRef; out: BufferRef; aux?: BufferRef[] }

export interface EmbeddingF32Step extends StepBase {
  op: 'embedding_f32';
  /** T */
  tokens: number;
  dim: number;
  wordRows: number;
  word: Float32Array;
  /** [typeRows, dim] or null (then no aux) */
  typeRows: number;
  tokenType: Float32Array | null;
  positionRows: number;
  position: Float32Array | null;
}

export interface EmbeddingQ8Step extends StepBase {
  op: 'embedding_q8';
  tokens: number;
  dim: number;
  wordRows: number;
  word: Int8Array;
  wordScale: Float32Array;
  typeRows: number;
  tokenType: Int8Array | null;
  tokenTypeScale: Float32Array | null;
  positionRows: number;
  position: Int8Array | null;
  positionScale: Float32Array | null;
}

export type EmbeddingStep = EmbeddingF32Step | EmbeddingQ8Step;

/** The id rounding/clamping every target applies. */
export function embeddingIndex(id: number, rows: number): number {
  const f = Math.fround;
  const r = id > 0 ? Math.trunc(f(f(id) + 0.5)) : 0;
  return r >= rows ? rows - 1 : r;
}

type Lookup = (row: number, col: number) => number;

function embed(ids: Float32Array, types: Float32Array | null, T: number, dim: number, word: [Lookup, number], type: [Lookup, number] | null, pos: [Lookup, number] | null): Float32Array {
  const f = Math.fround;
  const y = new Float32Array(T * dim);
  for (let t = 0; t < T; t++) {
    const w = embeddingIndex(ids[t], word[1]);
    const tt = type && types ? embeddingIndex(types[t], type[1]) : 0;
    const p = pos ? (t < pos[1] ? t : pos[1] - 1) : 0;
    for (let c = 0; c < dim; c++) {
      let e = word[0](w, c);
      if (type) e = f(e + type[0](tt, c));
      if (pos) e = f(e + pos[0](p, c));
      y[t * dim + c] = e;
    }
  }
  return y;
}

const floatTable = (w: Float32Array | null, rows: number, dim: number): [Lookup, number] | null => (w ? [(r, c) => w[r * dim + c], rows] : null);
const q8Table = (q: Int8Array | null, s: Float32Array | null, rows: number, dim: number): [Lookup, number] | null =>
  (q && s ? [(r, c) => Math.fround(q[r * dim + c] * s[r]), rows] : null);

export function embeddingReference(ids: Float32Array, types: Float32Array | null, a: EmbeddingAttrs): Float32Array {
  return embed(ids, types, ids.length, a.dim, floatTable(a.word.weight, a.word.rows, a.dim)!, a.tokenType ? floatTable(a.tokenType.weight, a.tokenType.rows, a.dim) : null,
    a.position ? floatTable(a.position.weight, a.position.rows, a.dim) : null);
}

/** Symmetric per-row int8 form of a [rows, dim] table: scale = maxabs / 127, q = round(w / scale). */
export function quantizeTable(t: EmbeddingTable, dim: number): { q8: EmbeddingQ8Table; dequantized: Float32Array } {
  const q = new Int8Array(t.weight.length), scale = new Float32Array(t.rows), deq = new Float32Array(t.weight.length);
  for (let r = 0; r < t.rows; r++) {
    let m = 0;
    for (let c = 0; c < dim; c++) m = Math.max(m, Math.abs(t.weight[r * dim + c]));
    const s = Math.fround(m > 0 ? m / 127 : 1);
    scale[r] = s;
    for (let c = 0; c < dim; c++) {
      const v = Math.max(-127, Math.min(127, Math.round(t.weight[r * dim + c] / s)));
      q[r * dim + c] = v;
      deq[r * dim + c] = Math.fround(v * s);
    }
  }
  return { q8: { q, scale }, dequantized: deq };
}

/** The attrs of an embedding node with int8 tables (the float tables become their dequantized values). */
export function quantizeEmbeddingAttrs(a: EmbeddingAttrs): EmbeddingAttrs {
  const one = (t: EmbeddingTable | null) => (t ? quantizeTable(t, a.dim) : null);
  const w = one(a.word)!, tt = one(a.tokenType), p = one(a.position);
  return {
    dim: a.dim,
    word: { rows: a.word.rows, weight: w.dequantized },
    tokenType: a.tokenType && tt ? { rows: a.tokenType.rows, weight: tt.dequantized } : null,
    position: a.position && p ? { rows: a.position.rows, weight: p.dequantized } : null,
    q8: { word: w.q8, tokenType: tt?.q8 ?? null, position: p?.q8 ?? null },
  };
}

registerOp<EmbeddingAttrs>('embedding', {
  shape: (inputs, a, where) => {
    const [ids, types] = inputs;
    if (ids.length !== 1) fail(`${where}: embedding ids must be a [tokens] vector, got [${ids}]`);
    if (a.tokenType && (!types || types.join(',') !== ids.join(','))) fail(`${where}: token-type ids must have the ids' shape [${ids}]`);
    if (a.position && ids[0] > a.position.rows) fail(`${where}: ${ids[0]} tokens exceed the ${a.position.rows} position embeddings`);
    return [[ids[0], a.dim]];
  },
  reference: (xs, _s, a) => [embeddingReference(xs[0], xs[1] ?? null, a)],
  parameters: (a) => a.word.weight.length + (a.tokenType?.weight.length ?? 0) + (a.position?.weight.length ?? 0),
  lowerFloat: (n, ctx) => {
    const ids = ctx.read(n.inputs[0]);
    const aux = n.attrs.tokenType ? [ctx.read(n.inputs[1])] : undefined;
    const out = ctx.write(n.outputs[0], 'float32');
    const a = n.attrs, tokens = ids.length;
    const base = {
      name: n.name, in: ids, out, ...(aux ? { aux } : {}), tokens, dim: a.dim, wordRows: a.word.rows,
      typeRows: a.tokenType?.rows ?? 0, positionRows: a.position?.rows ?? 0,
    };
    if (a.q8) {
      return asStep({
        op: 'embedding_q8', ...base, word: a.q8.word.q, wordScale: a.q8.word.scale,
        tokenType: a.q8.tokenType?.q ?? null, tokenTypeScale: a.q8.tokenType?.scale ?? null,
        position: a.q8.position?.q ?? null, positionScale: a.q8.position?.scale ?? null,
      } satisfies EmbeddingQ8Step);
    }
    return asStep({ op: 'embedding_f32', ...base, word: a.word.weight, tokenType: a.tokenType?.weight ?? null, position: a.position?.weight ?? null } satisfies EmbeddingF32Step);
  },
});

export function executeEmbeddingF32(s: EmbeddingF32Step, mem: ProgramMemory): void {
  const types = s.tokenType && s.aux ? mem.f32(s.aux[0]) : null;
  mem.f32(s.out).set(embed(mem.f32(s.in), types, s.tokens, s.dim, floatTable(s.word, s.wordRows, s.dim)!, floatTable(s.tokenType, s.typeRows, s.dim), floatTable(s.position, s.positionRows, s.dim)));
}

export function executeEmbeddingQ8(s: EmbeddingQ8Step, mem: ProgramMemory): void {
  const types = s.tokenType && s.aux ? mem.f32(s.aux[0]) : null;
  mem.f32(s.out).set(embed(mem.f32(s.in), types, s.tokens, s.dim, q8Table(s.word, s.wordScale, s.wordRows, s.dim)!,
    q8Table(s.tokenType, s.tokenTypeScale, s.typeRows, s.dim), q8Table(s.position, s.positionScale, s.positionRows, s.dim)));
}

registerExtraStep<EmbeddingF32Step>('embedding_f32', executeEmbeddingF32);
registerExtraStep<EmbeddingQ8Step>('embedding_q8', executeEmbeddingQ8);
