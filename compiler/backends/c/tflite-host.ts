/**
 * Runs the generated C of a TensorFlow Lite program on the build machine through both APIs: the
 * float API (tf_model_run) on float samples and the integer API (tf_model_run_int, the file's own
 * int8 / int16 / int32 tensors, e.g. TFLM's `*_input0_int16.csv`) on integer samples (several graph
 * inputs: one integer sample is their values concatenated in input order).
 */
import { fail } from '../../errors.js';
import type { Program } from '../../plan/program.js';
import { elementCount } from '../../plan/program.js';
import { buildAndRunOnHost, floatSampleLoop, type CHostOptions } from './host.js';
import { integerApi, integerApiValues } from './tflite-api.js';
import { INT_LIMITS } from './tflite-helpers.js';


/**
 * A float sample (the float API's input: every graph input's values in turn) quantized to the integer API's
 * input types (TFLM AffineQuantize: round half away from zero, clamp).
 */
export function quantizeIntInput(program: Program, x: ArrayLike<number>): number[] {
  const api = integerApi(program) ?? fail(`'${program.name}' has no integer API`);
  const f = Math.fround, out: number[] = [];
  for (const io of api.inputs) {
    const [lo, hi] = INT_LIMITS[io.ref.dtype];
    const scale = f(io.scale), base = out.length;
    for (let i = 0; i < io.ref.length; i++) {
      const t = f(f(x[base + i]) / scale);
      const r = Number.isNaN(t) ? 0 : !Number.isFinite(t) ? (t > 0 ? hi : lo) : t >= 0 ? Math.floor(t + 0.5) : -Math.floor(0.5 - t);
      const v = r + io.zeroPoint;
      out.push(v < lo ? lo : v > hi ? hi : v);
    }
  }
  return out;
}

const HARNESS = `/* tinyforge TFLite host harness: argv[1] = samples (float inputs as float32, then integer inputs as int32), argv[2] = float count, argv[3] = integer count */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

int main(int argc, char **argv) {
  static float in[TF_MODEL_INPUT_SIZE], out[TF_MODEL_OUTPUT_SIZE];
  long nf, ni, s;
  int i;
  FILE *f;
  if (argc < 4) return 2;
  f = fopen(argv[1], "rb");
  if (!f) return 2;
  nf = atol(argv[2]);
  ni = atol(argv[3]);
${floatSampleLoop('nf')}#if TF_MODEL_INT
#if TF_MODEL_STATEFUL
  tf_model_reset(); /* the integer samples start from the initial state too */
#endif
  for (s = 0; s < ni; s++) {
    static int32_t raw[TF_MODEL_INT_INPUT_VALUES];
    static tf_model_int_in_t qin[TF_MODEL_INT_INPUT_SIZE];
    static tf_model_int_out_t qout[TF_MODEL_INT_OUTPUT_SIZE];
    if (fread(raw, 4, TF_MODEL_INT_INPUT_VALUES, f) != TF_MODEL_INT_INPUT_VALUES) return 3;
    tf_model_int_pack(raw, qin);
    if (tf_model_run_int(qin, qout) != 0) return 4;
    printf("Q");
    for (i = 0; i < TF_MODEL_INT_OUTPUT_SIZE; i++) printf(" %ld", (long)qout[i]);
    printf("\\n");
  }
#else
  (void)ni;
#endif
  fclose(f);
  return 0;
}
`;

export interface TfliteHostResult {
  /** float API outputs per float sample */
  outputs: Float32Array[];
  /** integer API outputs per integer sample (the file's output dtype) */
  outputsInt: number[][];
}

export async function runTfliteOnCHost(program: Program, floatInputs: ArrayLike<number>[], intInputs: ArrayLike<number>[], opts: CHostOptions = {}): Promise<TfliteHostResult> {
  const inSize = elementCount(program.input.shape);
  const api = integerApi(program);
  if (intInputs.length && !api) fail(`'${program.name}' has no integer API (integer inputs and one integer output)`);
  for (const x of floatInputs) if (x.length !== inSize) fail(`float input has ${x.length} values, the model takes ${inSize}`);
  for (const x of intInputs) if (x.length !== integerApiValues(api!)) fail(`integer input has ${x.length} values, the model takes ${integerApiValues(api!)}`);
  const samples = [...floatInputs.map((x) => new Uint8Array(Float32Array.from(x).buffer)), ...intInputs.map((x) => new Uint8Array(Int32Array.from(x).buffer))];
  const stdout = await buildAndRunOnHost(program, HARNESS, samples, [String(floatInputs.length), String(intInputs.length)], opts);
  const lines = stdout.split('\n');
  const outputs = lines.filter((l) => l.startsWith('O')).map((l) => new Float32Array(Uint32Array.from(l.trim().split(/\s+/).slice(1), (h) => parseInt(h, 16)).buffer));
  const outputsInt = lines.filter((l) => l.startsWith('Q')).map((l) => l.trim().split(/\s+/).slice(1).map(Number));
  if (outputs.length !== floatInputs.length || outputsInt.length !== intInputs.length) fail(`C run returned ${outputs.length}/${floatInputs.length} float and ${outputsInt.length}/${intInputs.length} integer outputs`);
  return { outputs, outputsInt };
}
