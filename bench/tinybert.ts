/**
 * A seeded TinyBERT-scale MatFormer BERT checkpoint (HF BertModel state_dict names, F32), written into a
 * folder at test / bench time (never committed): 4 layers, hidden 312, 12 heads, FFN 1200, vocab 30522,
 * 512 positions, 2 token types (~14.4M parameters), `"matformer": {"granularities": [150, 300, 600, 1200]}`.
 * Weights follow BERT's initializer (normal, std 0.02; LayerNorm weight 1 + small noise, bias small noise),
 * plus a calibration / input file `io.safetensors` (input_ids, token_type_ids, attention_mask as I32 [N, T]).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../compiler/io/safetensors.js';
import { xorshift } from './models.js';

export interface BertShape {
  layers: number; hidden: number; heads: number; ffn: number; vocab: number; positions: number; typeVocab: number; granularities: number[];
}

export const TINYBERT_SHAPE: BertShape = { layers: 4, hidden: 312, heads: 12, ffn: 1200, vocab: 30522, positions: 512, typeVocab: 2, granularities: [150, 300, 600, 1200] };

/** Writes config.json + model.safetensors into `dir`; returns dir. */
export function writeMatformerBert(dir: string, shape: BertShape = TINYBERT_SHAPE, seed = 20240611): string {
  mkdirSync(dir, { recursive: true });
  const r = xorshift(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const normal = (n: number, std: number, mean = 0) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = mean + std * gauss(); return a; };
  const t: Record<string, TensorToWrite> = {};
  const put = (name: string, dims: number[], data: Float32Array) => { t[name] = { dtype: 'F32', shape: dims, data }; };
  const { hidden: D, ffn: F } = shape;
  const ln = (p: string) => { put(`${p}.weight`, [D], normal(D, 0.05, 1)); put(`${p}.bias`, [D], normal(D, 0.02)); };
  const lin = (p: string, outF: number, inF: number) => { put(`${p}.weight`, [outF, inF], normal(outF * inF, 0.02)); put(`${p}.bias`, [outF], normal(outF, 0.02)); };
  put('embeddings.word_embeddings.weight', [shape.vocab, D], normal(shape.vocab * D, 0.02));
  put('embeddings.position_embeddings.weight', [shape.positions, D], normal(shape.positions * D, 0.02));
  put('embeddings.token_type_embeddings.weight', [shape.typeVocab, D], normal(shape.typeVocab * D, 0.02));
  ln('embeddings.LayerNorm');
  for (let l = 0; l < shape.layers; l++) {
    const p = `encoder.layer.${l}`;
    lin(`${p}.attention.self.query`, D, D);
    lin(`${p}.attention.self.key`, D, D);
    lin(`${p}.attention.self.value`, D, D);
    lin(`${p}.attention.output.dense`, D, D);
    ln(`${p}.attention.output.LayerNorm`);
    lin(`${p}.intermediate.dense`, F, D);
    lin(`${p}.output.dense`, D, F);
    ln(`${p}.output.LayerNorm`);
  }
  lin('pooler.dense', D, D);
  const config = {
    architectures: ['BertModel'], model_type: 'bert', hidden_act: 'gelu', hidden_size: D, num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads, intermediate_size: F, vocab_size: shape.vocab, max_position_embeddings: shape.positions,
    type_vocab_size: shape.typeVocab, layer_norm_eps: 1e-12, position_embedding_type: 'absolute', pad_token_id: 0, torch_dtype: 'float32',
    matformer: { granularities: shape.granularities },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeSafetensors(join(dir, 'model.safetensors'), t);
  return dir;
}

export interface TokenBatch { inputIds: Int32Array; tokenTypeIds: Int32Array; attentionMask: Int32Array; count: number; tokens: number }

/** Seeded random token batches: [CLS]=101 first, random ids, two segments, some padded at the end (mask 0, id 0). */
export function randomTokens(count: number, tokens: number, vocab: number, seed = 5, pad = true): TokenBatch {
  const r = xorshift(seed);
  const inputIds = new Int32Array(count * tokens), tokenTypeIds = new Int32Array(count * tokens), attentionMask = new Int32Array(count * tokens);
  for (let s = 0; s < count; s++) {
    const len = pad && s % 2 === 1 ? Math.max(2, Math.floor(tokens * (0.4 + 0.5 * r()))) : tokens;
    const split = Math.floor(len * (0.3 + 0.4 * r()));
    for (let i = 0; i < len; i++) {
      inputIds[s * tokens + i] = i === 0 ? Math.min(101, vocab - 1) : 1 + Math.floor(r() * (vocab - 1));
      tokenTypeIds[s * tokens + i] = i >= split ? 1 : 0;
      attentionMask[s * tokens + i] = 1;
    }
  }
  return { inputIds, tokenTypeIds, attentionMask, count, tokens };
}

/** io.safetensors-style file (I32 [N, T]) the MatFormer passes read as calibration data (readPackedSamples). */
export function writeTokens(file: string, b: TokenBatch): string {
  const sh = [b.count, b.tokens];
  writeSafetensors(file, {
    input_ids: { dtype: 'I32', shape: sh, data: b.inputIds },
    token_type_ids: { dtype: 'I32', shape: sh, data: b.tokenTypeIds },
    attention_mask: { dtype: 'I32', shape: sh, data: b.attentionMask },
  });
  return file;
}
