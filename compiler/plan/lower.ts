/**
 * Lowering: Graph -> Program. Float programs map each dense node to a dense_f32 step; int8 programs
 * quantize the input, run integer-only dense_s8 steps (activations fused: ReLU as a clamp, the
 * smooth ones as a 256-entry table) and dequantize the output. Intermediates get arena offsets from
 * the liveness planner.
 */
import type { Graph } from '../ir/graph.js';
import { fail } from '../errors.js';
import { opDef, type LowerCtx, type LowerInt8Ctx } from '../ops/registry.js';
import type { Calibration } from '../quant/calibrate.js';
import { asymmetricParams } from '../quant/calibrate.js';
import { planArena, type ArenaRequest } from './memory.js';
import { bytesPerElement, elementCount, type BufferRef, type DType, type Program, type QuantParams, type Step } from './program.js';

class BufferAllocator {
  private requests = new Map<string, ArenaRequest>();
  private refs: Array<{ id: string; ref: BufferRef }> = [];
  /** an arena tensor written by step `at` */
  arena(id: string, dtype: DType, length: number, at: number): BufferRef {
    const ref: BufferRef = { space: 'arena', offset: -1, dtype, length };
    this.requests.set(id, { id, bytes: length * bytesPerElement(dtype), first: at, last: at });
    this.refs.push({ id, ref });
    return ref;
  }
  /** marks tensor `id` as read by step `at` (extends its lifetime) */
  read(id: string, at: number): BufferRef {
    const r = this.requests.get(id)!;
    r.last = Math.max(r.last, at);
    return this.refs.find((x) => x.id === id)!.ref;
  }
  finish(): number {
    const plan = planArena([...this.requests.values()]);
    for (const { id, ref } of this.refs) ref.offset = plan.offsets.get(id)!;
    return plan.peakBytes;
  }
}

const io = (space: 'input' | 'output', length: number): BufferRef => ({ space, offset: 0, dtype: 'float32', length });

/** Float lowering: one step per graph node through each op's lowerFloat; reshapes alias their input. */
export function lowerFloat(g: Graph): Program {
  const alloc = new BufferAllocator();
  const steps: Step[] = [];
  const inName = g.inputs[0].name, outName = g.outputs[0].name;
  // value name -> its buffer: the input space, the output space, or an arena tensor id
  const home = new Map<string, { ref: BufferRef; arenaId?: string }>();
  home.set(inName, { ref: io('input', elementCount(g.inputs[0].shape)) });
  for (const n of g.nodes) {
    const at = steps.length;
    const def = opDef(n.op, n.name);
    if (!def.lowerFloat) fail(`${g.source}: op '${n.op}' (layer '${n.name}') is not supported by the C and WASM backends yet`);
    const ctx: LowerCtx = {
      read: (v) => {
        const h = home.get(v)!;
        return h.arenaId ? alloc.read(h.arenaId, at) : h.ref;
      },
      write: (v, dtype) => {
        const length = elementCount(g.values.get(v)!.shape);
        if (v === outName) {
          const ref = io('output', length);
          home.set(v, { ref });
          return ref;
        }
        const ref = alloc.arena(v, dtype, length, at);
        home.set(v, { ref, arenaId: v });
        return ref;
      },
      shape: (v) => g.values.get(v)!.shape,
    };
    const r = def.lowerFloat(n, ctx);
    if (r !== 'alias') { steps.push(r); continue; }
    const src = home.get(n.inputs[0])!;
    if (n.outputs[0] === outName) {
      steps.push({ op: 'copy', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(outName, 'float32') });
    } else {
      home.set(n.outputs[0], src);
    }
  }
  const arenaBytes = alloc.finish();
  return {
    format: 'tinyforge-program/1', name: g.name, quant: 'float32',
    input: { name: inName, shape: g.inputs[0].shape, dtype: 'float32' },
    output: { name: outName, shape: g.outputs[0].shape, dtype: 'float32' },
    arenaBytes, steps,
  };
}

/** Which graph value each int8 step writes (for per-layer error reports); not serialized. */
export const STEP_VALUE = new WeakMap<Step, string>();

/**
 * int8 lowering of any graph: ops with lowerInt8 run on int8 tensors; the others (series scaling,
 * patching, ...) run in float32. The framework inserts quantize / dequantize steps wherever a value
 * crosses between the two, with the value's calibrated parameters; the graph output is dequantized
 * into the caller's float output. weightBits 4 packs dense weights two per byte (int4).
 */
