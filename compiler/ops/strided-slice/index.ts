/**
 * TFLite STRIDED_SLICE (constant begin / end / strides; begin, end and shrink-axis masks; `offset`).
 * Start/stop per axis as TFLite's StartForAxis / StopForAxis (negative indices wrap, then clamp to
 * [0, dim] for positive strides and [-1, dim - 1] for negative ones). Step `strided_slice` moves
 * elements of any type: out walks coord[d] = start[d] + k * stride[d], k < counts[d], row-major.
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import { constInts, constOperand, registerExtStep, registerTflGraphOp, registerTfliteOp, viewAny, type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs } from '../tflite.js';

export interface StridedSliceOptions { beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number; offset: boolean }

export interface StridedSliceStep extends ExtStepBase {
  op: 'strided_slice';
  inShape: number[];
  start: number[];
  stride: number[];
  counts: number[];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function sliceParams(node: TflNode<StridedSliceOptions>): { start: number[]; stride: number[]; counts: number[] } {
  const a = node.attrs, o = a.options, where = a.where;
  const shape = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const begin = constInts(constOperand(node, 1, 'begin'), where, 'begin');
  const end = constInts(constOperand(node, 2, 'end'), where, 'end');
  const strides = constInts(constOperand(node, 3, 'strides'), where, 'strides');
  const rank = shape.length;
  if (rank > 5 || begin.length !== rank || end.length !== rank || strides.length !== rank) fail(`${where}: begin/end/strides must have one value per input dimension (${rank})`);
  if (o.ellipsisMask || o.newAxisMask) fail(`${where}: ellipsis and new-axis masks are not supported`);
  const start: number[] = [], counts: number[] = [];
  for (let d = 0; d < rank; d++) {
    const dim = shape[d], st = strides[d];
    if (st === 0) fail(`${where}: stride 0 on axis ${d}`);
    let b = o.beginMask & (1 << d) ? (st > 0 ? 0 : dim - 1) : begin[d];
    if (!(o.beginMask & (1 << d))) { if (b < 0) b += dim; b = st > 0 ? clamp(b, 0, dim) : clamp(b, -1, dim - 1); }
    let e: number;
    if (o.shrinkAxisMask & (1 << d)) e = b + 1;
    else if (o.endMask & (1 << d)) e = st > 0 ? dim : -1;
    else {
      e = o.offset ? begin[d] + end[d] : end[d];
      if (e < 0) e += dim;
      e = st > 0 ? clamp(e, 0, dim) : clamp(e, -1, dim - 1);
    }
    const n = st > 0 ? Math.max(0, Math.ceil((e - b) / st)) : Math.max(0, Math.ceil((b - e) / -st));
    start.push(b); counts.push(n);
  }
  const total = counts.reduce((p, c) => p * c, 1);
  const want = a.outputInfo[0].shape.reduce((p, c) => p * c, 1);
  if (total !== want) fail(`${where}: the slice has ${total} elements but the output is [${a.outputInfo[0].shape}]`);
  return { start, stride: strides, counts };
}

export function sliceData(x: ArrayLike<number>, y: { [i: number]: number; length: number }, inShape: number[], start: number[], stride: number[], counts: number[]): void {
  const rank = inShape.length;
  const inStrides = new Array(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  const k = new Array(rank).fill(0);
  for (let o = 0; o < y.length; o++) {
    let i = 0;
    for (let d = 0; d < rank; d++) i += (start[d] + k[d] * stride[d]) * inStrides[d];
    y[o] = x[i];
    for (let d = rank - 1; d >= 0; d--) { if (++k[d] < counts[d]) break; k[d] = 0; }
  }
}

function options(t: Table | null): Record<string, unknown> {
  const r = (i: number, n: string) => (t ? t.i32(i, n) : 0);
  return { beginMask: r(0, 'begin_mask'), endMask: r(1, 'end_mask'), ellipsisMask: r(2, 'ellipsis_mask'), newAxisMask: r(3, 'new_axis_mask'), shrinkAxisMask: r(4, 'shrink_axis_mask'), offset: t ? t.bool(5, 'offset') : false };
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const n = node as TflNode<StridedSliceOptions>;
  const p = sliceParams(n);
  if (n.attrs.inputInfo[0]!.dtype !== n.attrs.outputInfo[0].dtype) fail(`${n.attrs.where}: input and output types differ`);
  const step: StridedSliceStep = { op: 'strided_slice', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0]), inShape: n.attrs.inputInfo[0]!.shape, ...p };
  return [step];
}

registerTfliteOp({ code: 45, tflName: 'STRIDED_SLICE', graphOp: 'tfl.strided_slice', options });
registerTflGraphOp<StridedSliceOptions>('tfl.strided_slice', {
  reference: ([x], _s, a: TflNodeAttrs<StridedSliceOptions>) => {
    const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode<StridedSliceOptions>;
    const p = sliceParams(node);
    const y = new Float32Array(p.counts.reduce((q, c) => q * c, 1));
    sliceData(x, y, a.inputInfo[0]!.shape, p.start, p.stride, p.counts);
    return [y];
  },
  lower, parameters: () => 0,
});
registerExtStep<StridedSliceStep>('strided_slice', (s, mem: ProgramMemory) => sliceData(viewAny(mem, s.in), viewAny(mem, s.out), s.inShape, s.start, s.stride, s.counts));
