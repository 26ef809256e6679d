/**
 * The TensorFlow Lite step kinds in the WASM backend: dispatch to compiler/ops/<op>/wasm.ts, their scratch needs,
 * and the integer entry point of TFLite programs.
 *
 * `run_int` (exported when the program comes from lowerQuantizedGraph) runs exactly the steps runQuantizedProgram
 * runs: with integer inputs, the steps between the input boundary and the output boundary, reading the integer
 * input tensors at `int_input<k>_ptr` (k = graph input) and leaving the output tensor, in the file's own dtype, at
 * `int_output_ptr`; with a float input, every step (the float input at `input_ptr`). runTfliteWasm below drives it.
 */
import { fail } from '../../errors.js';
import { emitConvWasm, convScratchBytes } from '../../ops/conv/wasm.js';
import { emitLeakyReluWasm } from '../../ops/leaky-relu/wasm.js';
import { emitLstmWasm, lstmScratchBytes } from '../../ops/lstm/wasm.js';
import { emitPadWasm } from '../../ops/pad/wasm.js';
import { emitPoolWasm } from '../../ops/pool/wasm.js';
import { emitStridedSliceWasm } from '../../ops/strided-slice/wasm.js';
import { emitSvdfWasm } from '../../ops/svdf/wasm.js';
import { emitActivationTflWasm } from '../../ops/tfl-activation/wasm.js';
import { emitBinaryTflWasm, emitConstFillWasm } from '../../ops/tfl-binary/wasm.js';
import { emitQuantizeIntWasm, emitRequantizeWasm } from '../../ops/tfl-quantize/wasm.js';
import { emitSoftmaxTflWasm, softmaxTflScratchBytes } from '../../ops/tfl-softmax/wasm.js';
import { emitTransposeConvWasm } from '../../ops/transpose-conv/wasm.js';
import type { QuantizedProgram } from '../../plan/lower-quantized.js';
import { elementCount, inferenceSteps, type BufferRef, type Program, type Step } from '../../plan/program.js';
import { bytesOf, type Expr, type WasmEmitContext } from './context.js';

/** The emission of a TFLite step, or null when the op is not a TFLite step kind. */
export function emitTfliteStepWasm(step: Step, ctx: WasmEmitContext): Expr | null {
  switch (step.op) {
    case 'conv_s8': case 'conv_s16': case 'depthwise_s8': case 'depthwise_s16': case 'conv_f32': case 'depthwise_f32': return emitConvWasm(step, ctx);
    case 'transpose_conv_s8': case 'transpose_conv_s16': case 'transpose_conv_f32': return emitTransposeConvWasm(step, ctx);
    case 'binary_s8': case 'binary_s16': case 'binary_f32': return emitBinaryTflWasm(step, ctx);
    case 'const_fill': return emitConstFillWasm(step, ctx);
    case 'leaky_relu_s8': case 'leaky_relu_s16': case 'leaky_relu_f32': return emitLeakyReluWasm(step, ctx);
    case 'pad': return emitPadWasm(step, ctx);
    case 'strided_slice': return emitStridedSliceWasm(step, ctx);
    case 'quantize_int': case 'dequantize_int': return emitQuantizeIntWasm(step, ctx);
    case 'requantize': return emitRequantizeWasm(step, ctx);
    case 'softmax_tfl_s8': return emitSoftmaxTflWasm(step, ctx);
    case 'avg_pool_s8': case 'avg_pool_s16': case 'max_pool_s8': case 'max_pool_s16': case 'avg_pool_f32': case 'max_pool_f32': return emitPoolWasm(step, ctx);
    case 'logistic_s8': case 'tanh_s8': case 'logistic_f32': case 'tanh_f32': return emitActivationTflWasm(step, ctx);
    case 'svdf_s8': case 'svdf_f32': return emitSvdfWasm(step, ctx);
    case 'lstm_f32': case 'lstm_s8': return emitLstmWasm(step, ctx);
    default: return null;
  }
}

export function tfliteScratchBytes(step: Step): number {
  switch (step.op) {
    case 'conv_s8': case 'conv_s16': case 'depthwise_s8': case 'depthwise_s16': case 'conv_f32': case 'depthwise_f32': return convScratchBytes(step);
    case 'softmax_tfl_s8': return softmaxTflScratchBytes(step);
    case 'lstm_f32': case 'lstm_s8': return lstmScratchBytes(step);
    default: return 0;
  }
}

const isQuantized = (p: Program | QuantizedProgram): p is QuantizedProgram => Array.isArray((p as QuantizedProgram).inputs) && typeof (p as QuantizedProgram).bodyStart === 'number';
export const isTfliteProgram = (p: Program): boolean => isQuantized(p);

/**
 * dense_f32 / softmax_f32 inside TFLite programs: the oracle's double arithmetic (bit-exact), instead of the
 * float32 SIMD kernels other programs use (those agree with the oracle to ~1e-6 only). Null for other steps.
 */
