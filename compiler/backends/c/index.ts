/**
 * C backend (nn4mc style): a Program becomes model.h (the API) + model.c (const weights in flash, one
 * static arena, one static function per step, no malloc). The op modules emit the per-step code
 * (compiler/ops/<op>/c.ts); this file lays out memory, the API functions and the file framing.
 */
import { fail } from '../../errors.js';
import type { BufferRef, DType, Program, Step } from '../../plan/program.js';
import { bytesPerElement, elementCount, isResetStep, isStateful } from '../../plan/program.js';
import { emitDenseF32C, emitDenseS4C, emitDenseS8C, denseS8Kernel } from '../../ops/dense/c.js';
import { emitDequantizeC, emitQuantizeC } from '../../ops/quantize/c.js';
import { emitLayerNormF32C, emitLayerNormS8C } from '../../ops/layer-norm/c.js';
import { emitSoftmaxF32C, emitSoftmaxS8C } from '../../ops/softmax/c.js';
import { emitAddS8C, emitBinaryF32C, emitMulS8C } from '../../ops/elementwise/c.js';
import { emitAffineF32C, emitAffineS8C } from '../../ops/batch-norm/c.js';
import { emitTransposeC } from '../../ops/transpose/c.js';
import { emitCopyC, emitGatherC } from '../../ops/reshape/c.js';
import { emitPatchifyF32C } from '../../ops/patchify/c.js';
import { emitScaleSeriesF32C, emitUnscaleSeriesF32C } from '../../ops/scaler/c.js';
import { emitEmbeddingF32C, emitEmbeddingQ8C } from '../../ops/embedding/c.js';
import { emitAttentionF32C, emitAttentionS8C } from '../../ops/attention/c.js';
import { emitRopeF32C, emitRopeS8C } from '../../ops/rope/c.js';
import { emitConcatRowsC, emitSliceRowsC } from '../../ops/slice/c.js';
import { cFloat, cIdent, cString, type CEmitOptions, type CStepEmission } from './cformat.js';
import { TFLITE_STEP_TYPES, emitTfliteStepC, isTfliteStep } from './tflite.js';
import { integerApi, integerApiHeader, integerApiSource } from './tflite-api.js';

export type { CEmitOptions } from './cformat.js';

export interface CSources {
  'model.h': string;
  'model.c': string;
}

/** Extra flash the 'auto' policy allows for pre-extended (int16) weights. */
const AUTO_INT16_EXTRA_BYTES = 32 * 1024;

/** in, out and aux element types per op ('same' = data movement: float32 or int8, in = out = aux;
 *  a function = types that depend on the step, e.g. a variable number of aux operands). */
const STEP_TYPES: Record<Step['op'], [DType, DType, DType[]] | 'same' | 'ext' | ((s: Step) => [DType, DType, DType[]])> = {
  ...TFLITE_STEP_TYPES, // TensorFlow Lite steps ('ext': element types checked by the op's emitter)
  quantize: ['float32', 'int8', []],
  dequantize: ['int8', 'float32', []],
  dense_s8: ['int8', 'int8', []],
  dense_s4: ['int8', 'int8', []],
  dense_f32: ['float32', 'float32', []],
  layer_norm_s8: ['int8', 'int8', []],
  softmax_s8: ['int8', 'int8', []],
  mul_s8: ['int8', 'int8', ['int8']],
  add_s8: ['int8', 'int8', ['int8']],
  affine_s8: ['int8', 'int8', []],
  layer_norm_f32: ['float32', 'float32', []],
  affine_f32: ['float32', 'float32', []],
  softmax_f32: ['float32', 'float32', []],
  add_f32: ['float32', 'float32', ['float32']],
  mul_f32: ['float32', 'float32', ['float32']],
  transpose: 'same',
  gather: 'same',
  copy: 'same',
  patchify_f32: ['float32', 'float32', []],
  scale_series_f32: ['float32', 'float32', ['float32', 'float32']],
  unscale_series_f32: ['float32', 'float32', ['float32', 'float32']],
  // MatFormer: embedding ids (and optional token-type ids) are float32; slice/concat move either type
  embedding_f32: (s) => ['float32', 'float32', (s.aux ?? []).map((): DType => 'float32')],
  embedding_q8: (s) => ['float32', 'float32', (s.aux ?? []).map((): DType => 'float32')],
  attention_f32: ['float32', 'float32', ['float32', 'float32', 'float32']],
  attention_s8: ['int8', 'int8', ['int8', 'int8', 'int8']],
  rope_f32: ['float32', 'float32', []],
  rope_s8: ['int8', 'int8', []],
  slice_rows: 'same',
  concat_rows: (s) => [s.in.dtype === 'int8' ? 'int8' : 'float32', s.in.dtype === 'int8' ? 'int8' : 'float32', (s.aux ?? []).map((): DType => (s.in.dtype === 'int8' ? 'int8' : 'float32'))],
};

