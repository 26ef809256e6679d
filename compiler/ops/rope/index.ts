/**
 * Rotary position embedding, "rotate-half" layout (HF / OLMo), on x [T, heads * headDim]:
 * per head, with half = headDim / 2 and i < half, position t = 0 .. T-1:
 *   inv_freq_i = theta^(-2i / headDim); angle = t * inv_freq_i; cos/sin tables [T, half] (float32,
 *   computed at compile time in double and rounded)
 *   y[i]        = x[i] cos - x[i + half] sin
 *   y[i + half] = x[i + half] cos + x[i] sin
 * Float reference: double arithmetic on the float32 tables, float32 out.
 * int8 (rope_s8, in/out int8): a = f32(x[i] - inZp), b = f32(x[i + half] - inZp),
 *   ya = f32(f32(a * cos) - f32(b * sin)), yb = f32(f32(b * cos) + f32(a * sin)),
 *   out = roundToInt8(f32(f32(y * ratio) + outZp)), ratio = f32(inScale / outScale).
 */
import { fail } from '../../errors.js';
import type { ProgramMemory } from '../../exec/memory.js';
import type { BufferRef, Step } from '../../plan/program.js';
import { roundToInt8 } from '../../quant/fixedpoint.js';
import { registerOp, registerStep } from '../registry.js';

/** These step kinds are in plan/program.ts's Step union (C emitters in ./c.ts; no WASM emitters yet).
 *  They are registered and returned through these casts because they are declared here, beside the op. */
const registerExtraStep = <S extends { op: string }>(op: S['op'], run: (s: S, mem: ProgramMemory) => void) => registerStep(op as never, run as never);
const asStep = <S extends { op: string }>(s: S): Step => s as unknown as Step;


export interface RopeAttrs { heads: number; headDim: number; theta: number }

interface StepBase { name: string; in: BufferRef; out: BufferRef; aux?: BufferRef[] }

export interface RopeF32Step extends StepBase {
  op: 'rope_f32';
  tokens: number;
  heads: number;
  headDim: number;
  /** [tokens, headDim / 2] */
  cos: Float32Array;
  sin: Float32Array;
}

export interface RopeS8Step extends StepBase {
  op: 'rope_s8';
  tokens: number;
  heads: number;
  headDim: number;
  cos: Float32Array;
  sin: Float32Array;
  inZeroPoint: number;
  ratio: number;
  outZeroPoint: number;
}

export type RopeStep = RopeF32Step | RopeS8Step;

export function ropeTables(T: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2, cos = new Float32Array(T * half), sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * theta ** (-(2 * i) / headDim);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function ropeReference(x: Float32Array, T: number, heads: number, dh: number, cos: Float32Array, sin: Float32Array): Float32Array {
  const half = dh / 2, D = heads * dh, y = new Float32Array(x.length);
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) {
    const o = t * D + h * dh, c = cos[t * half + i], s = sin[t * half + i];
    const a = x[o + i], b = x[o + i + half];
    y[o + i] = a * c - b * s;
    y[o + i + half] = b * c + a * s;
  }
  return y;
}

registerOp<RopeAttrs>('rope', {
  shape: ([x], a, where) => {
    if (a.headDim % 2 !== 0) fail(`${where}: RoPE needs an even head dimension, got ${a.headDim}`);
    if (x.length !== 2 || x[1] !== a.heads * a.headDim) fail(`${where}: RoPE input must be [tokens, ${a.heads * a.headDim}], got [${x}]`);
    return [x];
  },
  reference: ([x], [s], a) => {
    const { cos, sin } = ropeTables(s[0], a.headDim, a.theta);
    return [ropeReference(x, s[0], a.heads, a.headDim, cos, sin)];
  },
  lowerFloat: (n, ctx) => {
    const T = ctx.shape(n.inputs[0])[0];
    return asStep({ op: 'rope_f32', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0], 'float32'), tokens: T, heads: n.attrs.heads, headDim: n.attrs.headDim, ...ropeTables(T, n.attrs.headDim, n.attrs.theta) } satisfies RopeF32Step);
  },
  lowerInt8: (n, ctx) => {
    const T = ctx.shape(n.inputs[0])[0];
    const pi = ctx.params(n.inputs[0]), po = ctx.params(n.outputs[0]);
    return asStep({
      op: 'rope_s8', name: n.name, in: ctx.read(n.inputs[0]), out: ctx.write(n.outputs[0]), tokens: T, heads: n.attrs.heads, headDim: n.attrs.headDim,
      ...ropeTables(T, n.attrs.headDim, n.attrs.theta), inZeroPoint: pi.zeroPoint, ratio: Math.fround(pi.scale / po.scale), outZeroPoint: po.zeroPoint,
    } satisfies RopeS8Step);
  },
});

registerExtraStep<RopeF32Step>('rope_f32', (s, mem) => mem.f32(s.out).set(ropeReference(mem.f32(s.in), s.tokens, s.heads, s.headDim, s.cos, s.sin)));

export function executeRopeS8(s: RopeS8Step, mem: ProgramMemory): void {
  const f = Math.fround;
  const x = mem.i8(s.in), y = mem.i8(s.out);
  const half = s.headDim / 2, D = s.heads * s.headDim;
  const out = (v: number) => roundToInt8(f(f(v * s.ratio) + s.outZeroPoint));
  for (let t = 0; t < s.tokens; t++) for (let h = 0; h < s.heads; h++) for (let i = 0; i < half; i++) {
    const o = t * D + h * s.headDim, c = s.cos[t * half + i], sn = s.sin[t * half + i];
    const a = f(x[o + i] - s.inZeroPoint), b = f(x[o + i + half] - s.inZeroPoint);
    y[o + i] = out(f(f(a * c) - f(b * sn)));
    y[o + i + half] = out(f(f(b * c) + f(a * sn)));
  }
}

registerExtraStep<RopeS8Step>('rope_s8', executeRopeS8);
