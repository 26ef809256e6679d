/**
 * TensorFlow Lite frontend: a `.tflite` flatbuffer becomes a Graph whose nodes are TFLite ops (one op
 * folder each under compiler/ops/) and whose values carry the file's dtype and quantization
 * (graph.meta.tflite). Pre-quantized graphs lower through plan/lower-quantized.ts with the file's
 * quantization; they never go through calibration.
 *
 * Parsing validates every offset and length (see tflite-schema.ts); a structurally valid file with bad
 * contents (tensor index out of range, data size not matching the shape, an op reading a value nobody
 * produces, ...) is a one-line TinyforgeError too.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fail } from '../errors.js';
import type { Graph, GraphNode, Value } from '../ir/graph.js';
import { inferShapes } from '../ir/graph.js';
import { FbReader, TENSOR_TYPES, builtinName, type Table } from './tflite-schema.js';
import { TFLITE_OPS, type ConstTensor, type TensorInfo, type TensorQuant, type TflDType, type TflNodeAttrs, type TfliteMeta } from '../ops/tflite.js';

/** Largest element count of one tensor the importer accepts (1 GiB of float32). */
const MAX_ELEMENTS = 1 << 28;

export interface TflTensor {
  index: number;
  name: string;
  shape: number[];
  type: string;
  /** constant contents (a copy), or null for activations and variables */
  data: Uint8Array | null;
  quant: TensorQuant | null;
  isVariable: boolean;
}

export interface TflOperator {
  index: number;
  code: number;
  opName: string;
  version: number;
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  options: Table | null;
}

export interface TflModel {
  file: string;
  version: number;
  description: string;
  tensors: TflTensor[];
  operators: TflOperator[];
  inputs: number[];
  outputs: number[];
  subgraphs: number;
}

const ELEMENT_BYTES: Record<string, number> = { float32: 4, int32: 4, int8: 1, uint8: 1, int16: 2, int64: 8, bool: 1, float16: 2, float64: 8, uint16: 2, uint32: 4, uint64: 8 };