function checkTypes(step: Step): void {
  const t0 = STEP_TYPES[step.op] ?? fail(`${step.name}: unknown op '${(step as Step).op}'`);
  const t = typeof t0 === 'function' ? t0(step) : t0;
  const aux = step.aux ?? [];
  if (t === 'ext') return;
  if (t === 'same') {
    if ((step.in.dtype !== 'float32' && step.in.dtype !== 'int8') || step.out.dtype !== step.in.dtype || aux.length) {
      fail(`${step.name}: ${step.op} moves float32 or int8 data of one type`);
    }
    return;
  }
  const [tin, tout, taux] = t;
  if (step.in.dtype !== tin || step.out.dtype !== tout) fail(`${step.name}: ${step.op} expects ${tin} -> ${tout}`);
  if (aux.length !== taux.length || aux.some((a, k) => a.dtype !== taux[k])) fail(`${step.name}: ${step.op} expects aux operands [${taux.join(', ')}]`);
}


function resolveDspWeights(program: Program, opts: CEmitOptions): 'int8' | 'int16' {
  const mode = opts.dspWeights ?? 'auto';
  if (mode !== 'auto') return mode;
  let extra = 0;
  for (const s of program.steps) if (s.op === 'dense_s8' || s.op === 'conv_s8') extra += s.weights.length;
  return extra <= AUTO_INT16_EXTRA_BYTES ? 'int16' : 'int8';
}

/** Pointer expression for a buffer as seen from inside tf_model_run / tf_model_run_int8. */
function ptr(ref: BufferRef, where: string): string {
  const unit = bytesPerElement(ref.dtype);
  if (ref.offset % unit) fail(`${where}: ${ref.space} offset ${ref.offset} is not aligned for ${ref.dtype}`);
  if (ref.space === 'arena') {
    const member = ref.dtype === 'int8' ? 'b' : ref.dtype === 'int16' ? 'h' : ref.dtype === 'float32' ? 'f' : 'i';
    return `tf_arena.${member} + ${ref.offset / unit}`;
  }
  if (ref.dtype !== 'float32') fail(`${where}: the ${ref.space} space holds float32, not ${ref.dtype}`);
  return `${ref.space === 'input' ? 'in' : 'out'} + ${ref.offset / 4}`;
}

function overlaps(a: BufferRef, b: BufferRef): boolean {
  if (a.space !== b.space) return false;
  const aEnd = a.offset + a.length * bytesPerElement(a.dtype);
  const bEnd = b.offset + b.length * bytesPerElement(b.dtype);
  return a.offset < bEnd && b.offset < aEnd;
}

function emitStep(step: Step, fn: string, target: CEmitOptions['target'], dsp: 'int8' | 'int16'): CStepEmission {
  switch (step.op) {
    case 'quantize': return emitQuantizeC(step, fn);
    case 'dequantize': return emitDequantizeC(step, fn);
    case 'dense_s8': return emitDenseS8C(step, fn, denseS8Kernel(target, dsp));
    case 'dense_s4': return emitDenseS4C(step, fn, denseS8Kernel(target, dsp));
    case 'dense_f32': return emitDenseF32C(step, fn);
    case 'layer_norm_s8': return emitLayerNormS8C(step, fn);
    case 'layer_norm_f32': return emitLayerNormF32C(step, fn);
    case 'softmax_s8': return emitSoftmaxS8C(step, fn);
    case 'softmax_f32': return emitSoftmaxF32C(step, fn);
    case 'mul_s8': return emitMulS8C(step, fn);
    case 'add_s8': return emitAddS8C(step, fn);
    case 'add_f32': case 'mul_f32': return emitBinaryF32C(step, fn);
    case 'affine_s8': return emitAffineS8C(step, fn);
    case 'affine_f32': return emitAffineF32C(step, fn);
    case 'transpose': return emitTransposeC(step, fn);
    case 'gather': return emitGatherC(step, fn);
    case 'copy': return emitCopyC(step, fn);
    case 'patchify_f32': return emitPatchifyF32C(step, fn);
    case 'scale_series_f32': return emitScaleSeriesF32C(step, fn);
    case 'unscale_series_f32': return emitUnscaleSeriesF32C(step, fn);
    case 'embedding_f32': return emitEmbeddingF32C(step, fn);
    case 'embedding_q8': return emitEmbeddingQ8C(step, fn);
    case 'attention_f32': return emitAttentionF32C(step, fn);
    case 'attention_s8': return emitAttentionS8C(step, fn);
    case 'rope_f32': return emitRopeF32C(step, fn);
    case 'rope_s8': return emitRopeS8C(step, fn);
    case 'slice_rows': return emitSliceRowsC(step, fn);
    case 'concat_rows': return emitConcatRowsC(step, fn);
    default:
      if (isTfliteStep(step)) return emitTfliteStepC(step, fn, target, dsp);
      return fail(`${(step as Step).name}: op '${(step as Step).op}' has no C emitter`);
  }
}

