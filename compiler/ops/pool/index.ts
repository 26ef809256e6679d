/**
 * TFLite AVERAGE_POOL_2D and MAX_POOL_2D (NHWC), TFLM reference kernels:
 *  - avg_pool_s8/s16: sum (int32) of the window's in-image values, n = their count;
 *    v = sum > 0 ? (sum + n/2) / n : (sum - n/2) / n (C division, truncating); clamp to [actMin, actMax]
 *  - max_pool_s8/s16: max of the in-image window values, clamped
 *  - *_f32: float average / max with the activation clamp
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { Table } from '../../frontends/tflite-schema.js';
import {
  activationName, activationRange, activationRangeFloat, convOutSize, convPadding, registerExtStep, registerTflGraphOp, registerTfliteOp, viewAny,
  type ExtStepBase, type QLowerCtx, type TflNode, type TflNodeAttrs,
} from '../tflite.js';

export interface PoolOptions { padding: 'SAME' | 'VALID'; strideW: number; strideH: number; filterW: number; filterH: number; activation: string }
export interface PoolGeometry { batches: number; inH: number; inW: number; channels: number; outH: number; outW: number; kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number }

export interface PoolStep extends ExtStepBase, PoolGeometry {
  op: 'avg_pool_s8' | 'avg_pool_s16' | 'max_pool_s8' | 'max_pool_s16' | 'avg_pool_f32' | 'max_pool_f32';
  actMin: number;
  actMax: number;
}

function options(t: Table | null, where: string): Record<string, unknown> {
  if (!t) fail(`${where}: missing options`);
  const p = t.i8(0, 'padding');
  const o: PoolOptions = {
    padding: (['SAME', 'VALID'] as const)[p] ?? fail(`${where}: unknown padding ${p}`),
    strideW: t.i32(1, 'stride_w'), strideH: t.i32(2, 'stride_h'), filterW: t.i32(3, 'filter_width'), filterH: t.i32(4, 'filter_height'),
    activation: activationName(t.i8(5, 'fused_activation_function'), where),
  };
  for (const v of [o.strideW, o.strideH, o.filterW, o.filterH]) if (!(v >= 1 && v <= 4096)) fail(`${where}: pool window/stride ${v}`);
  return o as unknown as Record<string, unknown>;
}

function geometry(a: TflNodeAttrs<PoolOptions>): PoolGeometry {
  const o = a.options, where = a.where;
  const s = a.inputInfo[0]?.shape ?? fail(`${where}: the input must be a graph value`);
  const out = a.outputInfo[0].shape;
  if (s.length !== 4 || out.length !== 4) fail(`${where}: expects 4-D NHWC tensors`);
  const [batches, inH, inW, channels] = s;
  const outH = convOutSize(o.padding, o.strideH, 1, inH, o.filterH), outW = convOutSize(o.padding, o.strideW, 1, inW, o.filterW);
  if (out[0] !== batches || out[1] !== outH || out[2] !== outW || out[3] !== channels) fail(`${where}: output [${out}] does not match the pooling of [${s}]`);
  return { batches, inH, inW, channels, outH, outW, kH: o.filterH, kW: o.filterW, strideH: o.strideH, strideW: o.strideW, padH: convPadding(o.padding, o.strideH, 1, inH, o.filterH, outH), padW: convPadding(o.padding, o.strideW, 1, inW, o.filterW, outW) };
}

export function pool(x: ArrayLike<number>, y: { [i: number]: number }, g: PoolGeometry, kind: 'avg' | 'max', integer: boolean, lo: number, hi: number): void {
  const f = Math.fround;
  for (let b = 0; b < g.batches; b++) for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++) for (let c = 0; c < g.channels; c++) {
    const y0 = oy * g.strideH - g.padH, x0 = ox * g.strideW - g.padW;
    const fy0 = Math.max(0, -y0), fy1 = Math.min(g.kH, g.inH - y0), fx0 = Math.max(0, -x0), fx1 = Math.min(g.kW, g.inW - x0);
    let acc = kind === 'max' ? -Infinity : 0, n = 0;
    for (let fy = fy0; fy < fy1; fy++) for (let fx = fx0; fx < fx1; fx++) {
      const v = x[((b * g.inH + y0 + fy) * g.inW + x0 + fx) * g.channels + c];
      acc = kind === 'max' ? Math.max(acc, v) : integer ? acc + v : f(acc + v);
      n++;
    }
    let v: number;
    if (kind === 'max') v = acc;
    else if (integer) v = n === 0 ? 0 : acc > 0 ? Math.trunc((acc + Math.trunc(n / 2)) / n) : Math.trunc((acc - Math.trunc(n / 2)) / n);
    else v = f(acc / n);
    y[((b * g.outH + oy) * g.outW + ox) * g.channels + c] = v < lo ? lo : v > hi ? hi : v;
  }
}

function lower(kind: 'avg' | 'max') {
  return (node: TflNode, ctx: QLowerCtx) => {
    const a = node.attrs as TflNodeAttrs<PoolOptions>, where = a.where;
    const g = geometry(a);
    const inInfo = a.inputInfo[0]!, outInfo = a.outputInfo[0];
    const input = ctx.read(node.inputs[0]), out = ctx.write(node.outputs[0]);
    if (outInfo.dtype === 'float32') {
      const [lo, hi] = activationRangeFloat(a.options.activation, where);
      return [{ op: `${kind}_pool_f32`, name: node.name, in: input, out, ...g, actMin: lo, actMax: hi } as PoolStep];
    }
    if (inInfo.dtype !== outInfo.dtype || (outInfo.dtype !== 'int8' && outInfo.dtype !== 'int16')) fail(`${where}: ${inInfo.dtype} -> ${outInfo.dtype} is not supported`);
    const qi = inInfo.quant, qo = outInfo.quant;
    if (qi && qo && (qi.scale[0] !== qo.scale[0] || qi.zeroPoint[0] !== qo.zeroPoint[0])) fail(`${where}: pooling that changes quantization is not supported`);
    const [actMin, actMax] = activationRange(a.options.activation, outInfo, where);
    return [{ op: `${kind}_pool_${outInfo.dtype === 'int8' ? 's8' : 's16'}`, name: node.name, in: input, out, ...g, actMin, actMax } as PoolStep];
  };
}

for (const [code, kind, name] of [[1, 'avg', 'AVERAGE_POOL_2D'], [17, 'max', 'MAX_POOL_2D']] as const) {
  registerTfliteOp({ code, tflName: name, graphOp: `tfl.${kind}_pool_2d`, options });
  registerTflGraphOp<PoolOptions>(`tfl.${kind}_pool_2d`, {
    reference: ([x], _s, a) => {
      const g = geometry(a);
      const y = new Float32Array(g.batches * g.outH * g.outW * g.channels);
      const [lo, hi] = activationRangeFloat(a.options.activation, a.where);
      pool(x, y, g, kind, false, lo, hi);
      return [y];
    },
    lower: lower(kind), parameters: () => 0,
  });
  for (const t of ['s8', 's16', 'f32'] as const) {
    registerExtStep<PoolStep>(`${kind}_pool_${t}`, (s, mem: ProgramMemory) => pool(viewAny(mem, s.in), viewAny(mem, s.out), s, kind, t !== 'f32', s.actMin, s.actMax));
  }
}