/** Parses and validates a .tflite file's bytes (the first subgraph is the model). */
export function parseTflite(bytes: Uint8Array, file: string): TflModel {
  const r = new FbReader(bytes, file);
  const model = r.root();
  if (bytes.length >= 8) {
    const ident = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
    if (ident !== 'TFL3') r.fail(`file identifier is '${ident.replace(/[^\x20-\x7e]/g, '?')}', expected 'TFL3'`);
  }
  const version = model.u32(0, 'version');
  if (version !== 3) r.fail(`schema version ${version}, expected 3`);
  const description = model.string(3, 'description') ?? '';

  const codes = model.tables(1, 'operator_codes').map((c, i) => {
    const deprecated = c.i8(0, 'deprecated_builtin_code');
    const extended = c.i32(3, 'builtin_code');
    // extended builtin codes: the real code is the larger of the two (deprecated one caps at 127)
    const code = Math.max(deprecated, extended);
    if (code < 0) r.fail(`operator_codes[${i}] has builtin code ${code}`);
    const custom = c.string(1, 'custom_code');
    return { code, custom, version: c.i32(2, 'version', 1) };
  });

  const bufferTables = model.tables(4, 'buffers');
  const subgraphs = model.tables(2, 'subgraphs');
  if (subgraphs.length === 0) r.fail('the model has no subgraphs');
  const sg = subgraphs[0];

  const tensorTables = sg.tables(0, 'tensors');
  const tensors: TflTensor[] = tensorTables.map((t, index) => {
    const where = `tensor ${index}`;
    const shape = t.i32s(0, 'shape') ?? [];
    if (shape.length > 8) r.fail(`${where} has rank ${shape.length}`);
    let elements = 1;
    for (const d of shape) {
      if (d < 0 || d > MAX_ELEMENTS) r.fail(`${where} has dimension ${d}`);
      elements *= d;
      if (elements > MAX_ELEMENTS) r.fail(`${where} has ${shape.join('x')} elements, more than ${MAX_ELEMENTS}`);
    }
    const typeCode = t.i8(1, 'type');
    const type = TENSOR_TYPES[typeCode] ?? r.fail(`${where} has unknown tensor type ${typeCode}`);
    const name = t.string(3, 'name') ?? `tensor_${index}`;
    const bufIdx = t.u32(2, 'buffer');
    let data: Uint8Array | null = null;
    if (bufIdx !== 0) {
      if (bufIdx >= bufferTables.length) r.fail(`${where} ('${name}') uses buffer ${bufIdx} of ${bufferTables.length}`);
      const b = bufferTables[bufIdx];
      let raw = b.bytes(0, 'data');
      const off = b.u64(1, 'offset'), size = b.u64(2, 'size');
      if (off > 1n) {
        if (off + size > BigInt(bytes.length)) r.fail(`buffer ${bufIdx} (offset ${off}, size ${size}) lies outside the file`);
        raw = bytes.subarray(Number(off), Number(off + size));
      }
      if (raw && raw.length > 0) {
        const eb = ELEMENT_BYTES[type];
        if (eb !== undefined && raw.length !== elements * eb) r.fail(`${where} ('${name}') is ${shape.join('x') || 'scalar'} ${type} but its buffer holds ${raw.length} bytes`);
        data = raw.slice();
      }
    }
    let quant: TensorQuant | null = null;
    const q = t.table(4, 'quantization');
    if (q) {
      const scale = q.f32s(2, 'scale') ?? [];
      const zp = q.i64s(3, 'zero_point') ?? [];
      const dim = q.i32(6, 'quantized_dimension');
      if (scale.length > 0) {
        if (zp.length !== 0 && zp.length !== scale.length) r.fail(`${where} ('${name}') has ${scale.length} scales but ${zp.length} zero points`);
        let qdim = dim;
        if (scale.length > 1 && (dim < 0 || dim >= shape.length || shape[dim] !== scale.length)) {
          // converters leave quantized_dimension stale on 1-D per-channel biases: accept the one dimension that fits
          const fits = shape.findIndex((d) => d === scale.length);
          if (shape.length !== 1 || fits !== 0) r.fail(`${where} ('${name}') has ${scale.length} per-channel scales along dimension ${dim} of [${shape}]`);
          qdim = fits;
        }
        for (const s of scale) if (!(s > 0) || !Number.isFinite(s)) r.fail(`${where} ('${name}') has quantization scale ${s}`);
        const zeroPoint = scale.map((_, i) => {
          const z = zp[i] ?? 0n;
          if (z < -32768n || z > 65535n) r.fail(`${where} ('${name}') has zero point ${z}`);
          return Number(z);
        });
        quant = { scale, zeroPoint, dim: qdim };
      }
    }
    return { index, name, shape, type, data, quant, isVariable: t.bool(5, 'is_variable') };
  });

  const checkIndex = (i: number, where: string, optional: boolean) => {
    if (i === -1 && optional) return;
    if (!Number.isInteger(i) || i < 0 || i >= tensors.length) r.fail(`${where} refers to tensor ${i} of ${tensors.length}`);
  };
  const inputs = sg.i32s(1, 'inputs') ?? [];
  const outputs = sg.i32s(2, 'outputs') ?? [];
  inputs.forEach((i) => checkIndex(i, 'subgraph input', false));
  outputs.forEach((i) => checkIndex(i, 'subgraph output', false));
  const operators: TflOperator[] = sg.tables(3, 'operators').map((o, index) => {
    const where = `operator ${index}`;
    const ci = o.u32(0, 'opcode_index');
    if (ci >= codes.length) r.fail(`${where} uses operator code ${ci} of ${codes.length}`);
    const c = codes[ci];
    const opIns = o.i32s(1, 'inputs') ?? [];
    const opOuts = o.i32s(2, 'outputs') ?? [];
    const inter = o.i32s(8, 'intermediates') ?? [];
    opIns.forEach((i) => checkIndex(i, where, true));
    opOuts.forEach((i) => checkIndex(i, where, false));
    inter.forEach((i) => checkIndex(i, where, false));
    const opName = c.code === 32 ? `CUSTOM(${c.custom ?? '?'})` : builtinName(c.code);
    return { index, code: c.code, opName, version: c.version, inputs: opIns, outputs: opOuts, intermediates: inter, options: o.table(4, 'builtin_options') };
  });
  return { file, version, description, tensors, operators, inputs, outputs, subgraphs: subgraphs.length };
}

