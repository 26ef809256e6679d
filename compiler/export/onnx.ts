/**
 * ONNX export (float32, opset 17) of MatFormer BERT encoders, written with our own protobuf writer
 * (./protobuf.ts). The graph is the one the compiler imports (compiler/frontends/matformer-bert.ts),
 * after sub-model extraction when one is asked for, so the exported model is exactly the float
 * reference: inputs input_ids, token_type_ids, attention_mask (int64 [1, T]); outputs
 * last_hidden_state [1, T, hidden] and pooler_output [1, hidden].
 *
 * Mapping (per IR op):
 *   embedding  -> Gather(word, ids) + Gather(type, type_ids), then + position rows 0..T-1 (an initializer)
 *   layer_norm -> LayerNormalization(axis -1, epsilon)
 *   dense      -> MatMul(x, Wᵀ) + b (Wᵀ stored [in, out]); gelu = x·0.5·(1 + Erf(x/√2)), tanh, relu
 *   attention  -> per-head Reshape/Transpose, MatMul, ·1/√dh, + (1 − mask)·F32_MIN (HF's additive mask),
 *                 Softmax(-1), MatMul, back to [1, T, hidden]
 *   add, gather (batch axis prepended), reshape (batch axis prepended)
 */
import { fail } from '../errors.js';
import { matformerMeta } from '../frontends/matformer-bert.js';
import type { Graph, GraphNode } from '../ir/graph.js';
import type { DenseAttrs } from '../ops/dense/index.js';
import type { EmbeddingAttrs } from '../ops/embedding/index.js';
import { Message } from './protobuf.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
const FLOAT = 1, INT64 = 7;
const F32_MIN = -3.4028234663852886e38;

interface Tensor { name: string; dims: number[]; type: typeof FLOAT | typeof INT64; data: Float32Array | BigInt64Array }

class OnnxGraphBuilder {
  readonly nodes: Message[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;
  private consts = new Map<string, string>();

  fresh(base: string): string { return `${base}/${this.counter++}`; }

  node(op: string, inputs: string[], outputs: string[] | number = 1, attrs: Message[] = [], base = op): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(base)) : outputs;
    const n = new Message();
    for (const i of inputs) n.string(1, i);
    for (const o of outs) n.string(2, o);
    n.string(3, this.fresh(`${base}.${op}`));
    n.string(4, op);
    for (const a of attrs) n.message(5, a);
    this.nodes.push(n);
    return outs;
  }

  one(op: string, inputs: string[], attrs: Message[] = [], output?: string, base = op): string {
    return this.node(op, inputs, output ? [output] : 1, attrs, base)[0];
  }

  init(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, type: data instanceof BigInt64Array ? INT64 : FLOAT, data });
    return name;
  }

  /** shared small constants (shapes, scalars) */
  constInts(values: number[]): string {
    const k = `i:${values.join(',')}`;
    let n = this.consts.get(k);
    if (!n) { n = this.init(`const.int64.${this.consts.size}`, [values.length], BigInt64Array.from(values.map(BigInt))); this.consts.set(k, n); }
    return n;
  }

  constFloat(v: number): string {
    const k = `f:${v}`;
    let n = this.consts.get(k);
    if (!n) { n = this.init(`const.float.${this.consts.size}`, [], Float32Array.of(v)); this.consts.set(k, n); }
    return n;
  }
}

const attrInt = (name: string, v: number) => new Message().string(1, name).int(3, v).int(20, 2);
const attrFloat = (name: string, v: number) => new Message().string(1, name).float(2, v).int(20, 1);
const attrInts = (name: string, v: number[]) => new Message().string(1, name).packedInts(8, v).int(20, 7);

function tensorProto(t: Tensor): Message {
  const m = new Message();
  m.packedInts(1, t.dims);
  m.int(2, t.type);
  m.string(8, t.name);
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function valueInfo(name: string, elemType: number, dims: number[]): Message {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, elemType).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/** Wᵀ of a [out, in] nn.Linear weight: [in, out] */
function transposed(w: Float32Array, outF: number, inF: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) t[i * outF + o] = w[o * inF + i];
  return t;
}

export interface OnnxExportInfo { bytes: Uint8Array; inputs: Array<{ name: string; shape: number[] }>; outputs: Array<{ name: string; shape: number[] }>; nodes: number; initializers: number }