export function lowerInt8(g: Graph, calib: Calibration, weightBits: 8 | 4 = 8): Program {
  const alloc = new BufferAllocator();
  const steps: Step[] = [];
  const inName = g.inputs[0].name, outName = g.outputs[0].name;
  const fixed = new Map<string, QuantParams>();
  const params = (v: string): QuantParams => {
    const p = fixed.get(v);
    if (p) return p;
    const r = calib.ranges.get(v);
    if (!r) fail(`internal: value '${v}' was not calibrated`);
    return asymmetricParams(r);
  };
  // each value may live as float32 and/or int8: { ref, arena id (for lifetimes) }
  type Home = { ref: BufferRef; arenaId?: string };
  const asFloat = new Map<string, Home>(), asInt8 = new Map<string, Home>();
  asFloat.set(inName, { ref: io('input', elementCount(g.inputs[0].shape)) });
  const length = (v: string) => elementCount(g.values.get(v)!.shape);
  // arena tensors the node being lowered reads: their lifetimes must reach the node's own step, which
  // comes after any quantize/dequantize the framework inserts for its later inputs
  let touched: string[] = [];
  const use = (h: Home, at: number) => (h.arenaId ? alloc.read(h.arenaId, at) : h.ref);
  const operand = (homes: Map<string, Home>, read: (v: string) => BufferRef) => (v: string): BufferRef => {
    const ref = read(v);
    const id = homes.get(v)?.arenaId;
    if (id) touched.push(id);
    return ref;
  };
  const readAtOwnStep = () => { for (const id of touched) alloc.read(id, steps.length - 1); };
  let firstQuantize: BufferRef | undefined;

  const readInt8 = (v: string): BufferRef => {
    const h = asInt8.get(v);
    if (h) return use(h, steps.length);
    const src = readFloat(v);
    const q = params(v);
    const ref = alloc.arena(`${v}:q`, 'int8', length(v), steps.length);
    steps.push({ op: 'quantize', name: `quantize_${v.replace(/#\d+$/, '')}`, in: src, out: ref, scale: q.scale, zeroPoint: q.zeroPoint });
    firstQuantize ??= ref;
    asInt8.set(v, { ref, arenaId: `${v}:q` });
    return alloc.read(`${v}:q`, steps.length);
  };
  const readFloat = (v: string): BufferRef => {
    const h = asFloat.get(v);
    if (h) return use(h, steps.length);
    const src = readInt8(v);
    const q = params(v);
    const toOutput = v === outName;
    const ref = toOutput ? io('output', length(v)) : alloc.arena(`${v}:f`, 'float32', length(v), steps.length);
    steps.push({ op: 'dequantize', name: `dequantize_${v.replace(/#\d+$/, '')}`, in: src, out: ref, scale: q.scale, zeroPoint: q.zeroPoint });
    asFloat.set(v, toOutput ? { ref } : { ref, arenaId: `${v}:f` });
    return toOutput ? ref : alloc.read(`${v}:f`, steps.length);
  };

  for (const n of g.nodes) {
    touched = [];
    const def = opDef(n.op, n.name);
    const at = () => steps.length;
    if (def.lowerInt8) {
      const ctx: LowerInt8Ctx = {
        read: operand(asInt8, readInt8),
        write: (v) => {
          const ref = alloc.arena(`${v}:q`, 'int8', length(v), at());
          asInt8.set(v, { ref, arenaId: `${v}:q` });
          return ref;
        },
        params, fixParams: (v, q) => { fixed.set(v, q); },
        preActivation: (node) => (calib.ranges.has(`${node}:preact`) ? asymmetricParams(calib.ranges.get(`${node}:preact`)!) : null),
        shape: (v) => g.values.get(v)!.shape,
        weightBits,
      };
      const r = def.lowerInt8(n, ctx);
      if (r === 'alias') {
        const src = asInt8.get(n.inputs[0]) ?? (readInt8(n.inputs[0]), asInt8.get(n.inputs[0])!);
        asInt8.set(n.outputs[0], src);
        fixed.set(n.outputs[0], params(n.inputs[0]));
        continue;
      }
      STEP_VALUE.set(r, n.outputs[0]);
      steps.push(r);
      readAtOwnStep();
      continue;
    }
    if (!def.lowerFloat) fail(`${g.source}: op '${n.op}' (layer '${n.name}') is not supported by the C and WASM backends yet`);
    const ctx: LowerCtx = {
      read: operand(asFloat, readFloat),
      write: (v, dtype) => {
        if (v === outName) { const ref = io('output', length(v)); asFloat.set(v, { ref }); return ref; }
        const ref = alloc.arena(`${v}:f`, dtype, length(v), at());
        asFloat.set(v, { ref, arenaId: `${v}:f` });
        return ref;
      },
      shape: (v) => g.values.get(v)!.shape,
    };
    const r = def.lowerFloat(n, ctx);
    if (r === 'alias') { asFloat.set(n.outputs[0], asFloat.get(n.inputs[0])!); continue; }
    steps.push(r);
    readAtOwnStep();
  }
  // the caller's output is float32
  let int8Output: BufferRef | undefined;
  if (!asFloat.get(outName) || asFloat.get(outName)!.ref.space !== 'output') {
    const before = steps.length;
    readFloat(outName);
    const last = steps[steps.length - 1];
    if (steps.length > before && last.op === 'dequantize') int8Output = last.in;
    if (asFloat.get(outName)!.ref.space !== 'output') steps.push({ op: 'copy', name: 'output', in: readFloat(outName), out: io('output', length(outName)) });
  }
  const arenaBytes = alloc.finish();
  // IO quantization is declared only where the int8 tensor is exactly the quantized caller tensor
  const q0 = steps.find((s) => s.op === 'quantize');
  const inQ = q0 && q0.in.space === 'input' ? params(inName) : undefined;
  const outQ = int8Output ? params(outName) : undefined;
  return {
    format: 'tinyforge-program/1', name: g.name, quant: 'int8',
    input: { name: inName, shape: g.inputs[0].shape, dtype: 'float32', ...(inQ ? { quant: inQ } : {}) },
    output: { name: outName, shape: g.outputs[0].shape, dtype: 'float32', ...(outQ ? { quant: outQ } : {}) },
    arenaBytes, steps,
    ...(firstQuantize ? { int8Input: firstQuantize } : {}),
    ...(int8Output ? { int8Output } : {}),
  };
}
