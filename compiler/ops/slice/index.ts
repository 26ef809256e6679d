/**
 * Row slicing and concatenation along the first axis (pure data movement, any element type). Both are
 * float-only graph ops (no int8 lowering): int8 programs use them at the float boundary, where
 * several caller tensors share one program input or output (see compiler/passes/matformer.ts).
 *   slice_rows (attrs start, count): out = rows start .. start+count-1 of in
 *          step `slice_rows`:  out[i] = in[offset + i], i < out.length (offset in elements = start * row size)
 *   concat_rows (2+ inputs with the same last dimension): out [total rows, last] = in0 rows, then in1 rows, ...
 *          step `concat_rows`: out = in ++ aux[0] ++ aux[1] ... (element counts from the buffers)
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { BufferRef, Step } from '../../plan/program.js';
import { registerOp, registerStep, size } from '../registry.js';

/** These step kinds are in plan/program.ts's Step union (C emitters in ./c.ts; no WASM emitters yet).
 *  They are registered and returned through these casts because they are declared here, beside the op. */
const registerExtraStep = <S extends { op: string }>(op: S['op'], run: (s: S, mem: ProgramMemory) => void) => registerStep(op as never, run as never);
const asStep = <S extends { op: string }>(s: S): Step => s as unknown as Step;


export interface SliceAttrs {
  start: number;
  count: number;
  /** count 1 only: drop the first axis ([n, ...rest] -> [...rest]) */
  squeeze?: boolean;
}

interface StepBase { name: string; in: BufferRef; out: BufferRef; aux?: BufferRef[] }

export interface SliceStep extends StepBase { op: 'slice_rows'; offset: number }
export interface ConcatStep extends StepBase { op: 'concat_rows' }

registerOp<SliceAttrs>('slice_rows', {
  shape: ([x], a, where) => {
    if (!Number.isInteger(a.start) || !Number.isInteger(a.count) || a.start < 0 || a.count < 1 || a.start + a.count > x[0]) fail(`${where}: rows ${a.start}..${a.start + a.count - 1} are outside the ${x[0]} rows of [${x}]`);
    if (a.squeeze && a.count !== 1) fail(`${where}: only a single row can be squeezed`);
    return [a.squeeze ? x.slice(1) : [a.count, ...x.slice(1)]];
  },
  reference: ([x], [s], a) => {
    const inner = size(s.slice(1));
    return [x.slice(a.start * inner, (a.start + a.count) * inner)];
  },
  lowerFloat: (n, ctx) => {
    const s = ctx.shape(n.inputs[0]);
    return asStep({ op: 'slice_rows', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0], 'float32'), offset: n.attrs.start * size(s.slice(1)) } satisfies SliceStep);
  },
});

registerOp<Record<string, never>>('concat_rows', {
  shape: (xs, _a, where) => {
    const last = xs[0][xs[0].length - 1];
    if (xs.length < 2 || xs.some((s) => s[s.length - 1] !== last)) fail(`${where}: concat needs 2+ inputs with the same last dimension, got ${xs.map((s) => `[${s}]`).join(', ')}`);
    return [[xs.reduce((p, s) => p + size(s) / last, 0), last]];
  },
  reference: (xs) => {
    const y = new Float32Array(xs.reduce((p, x) => p + x.length, 0));
    let o = 0;
    for (const x of xs) { y.set(x, o); o += x.length; }
    return [y];
  },
  lowerFloat: (n, ctx) => {
    const [first, ...rest] = n.inputs.map((x) => ctx.read(x));
    return asStep({ op: 'concat_rows', name: n.name, in: first, aux: rest, out: ctx.write(n.outputs[0], 'float32') } satisfies ConcatStep);
  },
});

const view = (mem: ProgramMemory, r: BufferRef) => (r.dtype === 'int8' ? mem.i8(r) : r.dtype === 'int32' ? mem.i32(r) : mem.f32(r));

registerExtraStep<SliceStep>('slice_rows', (s, mem) => {
  const x = view(mem, { ...s.in }), y = view(mem, s.out);
  for (let i = 0; i < y.length; i++) y[i] = x[s.offset + i];
});

registerExtraStep<ConcatStep>('concat_rows', (s, mem) => {
  const y = view(mem, s.out);
  let o = 0;
  for (const r of [s.in, ...(s.aux ?? [])]) { const x = view(mem, r); y.set(x as never, o); o += x.length; }
});
