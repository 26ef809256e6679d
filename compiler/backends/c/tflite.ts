/**
 * The C backend's table of TensorFlow Lite step kinds (plan/lower-quantized.ts TfliteStep): expected
 * buffer types for the framework's checks and the emitter of each kind (compiler/ops/<op>/c.ts).
 * 'ext' = the element types vary (int8 / int16 / int32 / float32); the op's emitter checks them.
 */
import { fail } from '../../errors.js';
import type { DType, Step } from '../../plan/program.js';
import type { TfliteStep } from '../../plan/lower-quantized.js';
import type { CEmitOptions, CStepEmission } from './cformat.js';
import { denseS8Kernel } from '../../ops/dense/c.js';
import { emitConvC } from '../../ops/conv/c.js';
import { emitTransposeConvC } from '../../ops/transpose-conv/c.js';
import { emitBinaryC, emitConstFillC } from '../../ops/tfl-binary/c.js';
import { emitLeakyReluC } from '../../ops/leaky-relu/c.js';
import { emitPadC } from '../../ops/pad/c.js';
import { emitStridedSliceC } from '../../ops/strided-slice/c.js';
import { emitQuantizeIntC, emitRequantizeC } from '../../ops/tfl-quantize/c.js';
import { emitSoftmaxTflC } from '../../ops/tfl-softmax/c.js';
import { emitPoolC } from '../../ops/pool/c.js';
import { emitActivationC } from '../../ops/tfl-activation/c.js';
import { emitSvdfC } from '../../ops/svdf/c.js';
import { emitLstmC } from '../../ops/lstm/c.js';

export type StepTypes = [DType, DType, DType[]] | 'same' | 'ext';

export const TFLITE_STEP_TYPES: Record<TfliteStep['op'], StepTypes> = {
  conv_s8: ['int8', 'int8', []], depthwise_s8: ['int8', 'int8', []], conv_s16: ['int16', 'int16', []], depthwise_s16: ['int16', 'int16', []],
  conv_f32: ['float32', 'float32', []], depthwise_f32: ['float32', 'float32', []],
  transpose_conv_s8: ['int8', 'int8', ['int32']], transpose_conv_s16: ['int16', 'int16', ['int32']], transpose_conv_f32: ['float32', 'float32', []],
  binary_s8: 'ext', binary_s16: 'ext', binary_f32: ['float32', 'float32', ['float32']], const_fill: 'ext',
  leaky_relu_s8: ['int8', 'int8', []], leaky_relu_s16: ['int16', 'int16', []], leaky_relu_f32: ['float32', 'float32', []],
  pad: 'ext', strided_slice: 'ext', quantize_int: 'ext', dequantize_int: 'ext', requantize: 'ext', softmax_tfl_s8: 'ext',
  avg_pool_s8: ['int8', 'int8', []], max_pool_s8: ['int8', 'int8', []], avg_pool_s16: ['int16', 'int16', []], max_pool_s16: ['int16', 'int16', []],
  avg_pool_f32: ['float32', 'float32', []], max_pool_f32: ['float32', 'float32', []],
  logistic_s8: ['int8', 'int8', []], tanh_s8: ['int8', 'int8', []], logistic_f32: ['float32', 'float32', []], tanh_f32: ['float32', 'float32', []],
  svdf_s8: 'ext', svdf_f32: ['float32', 'float32', ['float32']], lstm_f32: ['float32', 'float32', ['float32', 'float32']], lstm_s8: 'ext',
};

const KINDS = new Set<string>(Object.keys(TFLITE_STEP_TYPES));
export function isTfliteStep(s: Step): s is TfliteStep { return KINDS.has(s.op); }

/** The C of one TFLite step; `in` and `out` may be the same buffer only for const_fill. */
export function emitTfliteStepC(step: TfliteStep, fn: string, target: CEmitOptions['target'], dsp: 'int8' | 'int16'): CStepEmission {
  switch (step.op) {
    case 'conv_s8': case 'conv_s16': case 'depthwise_s8': case 'depthwise_s16': case 'conv_f32': case 'depthwise_f32':
      return emitConvC(step, fn, denseS8Kernel(target, dsp));
    case 'transpose_conv_s8': case 'transpose_conv_s16': case 'transpose_conv_f32': return emitTransposeConvC(step, fn);
    case 'binary_s8': case 'binary_s16': case 'binary_f32': return emitBinaryC(step, fn);
    case 'const_fill': return emitConstFillC(step, fn);
    case 'leaky_relu_s8': case 'leaky_relu_s16': case 'leaky_relu_f32': return emitLeakyReluC(step, fn);
    case 'pad': return emitPadC(step, fn);
    case 'strided_slice': return emitStridedSliceC(step, fn);
    case 'quantize_int': case 'dequantize_int': return emitQuantizeIntC(step, fn);
    case 'requantize': return emitRequantizeC(step, fn);
    case 'softmax_tfl_s8': return emitSoftmaxTflC(step, fn);
    case 'avg_pool_s8': case 'avg_pool_s16': case 'max_pool_s8': case 'max_pool_s16': case 'avg_pool_f32': case 'max_pool_f32': return emitPoolC(step, fn);
    case 'logistic_s8': case 'tanh_s8': case 'logistic_f32': case 'tanh_f32': return emitActivationC(step, fn);
    case 'svdf_s8': case 'svdf_f32': return emitSvdfC(step, fn);
    case 'lstm_f32': case 'lstm_s8': return emitLstmC(step, fn);
    default: return fail(`${(step as Step).name}: op '${(step as Step).op}' has no C emitter`);
  }
}