export function emitTfliteFloatStepWasm(step: Step, ctx: WasmEmitContext): Expr | null {
  if (step.op === 'dense_f32' && (step.activation === 'linear' || step.activation === 'relu')) {
    const rows = step.rows ?? 1, n = step.inFeatures, m = step.outFeatures;
    if (step.in.length < rows * n || step.out.length < rows * m || step.weights.length !== n * m || step.bias.length < m) fail(`program step '${step.name}': dense_f32 buffers do not match`);
    return ctx.call('tfl_dense_f32_exact', [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.data(bytesOf(step.weights), `${step.name}.weights`)),
      ctx.i32(ctx.data(bytesOf(step.bias), `${step.name}.bias`)), ctx.i32(ctx.addr(step.out)), ctx.i32(n), ctx.i32(m), ctx.i32(rows), ctx.i32(step.activation === 'relu' ? 1 : 0)]);
  }
  if (step.op === 'softmax_f32') {
    if (step.in.length < step.rows * step.features || step.out.length < step.rows * step.features) fail(`program step '${step.name}': softmax buffers do not match`);
    return ctx.call('tfl_softmax_f32_exact', [ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.rows), ctx.i32(step.features), ctx.i32(ctx.scratch(8 * step.features))]);
  }
  return null;
}

/** run_int's steps and the addresses it exports, for programs from lowerQuantizedGraph (null otherwise). */
export function tfliteIntEntry(program: Program, addr: (ref: BufferRef) => number): { steps: Step[]; globals: Record<string, number> } | null {
  const p = program as Program | QuantizedProgram;
  if (!isQuantized(p)) return null;
  const floatIn = p.inputs.some((io) => io.dtype === 'float32');
  const steps = inferenceSteps((floatIn ? p.steps : p.steps.slice(p.bodyStart, p.bodyEnd)) as Step[]);
  const globals: Record<string, number> = { int_output_ptr: addr(p.outputs[0].ref as BufferRef) };
  p.inputs.forEach((io, k) => { globals[`int_input${k}_ptr`] = addr(io.ref as BufferRef); });
  return { steps, globals };
}

export type IntTensor = Int8Array | Int16Array | Int32Array | Float32Array;

function view(memory: WebAssembly.Memory, dtype: string, address: number, length: number): IntTensor {
  switch (dtype) {
    case 'int8': return new Int8Array(memory.buffer, address, length);
    case 'int16': return new Int16Array(memory.buffer, address, length);
    case 'int32': return new Int32Array(memory.buffer, address, length);
    case 'float32': return new Float32Array(memory.buffer, address, length);
    default: return fail(`no typed view for ${dtype}`);
  }
}

export interface TfliteWasmInstance {
  /** one inference on tensors in the file's dtypes (missing inputs: zeros), as QuantizedSession.run: state carries over */
  run(feeds: ArrayLike<number>[]): IntTensor;
  /** persistent state back to its initial value (a no-op for stateless models) */
  reset(): void;
  /** the integer input views (write, then call runRaw) and the output view, for timing loops */
  inputs: IntTensor[];
  output: IntTensor;
  runRaw(): void;
}

/** Instantiates a module compiled from a TFLite program (emitWasm) and drives its `run_int` entry. */
export async function instantiateTfliteWasm(p: QuantizedProgram, wasm: Uint8Array): Promise<TfliteWasmInstance> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>), {});
  const ex = instance.exports as Record<string, unknown>;
  const memory = ex.memory as WebAssembly.Memory;
  const runInt = ex.run_int as (() => void) | undefined;
  if (!runInt) fail(`the WASM module of ${p.name} has no run_int entry; compile it from a TFLite program`);
  const g = (name: string) => (ex[name] as WebAssembly.Global).value as number;
  const floatIn = p.inputs.some((io) => io.dtype === 'float32');
  const inputs = p.inputs.map((io, k) => view(memory, io.ref.dtype, g(floatIn && io.ref.space === 'input' ? 'input_ptr' : `int_input${k}_ptr`) + (floatIn && io.ref.space === 'input' ? io.ref.offset : 0), elementCount(io.shape)));
  const o = p.outputs[0];
  const output = view(memory, o.ref.dtype, g('int_output_ptr'), elementCount(o.shape));
  const reset = (ex.reset as (() => void) | undefined) ?? (() => undefined);
  return {
    inputs, output, runRaw: runInt, reset,
    run(feeds) {
      p.inputs.forEach((io, k) => {
        const f = feeds[k];
        if (f && f.length !== inputs[k].length) fail(`input '${io.name}' needs ${inputs[k].length} values, got ${f.length}`);
        if (f) inputs[k].set(f); else inputs[k].fill(0);
      });
      runInt();
      return output.slice();
    },
  };
}
