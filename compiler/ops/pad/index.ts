/**
 * TFLite PAD / PADV2: constant padding of an N-d tensor (N <= 5). The pad value is the output zero point
 * for quantized tensors (PADV2: its constant_values input), 0 for float. Step `pad` moves elements of
 * any type (in.dtype): out[coord] = in[coord - before] inside, padValue outside.
 */
import { fail } from '../../errors.js';
import { constInts, constOperand, optionalConst, registerExtStep, registerTflGraphOp, registerTfliteOp, viewAny, type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs } from '../tflite.js';

export interface PadStep extends ExtStepBase {
  op: 'pad';
  inShape: number[];
  outShape: number[];
  before: number[];
  /** in the element type's units (integer for integer tensors) */
  padValue: number;
}

function padding(node: TflNode): { before: number[]; after: number[] } {
  const where = node.attrs.where;
  const inShape = node.attrs.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const p = constInts(constOperand(node, 1, 'the paddings'), where, 'the paddings');
  if (p.length !== 2 * inShape.length || inShape.length > 5) fail(`${where}: paddings have ${p.length} values for a rank-${inShape.length} input`);
  const before = inShape.map((_, d) => p[2 * d]), after = inShape.map((_, d) => p[2 * d + 1]);
  const out = node.attrs.outputInfo[0].shape;
  inShape.forEach((s, d) => {
    if (before[d] < 0 || after[d] < 0 || out[d] !== s + before[d] + after[d]) fail(`${where}: paddings [${p}] do not turn [${inShape}] into [${out}]`);
  });
  return { before, after };
}

export function padData(x: ArrayLike<number>, y: { [i: number]: number; length: number; fill(v: number): unknown }, inShape: number[], outShape: number[], before: number[], value: number): void {
  y.fill(value);
  const rank = inShape.length;
  const outStrides = new Array(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) outStrides[d] = outStrides[d + 1] * outShape[d + 1];
  const coord = new Array(rank).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) o += (coord[d] + before[d]) * outStrides[d];
    y[o] = x[i];
    for (let d = rank - 1; d >= 0; d--) { if (++coord[d] < inShape[d]) break; coord[d] = 0; }
  }
}

function lower(node: TflNode, ctx: QLowerCtx) {
  const { before } = padding(node);
  const where = node.attrs.where;
  const outInfo = node.attrs.outputInfo[0];
  let padValue = outInfo.dtype === 'float32' ? 0 : (outInfo.quant?.zeroPoint[0] ?? 0);
  const cv = optionalConst(node, 2, 'constant_values');
  if (cv) padValue = (cv.data as ArrayLike<number>)[0];
  if (node.attrs.inputInfo[0]!.dtype !== outInfo.dtype) fail(`${where}: input and output types differ`);
  const step: PadStep = { op: 'pad', name: node.name, in: ctx.read(node.inputs[0]), out: ctx.write(node.outputs[0]), inShape: node.attrs.inputInfo[0]!.shape, outShape: outInfo.shape, before, padValue };
  return [step];
}

const reference = ([x]: Float32Array[], _s: number[][], a: TflNodeAttrs) => {
  const node = { op: '', name: '', inputs: [], outputs: [], attrs: a } as TflNode;
  const { before } = padding(node);
  const out = a.outputInfo[0].shape;
  const y = new Float32Array(out.reduce((p, d) => p * d, 1));
  const cv = optionalConst(node, 2, 'constant_values');
  padData(x, y, a.inputInfo[0]!.shape, out, before, cv ? Number((cv.data as ArrayLike<number>)[0]) : 0);
  return [y];
};

registerTfliteOp({ code: 34, tflName: 'PAD', graphOp: 'tfl.pad' });
registerTfliteOp({ code: 60, tflName: 'PADV2', graphOp: 'tfl.pad' });
registerTflGraphOp('tfl.pad', { reference, lower, parameters: () => 0 });
registerExtStep<PadStep>('pad', (s, mem) => padData(viewAny(mem, s.in), viewAny(mem, s.out), s.inShape, s.outShape, s.before, s.padValue));