function typedConst(t: TflTensor, file: string): ConstTensor {
  const d = t.data!;
  const buf = d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
  let data: ConstTensor['data'];
  switch (t.type) {
    case 'float32': data = new Float32Array(buf); break;
    case 'int8': data = new Int8Array(buf); break;
    case 'uint8': data = new Uint8Array(buf); break;
    case 'int16': data = new Int16Array(buf); break;
    case 'int32': data = new Int32Array(buf); break;
    case 'int64': {
      const raw64 = new BigInt64Array(buf);
      return { name: t.name, shape: t.shape, dtype: 'int64', data: Int32Array.from(raw64, (v) => Number(BigInt.asIntN(32, v))), raw64, quant: t.quant };
    }
    default: fail(`${file}: tensor '${t.name}' holds constant ${t.type} data, which tinyforge does not read`);
  }
  return { name: t.name, shape: t.shape, dtype: t.type as TflDType, data, quant: t.quant };
}

/** The model name from the file name (C-identifier safe). */
export function tfliteModelName(path: string): string {
  const n = basename(path).replace(/\.tflite$/i, '').replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(n) ? n : `m_${n}`;
}

/** Reads a .tflite file into a Graph (values keyed by tensor name, quantization in meta.tflite). */
export function importTflite(path: string, bytes?: Uint8Array): Graph {
  let data = bytes;
  if (!data) {
    try { data = readFileSync(path); } catch (e) { fail(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  }
  const m = parseTflite(data, path);
  return tfliteToGraph(m, tfliteModelName(path));
}

export function tfliteToGraph(m: TflModel, name: string): Graph {
  const file = m.file;
  // value names: the tensor's name, made unique
  const seen = new Set<string>();
  const vname = m.tensors.map((t) => {
    let n = t.name || `tensor_${t.index}`;
    if (seen.has(n)) n = `${n}#${t.index}`;
    seen.add(n);
    return n;
  });
  const tensorInfo = new Map<string, TensorInfo>();
  const produced = new Set<number>();
  const unsupported = new Map<string, number>();
  for (const op of m.operators) if (!TFLITE_OPS.has(op.code)) unsupported.set(op.opName, (unsupported.get(op.opName) ?? 0) + 1);
  if (unsupported.size) {
    const list = [...unsupported].map(([k, v]) => `${k} x${v}`).join(', ');
    fail(`${file}: unsupported TensorFlow Lite ops: ${list}; supported: ${[...TFLITE_OPS.values()].map((o) => o.tflName).join(', ')}`);
  }
  if (m.inputs.length < 1 || m.outputs.length !== 1) fail(`${file}: the model has ${m.inputs.length} inputs and ${m.outputs.length} outputs; tinyforge compiles one output`);
  const info = (i: number): TensorInfo => {
    const t = m.tensors[i];
    if (t.type !== 'float32' && t.type !== 'int8' && t.type !== 'int16' && t.type !== 'int32') fail(`${file}: tensor '${t.name}' is ${t.type}; tinyforge computes float32, int8, int16 and int32 tensors`);
    return { dtype: t.type, shape: t.shape, quant: t.quant };
  };
  for (const i of m.inputs) { produced.add(i); tensorInfo.set(vname[i], info(i)); }
  const nodes: GraphNode[] = [];
  for (const op of m.operators) {
    const def = TFLITE_OPS.get(op.code)!;
    const where = `${file}: operator ${op.index} (${op.opName})`;
    const operands: TflNodeAttrs['operands'] = op.inputs.map((i, k) => {
      if (i === -1) return null;
      const t = m.tensors[i];
      // TRANSPOSE_CONV's output_shape fed as a graph input: the file's output shape is static, use it
      if (op.code === 67 && k === 0 && !t.data && op.outputs.length === 1) {
        const shape = m.tensors[op.outputs[0]].shape;
        return { kind: 'const', tensor: { name: t.name, shape: [shape.length], dtype: 'int32', data: Int32Array.from(shape), quant: null } };
      }
      if (produced.has(i)) return { kind: 'value', name: vname[i] };
      if (t.isVariable) return { kind: 'state', tensor: { name: t.name, shape: t.shape, dtype: info(i).dtype, data: null, quant: t.quant } };
      if (t.data) return { kind: 'const', tensor: typedConst(t, file) };
      fail(`${where} reads tensor '${t.name}', which is neither a graph input, a constant nor produced by an earlier operator`);
    });
    for (const o of op.outputs) {
      if (produced.has(o)) fail(`${where} writes tensor '${m.tensors[o].name}', which an earlier operator or the graph input already defines`);
      if (m.tensors[o].data) fail(`${where} writes constant tensor '${m.tensors[o].name}'`);
      produced.add(o);
      tensorInfo.set(vname[o], info(o));
    }
    const options = def.options ? def.options(op.options, where) : {};
    const attrs: TflNodeAttrs = {
      tflOp: def.tflName, version: op.version, options, operands,
      outputInfo: op.outputs.map((o) => tensorInfo.get(vname[o])!),
      inputInfo: op.inputs.map((i) => (i >= 0 && produced.has(i) ? tensorInfo.get(vname[i])! : null)),
      ...(op.intermediates.length ? { intermediates: op.intermediates.map((i) => ({ dtype: m.tensors[i].type, shape: m.tensors[i].shape, quant: m.tensors[i].quant })) } : {}),
      where,
    };
    nodes.push({ op: def.graphOp, name: `${op.index}_${def.tflName.toLowerCase()}`, inputs: operands.flatMap((o) => (o && o.kind === 'value' ? [o.name] : [])), outputs: op.outputs.map((o) => vname[o]), attrs });
  }
  for (const o of m.outputs) if (!produced.has(o)) fail(`${file}: graph output '${m.tensors[o].name}' is never produced`);
  // graph inputs no operator reads (e.g. a TRANSPOSE_CONV output_shape) are not program inputs
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const liveInputs = m.inputs.filter((i) => used.has(vname[i]) || m.outputs.includes(i));
  if (liveInputs.length === 0) fail(`${file}: no operator reads the graph inputs`);
  for (const i of m.inputs) if (!liveInputs.includes(i)) tensorInfo.delete(vname[i]);
  const inputs: Value[] = liveInputs.map((i) => ({ name: vname[i], shape: [...m.tensors[i].shape], dtype: 'float32' }));
  const outputs: Value[] = m.outputs.map((i) => ({ name: vname[i], shape: [...m.tensors[i].shape], dtype: 'float32' }));
  const meta: TfliteMeta = { tensors: tensorInfo, description: m.description, inputPositions: liveInputs.map((i) => m.inputs.indexOf(i)) };
  const g: Graph = { name, source: file, modelType: 'tflite', inputs, outputs, nodes, values: new Map(), meta: { tflite: meta } };
  inferShapes(g);
  // the file's shapes are authoritative: our shape rules must agree with them
  for (const [v, ti] of tensorInfo) {
    const s = g.values.get(v)?.shape;
    if (s && elementCountOf(s) !== elementCountOf(ti.shape)) fail(`${file}: tensor '${v}' is [${ti.shape}] in the file but the op computes [${s}]`);
  }
  return g;
}

const elementCountOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
