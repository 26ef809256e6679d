/**
 * Lowering: Graph -> Program. Float programs map each dense node to a dense_f32 step; int8 programs
 * quantize the input, run integer-only dense_s8 steps (activations fused: ReLU as a clamp, the
 * smooth ones as a 256-entry table) and dequantize the output. Intermediates get arena offsets from
 * the liveness planner.
 */
import { isDense, type DenseNode, type Graph } from '../ir/graph.js';
import { fail } from '../errors.js';
import { opDef, type LowerCtx } from '../ops/registry.js';
import { lowerDenseS8 } from '../ops/dense/quantize.js';
import type { Calibration } from '../quant/calibrate.js';
import { asymmetricParams } from '../quant/calibrate.js';
import { planArena, type ArenaRequest } from './memory.js';
import { bytesPerElement, elementCount, type BufferRef, type DType, type Program, type Step } from './program.js';

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

/** The C and WASM backends run chains of dense layers today; other ops are refused by name. */
function denseChain(g: Graph): DenseNode[] {
  const bad = g.nodes.filter((n) => !isDense(n));
  if (bad.length) {
    const ops = [...new Set(bad.map((n) => n.op))];
    fail(`${g.source}: op${ops.length > 1 ? 's' : ''} ${ops.join(', ')} (layer '${bad[0].name}') not supported by the C and WASM backends yet; 'tinyforge inspect' and the reference interpreter handle this model`);
  }
  return g.nodes as DenseNode[];
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

export function lowerInt8(g: Graph, calib: Calibration): Program {
  const alloc = new BufferAllocator();
  const steps: Step[] = [];
  const inName = g.inputs[0].name, outName = g.outputs[0].name;
  const params = (name: string) => asymmetricParams(calib.ranges.get(name)!);
  const inQ = params(inName);
  const inLen = elementCount(g.inputs[0].shape);
  const qIn = alloc.arena(inName, 'int8', inLen, 0);
  steps.push({ op: 'quantize', name: 'quantize_input', in: io('input', inLen), out: qIn, scale: inQ.scale, zeroPoint: inQ.zeroPoint });
  const chain = denseChain(g);
  chain.forEach((n) => {
    const at = steps.length;
    const [src] = n.inputs, [dst] = n.outputs;
    const input = alloc.read(src, at);
    const output = alloc.arena(dst, 'int8', n.attrs.outFeatures, at);
    steps.push(lowerDenseS8(n, input, output, {
      input: params(src),
      preActivation: calib.ranges.has(`${n.name}:preact`) ? params(`${n.name}:preact`) : null,
      output: params(dst),
    }));
  });
  const outQ = params(outName);
  const outLen = elementCount(g.outputs[0].shape);
  const qOut = alloc.read(outName, steps.length);
  steps.push({ op: 'dequantize', name: 'dequantize_output', in: qOut, out: io('output', outLen), scale: outQ.scale, zeroPoint: outQ.zeroPoint });
  const arenaBytes = alloc.finish();
  return {
    format: 'tinyforge-program/1', name: g.name, quant: 'int8',
    input: { name: inName, shape: g.inputs[0].shape, dtype: 'float32', quant: inQ },
    output: { name: outName, shape: g.outputs[0].shape, dtype: 'float32', quant: outQ },
    arenaBytes, steps, int8Input: qIn, int8Output: qOut,
  };
}
