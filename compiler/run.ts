/** Runs a compiled folder's program on one of the execution targets. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from './errors.js';
import { loadProgram } from './plan/serialize.js';
import type { Program } from './plan/program.js';
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
  if (!existsSync(manifestFile)) fail(`${dir}: not a compiled model folder (no tinyforge.json); run 'tinyforge compile <model> --out ${dir}' first`);
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
      const { executeProgram } = await import('./exec/program.js');
      const rs = inputs.map((x) => executeProgram(program, x));
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
