/** Runs a compiled folder's program on one of the execution targets. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fail } from './errors.js';
import { loadProgram } from './plan/serialize.js';
import type { Program } from './plan/program.js';
import { elementCount } from './plan/program.js';
import type { DeviceRunResult, McuRunResult } from './backends/types.js';
import type { CompileReport } from './compile.js';

export type RunOn = 'wasm' | 'c-host' | 'qemu' | 'reference';
export const RUN_ON: readonly RunOn[] = ['wasm', 'c-host', 'qemu', 'reference'];

export interface CompiledModel {
  dir: string;
  program: Program;
  manifest: CompileReport;
}

export function openCompiled(dir: string): CompiledModel {
  const manifestFile = join(dir, 'tinyforge.json');
  if (!existsSync(manifestFile)) {
    // a model file or checkpoint folder given where the compiled folder belongs: name the compile command for it
    const isModel = existsSync(dir) && (statSync(dir).isFile() || existsSync(join(dir, 'config.json')));
    const how = isModel ? `tinyforge compile ${dir} --out ${basename(dir).replace(/\.[^.]+$/, '')}-compiled` : `tinyforge compile <model> --out ${dir}`;
    fail(`${dir}: not a compiled model folder (no tinyforge.json); run '${how}' first${isModel ? ' and run that folder' : ''}`);
  }
  let manifest: CompileReport;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    fail(`${manifestFile}: not valid JSON; recompile the model`);
  }
  return { dir, program: loadProgram(join(dir, 'program.safetensors')), manifest };
}

export async function runWasm(program: Program, inputs: Float32Array[], wasmBytes?: Uint8Array): Promise<DeviceRunResult> {
  const { emitWasm } = await import('./backends/wasm/index.js');
  const { load } = await import('../runtime/index.js');
  const m = await load(wasmBytes ?? (await emitWasm(program)));
  const outputs: Float32Array[] = [], outputsQ: Int8Array[] = [];
  for (const x of inputs) {
    const raw = !!program.int8Output;
    const r = m.run({ [program.input.name]: x }, { raw });
    outputs.push(r[program.output.name] as Float32Array);
    if (raw) outputsQ.push(m.lastOutputInt8()!);
  }
  return program.int8Output ? { outputs, outputsQ } : { outputs };
}

export async function runOn(model: CompiledModel, on: RunOn, inputs: Float32Array[]): Promise<DeviceRunResult | McuRunResult> {
  const { program, manifest, dir } = model;
  switch (on) {
    case 'reference': {
      // one model instance for all samples, in order (stateful models carry their state, as on every target)
      const { ProgramSession } = await import('./exec/program.js');
      const session = new ProgramSession(program);
      const rs = inputs.map((x) => session.run(x));
      return { outputs: rs.map((r) => r.output), ...(program.int8Output ? { outputsQ: rs.map((r) => r.outputQ!) } : {}) };
    }
    case 'wasm': {
      const file = join(dir, 'model.wasm');
      return runWasm(program, inputs, existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined);
    }
    case 'c-host': {
      const { runOnCHost } = await import('./backends/c/host.js');
      return runOnCHost(program, inputs, { target: manifest.target === 'cortex-m4f' ? 'cortex-m4f' : 'c' });
    }
    case 'qemu': {
      const { runOnQemu } = await import('../targets/boards/mps2-an386/run.js');
      return runOnQemu(program, inputs);
    }
    default:
      fail(`unknown --on '${on as string}' (supported: ${RUN_ON.join(', ')})`);
  }
}

/** Integer (file-dtype) results of a TFLite program: one flattened output tensor per sample. */
export interface TfliteIntRun { outputs: number[][]; instructions?: number[]; via: 'integer API' | 'float API' }

/**
 * Runs a TFLite program (compiled from a .tflite file) on samples in the file's own input dtypes
 * (`samples[s][k]` = graph input k of sample s; int8 / int16 / int32, or float32 for float inputs) and
 * returns the output in the file's output dtype, as TFLM's test vectors hold them. reference and wasm run
 * the integer steps directly; c-host and qemu use the C integer API (tf_model_run_int) when the program has
 * one (integer inputs, one integer output), else the float API with the file's quantization at the boundary
 * ((q - zp)·scale in, round-half-away(y / scale) + zp out, exact for int8/int16 tensors).
 */
