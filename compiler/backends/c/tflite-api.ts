/**
 * The integer API of TensorFlow Lite programs (plan/lower-quantized.ts QuantizedProgram): the file's
 * own input / output tensors (int8, int16 or int32), as TFLM's Invoke sees them.
 *
 *   int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out);
 *
 * copies `in` into the input tensor(s), runs the steps between the boundary quantize and dequantize
 * (QuantizedProgram.bodyStart .. bodyEnd) and copies the output tensor to `out`. Offered for programs
 * with integer inputs and one integer output. One input: `tf_model_int_in_t` is its element type and
 * `in` points to TF_MODEL_INT_INPUT_SIZE of them. Several inputs (ADD, SUB, TRANSPOSE_CONV's output
 * shape, ...): `tf_model_int_in_t` is a struct with one array per input (`in0`, `in1`, ... in the file's
 * input order, each in its own type) and TF_MODEL_INT_INPUT_SIZE is 1. Either way
 *
 *   void tf_model_int_pack(const int32_t *values, tf_model_int_in_t *in);
 *
 * fills `in` from TF_MODEL_INT_INPUT_VALUES int32 values (every input's values, in input order).
 * model.h defines TF_MODEL_INT (0/1), TF_MODEL_INT_INPUTS, TF_MODEL_INT_OUTPUT_SIZE,
 * TF_MODEL_INT_OUTPUT_BITS and, for one input, TF_MODEL_INT_INPUT_BITS and the quantization of both
 * ends (real = (q - ZERO_POINT) * SCALE).
 */
import { fail } from '../../errors.js';
import type { BufferRef, Program } from '../../plan/program.js';
import { bytesPerElement } from '../../plan/program.js';
import { cFloat } from './cformat.js';
import { cType } from './tflite-helpers.js';

export interface IntegerApiInput { ref: BufferRef; scale: number; zeroPoint: number }

export interface IntegerApi {
  /** the graph inputs in the file's order */
  inputs: IntegerApiInput[];
  /** the first input (the only one of single-input programs) */
  input: BufferRef;
  output: BufferRef;
  inScale: number; inZeroPoint: number; outScale: number; outZeroPoint: number;
  bodyStart: number; bodyEnd: number;
}

interface QuantizedLike {
  inputs?: Array<{ dtype: string; ref: BufferRef; scale: number; zeroPoint: number }>;
  outputs?: Array<{ dtype: string; ref: BufferRef; scale: number; zeroPoint: number }>;
  bodyStart?: number;
  bodyEnd?: number;
}

/** The integer API of a TFLite program, or null (not a TFLite program, several outputs, float IO). */
export function integerApi(program: Program): IntegerApi | null {
  const q = program as unknown as QuantizedLike;
  if (!Array.isArray(q.inputs) || !Array.isArray(q.outputs) || typeof q.bodyStart !== 'number' || typeof q.bodyEnd !== 'number') return null;
  if (q.inputs.length === 0 || q.outputs.length !== 1) return null;
  const o = q.outputs[0];
  if (o.dtype === 'float32' || o.ref.space !== 'arena' || q.inputs.some((i) => i.dtype === 'float32' || i.ref.space !== 'arena')) return null;
  for (let k = q.bodyStart; k < q.bodyEnd; k++) {
    const s = program.steps[k];
    if ([s.in, s.out, ...(s.aux ?? [])].some((r) => r.space !== 'arena')) return null;
  }
  const inputs = q.inputs.map((i) => ({ ref: i.ref, scale: i.scale, zeroPoint: i.zeroPoint }));
  const i = inputs[0];
  return { inputs, input: i.ref, output: o.ref, inScale: i.scale, inZeroPoint: i.zeroPoint, outScale: o.scale, outZeroPoint: o.zeroPoint, bodyStart: q.bodyStart, bodyEnd: q.bodyEnd };
}

/** How many int32 values one integer-API sample holds (every input's values, in input order). */
export const integerApiValues = (a: IntegerApi): number => a.inputs.reduce((n, i) => n + i.ref.length, 0);

export function integerApiHeader(a: IntegerApi): string {
  const multi = a.inputs.length > 1;
  const inputDefs = multi
    ? `typedef struct {\n${a.inputs.map((i, k) => `  ${cType(i.ref.dtype)} in${k}[${i.ref.length}]; /* ${8 * bytesPerElement(i.ref.dtype)}-bit, scale ${i.scale}, zero point ${i.zeroPoint} */\n`).join('')}} tf_model_int_in_t;
#define TF_MODEL_INT_INPUT_SIZE 1
`
    : `#define TF_MODEL_INT_INPUT_SIZE ${a.input.length}
#define TF_MODEL_INT_INPUT_BITS ${8 * bytesPerElement(a.input.dtype)}
#define TF_MODEL_INT_INPUT_SCALE ${cFloat(a.inScale)} /* ${a.inScale} */
#define TF_MODEL_INT_INPUT_ZERO_POINT (${a.inZeroPoint})
typedef ${cType(a.input.dtype)} tf_model_int_in_t;
`;
  return `/* integer API (the .tflite file's own tensors; real = (q - ZERO_POINT) * SCALE) */
#define TF_MODEL_INT 1
#define TF_MODEL_INT_INPUTS ${a.inputs.length}
#define TF_MODEL_INT_INPUT_VALUES ${integerApiValues(a)}
#define TF_MODEL_INT_OUTPUT_SIZE ${a.output.length}
#define TF_MODEL_INT_OUTPUT_BITS ${8 * bytesPerElement(a.output.dtype)}
#define TF_MODEL_INT_OUTPUT_SCALE ${cFloat(a.outScale)} /* ${a.outScale} */
#define TF_MODEL_INT_OUTPUT_ZERO_POINT (${a.outZeroPoint})
${inputDefs}typedef ${cType(a.output.dtype)} tf_model_int_out_t;
/* in[TF_MODEL_INT_INPUT_SIZE] -> out[TF_MODEL_INT_OUTPUT_SIZE] in the file's integer types. Returns 0. */
int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out);
/* values[TF_MODEL_INT_INPUT_VALUES] (each input's values in turn) -> *in */
void tf_model_int_pack(const int32_t *values, tf_model_int_in_t *in);
`;
}

export function integerApiSource(a: IntegerApi, call: (i: number) => string, ptr: (r: BufferRef, where: string) => string, prologue = ''): string {
  if (a.bodyEnd < a.bodyStart) fail('integer API: empty program body');
  const multi = a.inputs.length > 1;
  let body = '';
  for (let i = a.bodyStart; i < a.bodyEnd; i++) body += call(i);
  const copyIn = a.inputs.map((i, k) => `  memcpy(${ptr(i.ref, `input ${k}`)}, ${multi ? `in->in${k}` : 'in'}, ${i.ref.length * bytesPerElement(i.ref.dtype)});\n`).join('');
  let offset = 0;
  const pack = a.inputs.map((i, k) => {
    const dst = multi ? `in->in${k}[i]` : 'in[i]';
    const line = `  for (i = 0; i < ${i.ref.length}; i++) ${dst} = (${cType(i.ref.dtype)})values[${offset ? `${offset} + ` : ''}i];\n`;
    offset += i.ref.length;
    return line;
  }).join('');
  return `int tf_model_run_int(const tf_model_int_in_t *in, tf_model_int_out_t *out) {
${prologue}${copyIn}${body}  memcpy(out, ${ptr(a.output, 'output')}, ${a.output.length * bytesPerElement(a.output.dtype)});
  return 0;
}

void tf_model_int_pack(const int32_t *values, tf_model_int_in_t *in) {
  int32_t i;
${pack}}
`;
}
