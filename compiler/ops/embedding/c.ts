/**
 * Embedding lookup: C emission. Both steps repeat executeEmbeddingF32 / executeEmbeddingQ8 (index.ts)
 * operation by operation: the id rounding/clamping of embeddingIndex, then the float32 sum
 * word (+ type) (+ position) in that order; q8 table entries are f32((float)q * scale[row]) (the exact
 * product of two floats rounded once, as Math.fround(q * s) is). Bit-identical with the TS oracle.
 */
import { fail } from '../../errors.js';
import { cConstArray, cFloat, type CStepEmission } from '../../backends/c/cformat.js';
import type { EmbeddingF32Step, EmbeddingQ8Step } from './index.js';

/**
 * embeddingIndex of index.ts: id > 0 ? trunc(f32(id + 0.5)) : 0, clamped to rows - 1. NaN and negatives
 * give 0; ids >= rows are clamped before the conversion (no undefined int32 overflow in C).
 */
const EMB_INDEX_HELPER = `static int32_t tf_emb_index(float id, int32_t rows) {
  int32_t r;
  if (!(id > 0.0f)) return 0;
  if (id >= (float)rows) return rows - 1;
  r = (int32_t)(id + 0.5f);
  return r >= rows ? rows - 1 : r;
}
`;

function check(s: EmbeddingF32Step | EmbeddingQ8Step): void {
  const { tokens: T, dim: D } = s;
  if (s.in.dtype !== 'float32' || s.out.dtype !== 'float32') fail(`${s.name}: ${s.op} maps float32 ids to float32 rows`);
  if (s.in.length !== T || s.out.length !== T * D) fail(`${s.name}: ${s.op} buffers do not hold ${T} ids -> [${T}, ${D}]`);
  if (s.aux && s.aux.length && (s.aux.length !== 1 || s.aux[0].length !== T || s.aux[0].dtype !== 'float32')) fail(`${s.name}: ${s.op} token-type ids must be one float32 [${T}] operand`);
  if (s.aux && s.aux.length && !s.tokenType) fail(`${s.name}: ${s.op} has token-type ids but no token-type table`);
  if (s.wordRows < 1 || s.word.length !== s.wordRows * D) fail(`${s.name}: ${s.op} word table is not [${s.wordRows}, ${D}]`);
  if (s.tokenType && (s.typeRows < 1 || s.tokenType.length !== s.typeRows * D)) fail(`${s.name}: ${s.op} token-type table is not [${s.typeRows}, ${D}]`);
  if (s.position && (s.positionRows < 1 || s.position.length !== s.positionRows * D)) fail(`${s.name}: ${s.op} position table is not [${s.positionRows}, ${D}]`);
}

/** The per-token index lines and the signature shared by both kinds. */
function frame(s: EmbeddingF32Step | EmbeddingQ8Step, fn: string, rowDecl: string, sum: string, tables: string): CStepEmission {
  const hasTypes = !!s.tokenType, typeIds = hasTypes && !!s.aux?.length;
  const sig = `static void ${fn}(const float *ids, float *y${s.aux?.length ? ', const float *types' : ''})`;
  const code = `/* ${s.name}: embedding ${s.op === 'embedding_q8' ? 'int8 tables (per-row scale)' : 'float32'}, ${s.tokens} tokens x ${s.dim}${hasTypes ? ' + token type' : ''}${s.position ? ' + position' : ''} */
${tables}${sig} {
  int32_t t, c;
  for (t = 0; t < ${s.tokens}; t++) {
    const int32_t w = tf_emb_index(ids[t], ${s.wordRows});
${hasTypes ? `    const int32_t tt = ${typeIds ? `tf_emb_index(types[t], ${s.typeRows})` : '0'};\n` : ''}${s.position ? `    const int32_t p = t < ${s.positionRows} ? t : ${s.positionRows - 1};\n` : ''}${rowDecl}    for (c = 0; c < ${s.dim}; c++) {
${sum}    }
    y += ${s.dim};
  }
}\n`;
  return { helpers: { tf_emb_index: EMB_INDEX_HELPER }, includes: ['stdint.h'], code };
}

/** `static void <fn>(const float *ids, float *y[, const float *types])`. */
export function emitEmbeddingF32C(s: EmbeddingF32Step, fn: string): CStepEmission {
  check(s);
  const D = s.dim;
  let tables = cConstArray('float', `${fn}_word`, s.word, cFloat, 6);
  if (s.tokenType) tables += cConstArray('float', `${fn}_type`, s.tokenType, cFloat, 6);
  if (s.position) tables += cConstArray('float', `${fn}_pos`, s.position, cFloat, 6);
  let rows = `    const float *wr = ${fn}_word + w * ${D};\n`;
  if (s.tokenType) rows += `    const float *tr = ${fn}_type + tt * ${D};\n`;
  if (s.position) rows += `    const float *pr = ${fn}_pos + p * ${D};\n`;
  let sum = '      float e = wr[c];\n';
  if (s.tokenType) sum += '      e = e + tr[c];\n';
  if (s.position) sum += '      e = e + pr[c];\n';
  sum += '      y[c] = e;\n';
  return frame(s, fn, rows, sum, tables);
}

/** `static void <fn>(const float *ids, float *y[, const float *types])`: int8 tables, float32 out. */
export function emitEmbeddingQ8C(s: EmbeddingQ8Step, fn: string): CStepEmission {
  check(s);
  const D = s.dim;
  if (s.wordScale.length !== s.wordRows) fail(`${s.name}: embedding_q8 word scales do not match ${s.wordRows} rows`);
  if (s.tokenType && s.tokenTypeScale?.length !== s.typeRows) fail(`${s.name}: embedding_q8 token-type scales do not match ${s.typeRows} rows`);
  if (s.position && s.positionScale?.length !== s.positionRows) fail(`${s.name}: embedding_q8 position scales do not match ${s.positionRows} rows`);
  let tables = cConstArray('int8_t', `${fn}_word`, s.word, String, 24) + cConstArray('float', `${fn}_word_s`, s.wordScale, cFloat, 6);
  if (s.tokenType) tables += cConstArray('int8_t', `${fn}_type`, s.tokenType, String, 24) + cConstArray('float', `${fn}_type_s`, s.tokenTypeScale!, cFloat, 6);
  if (s.position) tables += cConstArray('int8_t', `${fn}_pos`, s.position, String, 24) + cConstArray('float', `${fn}_pos_s`, s.positionScale!, cFloat, 6);
  let rows = `    const int8_t *wr = ${fn}_word + w * ${D};\n    const float ws = ${fn}_word_s[w];\n`;
  if (s.tokenType) rows += `    const int8_t *tr = ${fn}_type + tt * ${D};\n    const float ts = ${fn}_type_s[tt];\n`;
  if (s.position) rows += `    const int8_t *pr = ${fn}_pos + p * ${D};\n    const float ps = ${fn}_pos_s[p];\n`;
  let sum = '      float e = (float)wr[c] * ws;\n';
  if (s.tokenType) sum += '      e = e + (float)tr[c] * ts;\n';
  if (s.position) sum += '      e = e + (float)pr[c] * ps;\n';
  sum += '      y[c] = e;\n';
  return frame(s, fn, rows, sum, tables);
}
