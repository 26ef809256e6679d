/**
 * The integer API of TensorFlow Lite programs (plan/lower-quantized.ts QuantizedProgram): the file's
 * own input / output tensors (int8, int16 or int32), as TFLM's Invoke sees them.
 *
 *   int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out);
 *
 * copies `in` into the input tensor, runs the steps between the boundary quantize and dequantize
 * (QuantizedProgram.bodyStart .. bodyEnd) and copies the output tensor to `out`. Offered for programs
 * with one integer input and one integer output. model.h defines TF_MODEL_INT (0/1),
 * TF_MODEL_INT_INPUT_SIZE / _OUTPUT_SIZE, TF_MODEL_INT_INPUT_BITS / _OUTPUT_BITS and the quantization
 * (real = (q - ZERO_POINT) * SCALE).
 */
import { fail } from '../../errors.js';
import type { BufferRef, Program } from '../../plan/program.js';
import { bytesPerElement } from '../../plan/program.js';
import { cFloat } from './cformat.js';
import { cType } from './tflite-helpers.js';

export interface IntegerApi {
  input: BufferRef; output: BufferRef;
  inScale: number; inZeroPoint: number; outScale: number; outZeroPoint: number;
  bodyStart: number; bodyEnd: number;
}

interface QuantizedLike {
  inputs?: Array<{ dtype: string; ref: BufferRef; scale: number; zeroPoint: number }>;
  outputs?: Array<{ dtype: string; ref: BufferRef; scale: number; zeroPoint: number }>;
  bodyStart?: number;
  bodyEnd?: number;
}

/** The integer API of a TFLite program, or null (not a TFLite program, several inputs, float IO). */
export function integerApi(program: Program): IntegerApi | null {
  const q = program as unknown as QuantizedLike;
  if (!Array.isArray(q.inputs) || !Array.isArray(q.outputs) || typeof q.bodyStart !== 'number' || typeof q.bodyEnd !== 'number') return null;
  if (q.inputs.length !== 1 || q.outputs.length !== 1) return null;
  const i = q.inputs[0], o = q.outputs[0];
  if (i.dtype === 'float32' || o.dtype === 'float32' || i.ref.space !== 'arena' || o.ref.space !== 'arena') return null;
  for (let k = q.bodyStart; k < q.bodyEnd; k++) {
    const s = program.steps[k];
    if ([s.in, s.out, ...(s.aux ?? [])].some((r) => r.space !== 'arena')) return null;
  }
  return { input: i.ref, output: o.ref, inScale: i.scale, inZeroPoint: i.zeroPoint, outScale: o.scale, outZeroPoint: o.zeroPoint, bodyStart: q.bodyStart, bodyEnd: q.bodyEnd };
}

export function integerApiHeader(a: IntegerApi): string {
  return `/* integer API (the .tflite file's own tensors; real = (q - ZERO_POINT) * SCALE) */
#define TF_MODEL_INT 1
#define TF_MODEL_INT_INPUT_SIZE ${a.input.length}
#define TF_MODEL_INT_OUTPUT_SIZE ${a.output.length}
#define TF_MODEL_INT_INPUT_BITS ${8 * bytesPerElement(a.input.dtype)}
#define TF_MODEL_INT_OUTPUT_BITS ${8 * bytesPerElement(a.output.dtype)}
#define TF_MODEL_INT_INPUT_SCALE ${cFloat(a.inScale)} /* ${a.inScale} */
#define TF_MODEL_INT_INPUT_ZERO_POINT (${a.inZeroPoint})
#define TF_MODEL_INT_OUTPUT_SCALE ${cFloat(a.outScale)} /* ${a.outScale} */
#define TF_MODEL_INT_OUTPUT_ZERO_POINT (${a.outZeroPoint})
typedef ${cType(a.input.dtype)} tf_model_int_in_t;
typedef ${cType(a.output.dtype)} tf_model_int_out_t;
/* in[TF_MODEL_INT_INPUT_SIZE] -> out[TF_MODEL_INT_OUTPUT_SIZE] in the file's integer types. Returns 0. */
int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out);
`;
}

export function integerApiSource(a: IntegerApi, call: (i: number) => string, ptr: (r: BufferRef, where: string) => string): string {
  if (a.bodyEnd < a.bodyStart) fail('integer API: empty program body');
  let body = '';
  for (let i = a.bodyStart; i < a.bodyEnd; i++) body += call(i);
  return `int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out) {
  memcpy(${ptr(a.input, 'input')}, in, ${a.input.length * bytesPerElement(a.input.dtype)});
${body}  memcpy(out, ${ptr(a.output, 'output')}, ${a.output.length * bytesPerElement(a.output.dtype)});
  return 0;
}
`;
}