/** Serializes a MatFormer BERT graph (importMatformerCheckpoint / extractSubmodel, not packed) as an ONNX model. */
export function exportOnnx(g: Graph, opts: { producerVersion?: string } = {}): OnnxExportInfo {
  const meta = matformerMeta(g);
  if (!meta || meta.family !== 'bert') fail(`${g.source}: ONNX export supports MatFormer BERT encoders ("model_type": "bert" with "matformer" in config.json); this is ${meta ? `a MatFormer ${meta.family} model` : `a ${g.modelType} model`}`);
  if (g.meta?.packing) fail(`${g.source}: export the graph before packForLowering (the packed form has one float input)`);
  const T = meta.sequenceLength;
  const b = new OnnxGraphBuilder();
  const rename = new Map<string, string>(); // IR value -> ONNX value (the mask becomes its additive bias)
  const ref = (v: string) => rename.get(v) ?? v;

  // additive attention bias [1, 1, 1, T] = (1 - float(mask)) * F32_MIN
  const maskF = b.one('Cast', ['attention_mask'], [attrInt('to', FLOAT)], undefined, 'mask');
  const inv = b.one('Sub', [b.constFloat(1), maskF], [], undefined, 'mask');
  const bias = b.one('Mul', [inv, b.constFloat(F32_MIN)], [], undefined, 'mask');
  rename.set('attention_mask', b.one('Reshape', [bias, b.constInts([1, 1, 1, T])], [], 'attention_mask_bias'));

  const emitNode = (n: GraphNode) => {
    const out = n.outputs[0];
    switch (n.op) {
      case 'embedding': {
        const a = n.attrs as EmbeddingAttrs;
        const D = a.dim;
        let e = b.one('Gather', [b.init(`${n.name}.word_embeddings.weight`, [a.word.rows, D], a.word.weight), n.inputs[0]], [attrInt('axis', 0)], undefined, n.name);
        if (a.tokenType) {
          const t = b.one('Gather', [b.init(`${n.name}.token_type_embeddings.weight`, [a.tokenType.rows, D], a.tokenType.weight), n.inputs[1]], [attrInt('axis', 0)], undefined, n.name);
          e = b.one('Add', [e, t], [], undefined, n.name);
        }
        if (a.position) {
          const rows = new Float32Array(T * D);
          for (let t = 0; t < T; t++) rows.set(a.position.weight.subarray(Math.min(t, a.position.rows - 1) * D, (Math.min(t, a.position.rows - 1) + 1) * D), t * D);
          e = b.one('Add', [e, b.init(`${n.name}.position_embeddings.rows`, [1, T, D], rows)], [], undefined, n.name);
        }
        b.one('Identity', [e], [], out);
        return;
      }
      case 'layer_norm': {
        const a = n.attrs as { eps: number; weight: Float32Array; bias: Float32Array | null };
        const d = a.weight.length;
        const inputs = [ref(n.inputs[0]), b.init(`${n.name}.weight`, [d], a.weight), b.init(`${n.name}.bias`, [d], a.bias ?? new Float32Array(d))];
        b.one('LayerNormalization', inputs, [attrInt('axis', -1), attrFloat('epsilon', a.eps)], out, n.name);
        return;
      }
      case 'dense': {
        const a = n.attrs as DenseAttrs;
        const w = b.init(`${n.name}.weight_t`, [a.inFeatures, a.outFeatures], transposed(a.weights, a.outFeatures, a.inFeatures));
        let y = b.one('MatMul', [ref(n.inputs[0]), w], [], undefined, n.name);
        const act = a.activation ?? 'linear';
        y = b.one('Add', [y, b.init(`${n.name}.bias`, [a.outFeatures], a.bias)], [], act === 'linear' ? out : undefined, n.name);
        if (act === 'gelu') {
          const s = b.one('Mul', [y, b.constFloat(Math.SQRT1_2)], [], undefined, n.name);
          const e = b.one('Erf', [s], [], undefined, n.name);
          const p = b.one('Add', [e, b.constFloat(1)], [], undefined, n.name);
          const h = b.one('Mul', [y, b.constFloat(0.5)], [], undefined, n.name);
          b.one('Mul', [h, p], [], out, n.name);
        } else if (act === 'tanh') b.one('Tanh', [y], [], out, n.name);
        else if (act === 'relu') b.one('Relu', [y], [], out, n.name);
        else if (act === 'sigmoid') b.one('Sigmoid', [y], [], out, n.name);
        else if (act !== 'linear') fail(`${g.source}: dense '${n.name}': activation '${act}' has no ONNX mapping`);
        return;
      }
      case 'attention': {
        const a = n.attrs as { heads: number; headDim: number; causal: boolean };
        if (a.causal) fail(`${g.source}: attention '${n.name}' is causal; ONNX export covers BERT encoders only`);
        const H = a.heads, dh = a.headDim;
        const split = b.constInts([1, T, H, dh]);
        const heads = (v: string, perm: number[]) => b.one('Transpose', [b.one('Reshape', [ref(v), split], [], undefined, n.name)], [attrInts('perm', perm)], undefined, n.name);
        const q = heads(n.inputs[0], [0, 2, 1, 3]), k = heads(n.inputs[1], [0, 2, 3, 1]), v = heads(n.inputs[2], [0, 2, 1, 3]);
        let s = b.one('MatMul', [q, k], [], undefined, n.name);
        s = b.one('Mul', [s, b.constFloat(1 / Math.sqrt(dh))], [], undefined, n.name);
        s = b.one('Add', [s, ref(n.inputs[3])], [], undefined, n.name);
        const p = b.one('Softmax', [s], [attrInt('axis', -1)], undefined, n.name);
        const c = b.one('Transpose', [b.one('MatMul', [p, v], [], undefined, n.name)], [attrInts('perm', [0, 2, 1, 3])], undefined, n.name);
        b.one('Reshape', [c, b.constInts([1, T, H * dh])], [], out, n.name);
        return;
      }
      case 'add':
        b.one('Add', n.inputs.map(ref), [], out, n.name);
        return;
      case 'gather': {
        const a = n.attrs as { axis: number; indices: number[] };
        b.one('Gather', [ref(n.inputs[0]), b.constInts(a.indices)], [attrInt('axis', a.axis + 1)], out, n.name);
        return;
      }
      case 'reshape': {
        const a = n.attrs as { shape: number[] };
        b.one('Reshape', [ref(n.inputs[0]), b.constInts([1, ...a.shape])], [], out, n.name);
        return;
      }
      default:
        fail(`${g.source}: node '${n.name}': op '${n.op}' has no ONNX mapping`);
    }
  };
  for (const n of g.nodes) emitNode(n);

  const inputs = g.inputs.map((v) => ({ name: v.name, shape: [1, ...v.shape] }));
  const outputs = g.outputs.map((v) => ({ name: v.name, shape: [1, ...v.shape] }));
  const graph = new Message();
  for (const n of b.nodes) graph.message(1, n);
  graph.string(2, g.name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'tinyforge');
  for (const t of b.initializers) graph.message(5, tensorProto(t));
  for (const v of inputs) graph.message(11, valueInfo(v.name, INT64, v.shape));
  for (const v of outputs) graph.message(12, valueInfo(v.name, FLOAT, v.shape));
  const model = new Message()
    .int(1, ONNX_IR_VERSION)
    .string(2, 'tinyforge')
    .string(3, opts.producerVersion ?? '0.1.0')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, ONNX_OPSET));
  return { bytes: model.finish(), inputs, outputs, nodes: b.nodes.length, initializers: b.initializers.length };
}