/**
 * True when the generated C offers tf_model_run_int8: an int8 program that is exactly
 * quantize(caller input) ... dequantize(-> caller output). Programs with float steps around the int8
 * core (e.g. TinyTimeMixer's series scaling) get tf_model_run only.
 */
export function hasInt8Api(program: Program): boolean {
  const first = program.steps[0], last = program.steps[program.steps.length - 1];
  return program.quant === 'int8' && !!program.int8Input && !!program.int8Output
    && first?.op === 'quantize' && first.in.space === 'input' && last?.op === 'dequantize' && last.out.space === 'output';
}

/** Emits model.h + model.c for one Program. Symbols are prefixed tf_/TF_ (one model per build). */
export function emitC(program: Program, opts: CEmitOptions): CSources {
  if (program.format !== 'tinyforge-program/1') fail(`unsupported program format '${program.format}'`);
  const dsp = resolveDspWeights(program, opts);
  const inSize = elementCount(program.input.shape);
  const outSize = elementCount(program.output.shape);
  const arenaBytes = Math.max(16, Math.ceil(program.arenaBytes / 16) * 16);

  const used = new Set<string>();
  const fns: string[] = [];
  const helpers = new Map<string, string>();
  const includes = new Set<string>(['stdint.h']);
  const bodies: string[] = [];
  for (const step of program.steps) {
    checkTypes(step);
    if (overlaps(step.in, step.out) && step.op !== 'const_fill') fail(`${step.name}: input and output buffers overlap`);
    for (const a of step.aux ?? []) if (overlaps(a, step.out)) fail(`${step.name}: an aux operand overlaps the output`);
    for (const ref of [step.in, step.out, ...(step.aux ?? [])]) {
      const bytes = ref.offset + ref.length * bytesPerElement(ref.dtype);
      const cap = ref.space === 'arena' ? arenaBytes : 4 * (ref.space === 'input' ? inSize : outSize);
      if (bytes > cap) fail(`${step.name}: buffer ends at byte ${bytes}, past the ${ref.space} (${cap} bytes)`);
    }
    let fn = `tf_layer_${cIdent(step.name)}`;
    for (let k = 2; used.has(fn); k++) fn = `tf_layer_${cIdent(step.name)}_${k}`;
    used.add(fn);
    fns.push(fn);
    const e = emitStep(step, fn, opts.target, dsp);
    for (const [k, v] of Object.entries(e.helpers)) helpers.set(k, v);
    for (const inc of e.includes) includes.add(inc);
    bodies.push(e.code);
  }

  // int8 API: the steps strictly between the first quantize and the last dequantize, offered only when
  // the program is exactly quantize(caller input) ... dequantize(-> caller output).
  const isInt8 = hasInt8Api(program);
  const firstQ = program.steps.findIndex((s) => s.op === 'quantize');
  let lastDq = -1;
  program.steps.forEach((s, i) => { if (s.op === 'dequantize') lastDq = i; });
  if (isInt8 && (firstQ < 0 || lastDq < firstQ)) fail(`int8 program '${program.name}' needs a quantize step before a dequantize step`);
  const inQ = program.input.quant ?? (firstQ >= 0 ? (program.steps[firstQ] as { scale: number; zeroPoint: number }) : undefined);
  const outQ = program.output.quant ?? (lastDq >= 0 ? (program.steps[lastDq] as { scale: number; zeroPoint: number }) : undefined);

  const callStep = (i: number) => {
    const s = program.steps[i];
    const args = [s.in, s.out, ...(s.aux ?? [])].map((r) => ptr(r, s.name));
    return `  ${fns[i]}(${args.join(', ')});\n`;
  };
  // persistent state (plan/program.ts): reset-only steps run in tf_model_reset(), which every entry calls
  // once before its first inference; inferences leave the state to the next one
  const stateful = isStateful(program);
  const call = (i: number) => (isResetStep(program.steps[i]) ? '' : callStep(i));
  const ensureState = stateful ? '  if (!tf_state_ready) tf_model_reset();\n' : '';
  const reset = stateful ? `static int tf_state_ready;

void tf_model_reset(void) {
${program.steps.map((s, i) => (isResetStep(s) ? callStep(i) : '')).join('')}  tf_state_ready = 1;
}
` : '';
  let run = `int tf_model_run(const float *in, float *out) {\n${ensureState}`;
  const runBody = program.steps.map((_, i) => call(i)).join('');
  if (!/\bin \+/.test(runBody)) run += '  (void)in;\n';
  if (!/\bout \+/.test(runBody)) run += '  (void)out;\n';
  if (!/tf_arena/.test(runBody)) run += '  (void)tf_arena;\n';
  run += runBody + '  return 0;\n}\n';

  let runInt8 = '';
  if (isInt8) {
    const i8in = program.int8Input!, i8out = program.int8Output!;
    let body = '';
    for (let i = firstQ + 1; i < lastDq; i++) {
      const s = program.steps[i];
      if ([s.in, s.out, ...(s.aux ?? [])].some((r) => r.space !== 'arena')) fail(`${s.name}: int8 API steps must stay inside the arena`);
      body += call(i);
    }
    runInt8 = `int tf_model_run_int8(const int8_t *in, int8_t *out) {
${ensureState}  memcpy(${ptr(i8in, 'int8Input')}, in, ${i8in.length});
${body}  memcpy(out, ${ptr(i8out, 'int8Output')}, ${i8out.length});
  return 0;
}\n`;
    includes.add('string.h');
  }

  // integer API of TensorFlow Lite programs (the file's own int8 / int16 / int32 tensors)
  const intApi = integerApi(program);
  let intApiSource = '';
  if (intApi) {
    intApiSource = '\n' + integerApiSource(intApi, (i) => call(i), (r, w) => ptr(r, w), ensureState);
    includes.add('string.h');
  }

  const guard = 'TF_MODEL_H';
  const quantDefs = (p: string, q?: { scale: number; zeroPoint: number }) =>
    q ? `#define TF_MODEL_${p}_SCALE ${cFloat(q.scale)} /* ${q.scale} */\n#define TF_MODEL_${p}_ZERO_POINT (${q.zeroPoint})\n` : '';
  const header = `/* ${program.name}: generated by tinyforge (${opts.target}). Do not edit. */
#ifndef ${guard}
#define ${guard}

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TF_MODEL_NAME ${cString(program.name)}
/* float32 elements per sample */
#define TF_MODEL_INPUT_SIZE ${inSize}
#define TF_MODEL_OUTPUT_SIZE ${outSize}
/* the one static working buffer inside model.c (no heap is used) */
#define TF_MODEL_ARENA_BYTES ${arenaBytes}
#define TF_MODEL_INT8 ${isInt8 ? 1 : 0}
${isInt8 ? `/* int8 API tensor sizes; real = (q - ZERO_POINT) * SCALE */
#define TF_MODEL_INT8_INPUT_SIZE ${program.int8Input!.length}
#define TF_MODEL_INT8_OUTPUT_SIZE ${program.int8Output!.length}
${quantDefs('INPUT', inQ)}${quantDefs('OUTPUT', outQ)}` : ''}
/* Runs one sample: in[TF_MODEL_INPUT_SIZE] -> out[TF_MODEL_OUTPUT_SIZE]. Returns 0. Not reentrant. */
int tf_model_run(const float *in, float *out);
${stateful ? `/* The model keeps state between inferences (TFLite variable tensors), as TFLite Micro does: every entry
   starts from it and leaves it to the next. tf_model_reset() restores the initial state (done before the first
   inference). */
#define TF_MODEL_STATEFUL 1
void tf_model_reset(void);` : '#define TF_MODEL_STATEFUL 0'}
${isInt8 ? `/* int8 API: quantized input -> quantized output (skips the float quantize/dequantize). Returns 0. */
int tf_model_run_int8(const int8_t *in, int8_t *out);
` : ''}${intApi ? integerApiHeader(intApi) : '#define TF_MODEL_INT 0\n'}
#ifdef __cplusplus
}
#endif

#endif /* ${guard} */
`;

  const incs = ['stdint.h', 'string.h', 'math.h'].filter((h) => includes.has(h));
  const source = `/* ${program.name}: generated by tinyforge (${opts.target}${opts.target === 'cortex-m4f' ? `, ${dsp} DSP weights` : ''}). Do not edit. */
${incs.map((h) => `#include <${h}>`).join('\n')}
#include "model.h"

#if defined(__GNUC__)
#define TF_ALIGNED16 __attribute__((aligned(16)))
#else
#define TF_ALIGNED16
#endif

/* Every intermediate tensor lives here at a planned offset; the union gives each element type a
   properly typed view of the same storage. */
static union {
  int8_t b[${arenaBytes}];
  float f[${arenaBytes / 4}];
  int16_t h[${arenaBytes / 2}];
  int32_t i[${arenaBytes / 4}];
} tf_arena TF_ALIGNED16;

/* Shared helpers: a model may use only part of a helper group (e.g. add_s8 without mul_s8). */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
${[...helpers.values()].join('\n')}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
${bodies.join('\n')}
${reset}${run}${runInt8 ? '\n' + runInt8 : ''}${intApiSource}`;
  return { 'model.h': header, 'model.c': source };
}