export async function runTfliteInts(model: CompiledModel, on: RunOn, samples: ArrayLike<number>[][]): Promise<TfliteIntRun> {
  const { program, manifest, dir } = model;
  const { isQuantizedProgram, QuantizedSession } = await import('./plan/lower-quantized.js');
  if (!isQuantizedProgram(program)) fail(`${dir}: not compiled from a .tflite file; integer CSV IO is for TensorFlow Lite programs`);
  const p = program;
  if (samples.length === 0) fail('no input samples');
  const toNums = (t: ArrayLike<number>) => Array.from(t);
  switch (on) {
    case 'reference': {
      const session = new QuantizedSession(p); // samples in order through one instance, as on every target
      return { outputs: samples.map((f) => toNums(session.run(f))), via: 'integer API' };
    }
    case 'wasm': {
      const file = join(dir, 'model.wasm');
      let bytes: Uint8Array;
      if (existsSync(file)) bytes = new Uint8Array(readFileSync(file));
      else { const { emitWasm } = await import('./backends/wasm/index.js'); bytes = await emitWasm(program); }
      const { instantiateTfliteWasm } = await import('./backends/wasm/tflite.js');
      const m = await instantiateTfliteWasm(p, bytes);
      return { outputs: samples.map((f) => toNums(m.run(f))), via: 'integer API' };
    }
    case 'c-host': case 'qemu': {
      const { integerApi } = await import('./backends/c/tflite-api.js');
      const api = integerApi(program);
      const floats = samples.map((f) => {
        const x = new Float32Array(elementCount(program.input.shape));
        let o = 0;
        p.inputs.forEach((io, k) => {
          const n = elementCount(io.shape), v = f[k];
          if (v) {
            const fs = Math.fround(io.scale);
            for (let i = 0; i < n; i++) x[o + i] = io.dtype === 'float32' ? v[i] : Math.fround((v[i] - io.zeroPoint) * fs);
          } else if (io.dtype !== 'float32') x.fill(Math.fround(-io.zeroPoint * Math.fround(io.scale)), o, o + n);
          o += n;
        });
        return x;
      });
      // integer API samples: every input's values in turn (inputs not given are zeros)
      const ints = samples.map((f) => p.inputs.flatMap((io, k) => (f[k] ? Array.from(f[k]) : new Array<number>(elementCount(io.shape)).fill(0))));
      if (on === 'c-host') {
        const { runTfliteOnCHost } = await import('./backends/c/tflite-host.js');
        const target = manifest.target === 'cortex-m4f' ? 'cortex-m4f' : 'c';
        if (api) return { outputs: (await runTfliteOnCHost(program, [], ints, { target })).outputsInt, via: 'integer API' };
        return { outputs: (await runTfliteOnCHost(program, floats, [], { target })).outputs.map((y) => requantizeOutput(p.outputs[0], y)), via: 'float API' };
      }
      const { runOnQemu } = await import('../targets/boards/mps2-an386/run.js');
      if (api) {
        const r = await runOnQemu(program, floats, { intInputs: ints, intOnly: true });
        return { outputs: r.outputsInt!, instructions: r.instructionsInt ?? r.instructions, via: 'integer API' };
      }
      const r = await runOnQemu(program, floats);
      return { outputs: r.outputs.map((y) => requantizeOutput(p.outputs[0], y)), instructions: r.instructions, via: 'float API' };
    }
    default:
      fail(`unknown --on '${on as string}' (supported: ${RUN_ON.join(', ')})`);
  }
}

/** A float output back in the file's output dtype (TFLM's quantize: round half away from zero, clamp). */
function requantizeOutput(io: { dtype: string; scale: number; zeroPoint: number }, y: Float32Array): number[] {
  if (io.dtype === 'float32') return Array.from(y);
  const [lo, hi] = io.dtype === 'int8' ? [-128, 127] : io.dtype === 'int16' ? [-32768, 32767] : [-(2 ** 31), 2 ** 31 - 1];
  const s = Math.fround(io.scale);
  return Array.from(y, (v) => {
    const t = v / s;
    const r = Number.isNaN(t) ? 0 : t >= 0 ? Math.floor(t + 0.5) : -Math.floor(0.5 - t);
    return Math.min(hi, Math.max(lo, r + io.zeroPoint));
  });
}