export interface ExportOptions {
  format: 'onnx';
  out: string;
  /** MatFormer: `uniform:M`, `mix:M1,M2,...` or `budget:...` (as `compile --submodel`) */
  submodel?: string;
  /** tokens per sequence (default: the model's maximum) */
  sequenceLength?: number;
}

export interface ExportReport {
  tool: 'tinyforge';
  model: string;
  source: string;
  format: 'onnx';
  opset: number;
  out: string;
  bytes: number;
  /** FFN width per layer of the exported (sub-)model */
  widths: number[];
  submodel?: { request: string; spec: string };
  inputs: OnnxExportInfo['inputs'];
  outputs: OnnxExportInfo['outputs'];
  nodes: number;
  initializers: number;
  exportMs: number;
}

/** `tinyforge export <model> --format onnx --out FILE [--submodel SPEC] [--sequence-length N]` */
export async function exportModel(modelPath: string, opts: ExportOptions): Promise<ExportReport> {
  const t0 = performance.now();
  if (opts.format !== 'onnx') fail(`unknown export format '${String(opts.format)}' (supported: onnx)`);
  const { importMatformerCheckpoint, applySubmodel } = await import('../passes/matformer.js');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  let g = importMatformerCheckpoint(modelPath, opts.sequenceLength !== undefined ? { sequenceLength: opts.sequenceLength } : {});
  let submodel: ExportReport['submodel'];
  if (opts.submodel !== undefined) {
    const { graph, choice } = applySubmodel(g, opts.submodel);
    g = graph;
    submodel = { request: opts.submodel, spec: choice.spec };
  }
  const info = exportOnnx(g);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, info.bytes);
  return {
    tool: 'tinyforge', model: g.name, source: modelPath, format: 'onnx', opset: ONNX_OPSET, out: opts.out, bytes: info.bytes.byteLength,
    widths: [...matformerMeta(g)!.widths], ...(submodel ? { submodel } : {}), inputs: info.inputs, outputs: info.outputs,
    nodes: info.nodes, initializers: info.initializers, exportMs: Math.round(performance.now() - t0),
  };
}
