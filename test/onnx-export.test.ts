/**
 * `tinyforge export --format onnx`: float32 ONNX (opset 17) of MatFormer BERT encoders written by our own
 * protobuf writer; onnxruntime-web loads it and reproduces io.safetensors (the PyTorch reference) and our float
 * reference within 1e-4 for every sub-model of matbert-tiny's submodels.json.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { exportOnnx } from '../compiler/export/onnx.js';
import { Message, varint } from '../compiler/export/protobuf.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { runReference } from '../compiler/ir/reference.js';
import { extractSubmodel, importMatformerCheckpoint, packForLowering, readPackedSamples } from '../compiler/passes/matformer.js';
import { tinyforge } from './helpers/cli.js';

ort.env.wasm.numThreads = 1;
const dir = join(import.meta.dirname, 'fixtures', 'matbert-tiny');
const T = 48, H = 64;
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
const feeds = (x: Float32Array, T: number) => {
  const t = (row: number) => new ort.Tensor('int64', BigInt64Array.from(Array.from(x.subarray(row * T, (row + 1) * T), (v) => BigInt(v))), [1, T]);
  return { input_ids: t(0), token_type_ids: t(1), attention_mask: t(2) };
};

describe('protobuf writer', () => {
  it('encodes varints, keys and nested messages as the wire format says', () => {
    expect(Array.from(varint(1))).toEqual([1]);
    expect(Array.from(varint(300))).toEqual([0xac, 0x02]);
    expect(Array.from(varint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    // field 1 = 150 (the protobuf docs' example), field 2 = "testing"
    expect(Array.from(new Message().int(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
    expect(Buffer.from(new Message().string(2, 'testing').finish()).toString('hex')).toBe('120774657374696e67');
    expect(Array.from(new Message().message(3, new Message().int(1, 150)).finish())).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
  });
});

describe('ONNX export of matbert-tiny', () => {
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const tensor = (n: string) => toFloat32(io.tensors.get(n)!, n, 'io.safetensors');
  const submodels = JSON.parse(readFileSync(join(dir, 'submodels.json'), 'utf8')).submodels as Record<string, { ffn_widths_per_layer: number[] }>;
  const full = importMatformerCheckpoint(dir, { sequenceLength: T });

  it.each(Object.keys(submodels))('sub-model %s: onnxruntime-web reproduces io.safetensors and our float reference within 1e-4', async (s) => {
    const g = extractSubmodel(full, submodels[s].ffn_widths_per_layer);
    const { bytes, inputs, outputs } = exportOnnx(g);
    expect(inputs.map((v) => v.name)).toEqual(['input_ids', 'token_type_ids', 'attention_mask']);
    expect(outputs).toEqual([{ name: 'last_hidden_state', shape: [1, T, H] }, { name: 'pooler_output', shape: [1, H] }]);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const packed = packForLowering(g);
    const hs = tensor(`last_hidden_state.${s}`), po = tensor(`pooler_output.${s}`);
    let errIo = 0, errRef = 0;
    const samples = readPackedSamples(join(dir, 'io.safetensors'), g);
    for (const [b, x] of samples.entries()) {
      const r = await session.run(feeds(x, T));
      const h = r.last_hidden_state.data as Float32Array, p = r.pooler_output.data as Float32Array;
      expect(r.last_hidden_state.dims).toEqual([1, T, H]);
      errIo = Math.max(errIo, maxAbs(h, hs.subarray(b * T * H, (b + 1) * T * H)), maxAbs(p, po.subarray(b * H, (b + 1) * H)));
      const ref = runReference(packed, x);
      errRef = Math.max(errRef, maxAbs(h, ref.subarray(0, T * H)), maxAbs(p, ref.subarray(T * H)));
    }
    console.log(`matbert-tiny ${s} ONNX (${bytes.byteLength} B) in onnxruntime-web: max abs error vs io.safetensors ${errIo.toExponential(2)}, vs float reference ${errRef.toExponential(2)}`);
    expect(errIo).toBeLessThanOrEqual(1e-4);
    expect(errRef).toBeLessThanOrEqual(1e-4);
    await session.release();
  });

  it('tinyforge export writes the file; one-line errors for non-MatFormer models and bad specs', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tf-onnx-')), 'sub', 'model.onnx');
    const r = tinyforge(['export', dir, '--format', 'onnx', '--out', out, '--submodel', 'mix:64,256', '--sequence-length', '16', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.widths).toEqual([64, 256]);
    expect(rep.opset).toBe(17);
    const session = await ort.InferenceSession.create(readFileSync(out));
    expect(session.inputNames).toEqual(['input_ids', 'token_type_ids', 'attention_mask']);
    const g = extractSubmodel(importMatformerCheckpoint(dir, { sequenceLength: 16 }), [64, 256]);
    const x = readPackedSamples(join(dir, 'io.safetensors'), importMatformerCheckpoint(dir, { sequenceLength: T }))[0];
    const x16 = new Float32Array(3 * 16);
    for (let row = 0; row < 3; row++) x16.set(x.subarray(row * T, row * T + 16), row * 16);
    const got = await session.run(feeds(x16, 16));
    const ref = runReference(packForLowering(g), x16);
    expect(maxAbs(got.last_hidden_state.data as Float32Array, ref.subarray(0, 16 * H))).toBeLessThanOrEqual(1e-4);

    const bad = tinyforge(['export', join(import.meta.dirname, '..', 'examples', 'forward-model'), '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a MatFormer checkpoint/);
    const badSpec = tinyforge(['export', dir, '--out', out, '--submodel', 'uniform:100']);
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr.trim().split('\n')).toHaveLength(1);
  });
});
