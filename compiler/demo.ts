/**
 * `tinyforge demo`: the main job on the bundled forward model (examples/forward-model, 26 inputs -> 3
 * outputs): compile to WASM and to C for the Cortex-M4F (int8), run the check vectors in WASM, in C on
 * the host and on the emulated board (QEMU mps2-an386), and compare the int8 outputs bit for bit.
 */
import { join } from 'node:path';
import { compileModel } from './compile.js';
import { openCompiled, runOn } from './run.js';
import { packageRoot } from './paths.js';
import { readSamples } from './io/samples.js';
import { ensureSystemTools } from './system.js';
import { runReference } from './ir/reference.js';
import type { McuRunResult } from './backends/types.js';

export interface DemoResult {
  ok: boolean;
  model: string;
  samples: number;
  int8BitIdentical: boolean;
  floatMaxAbsErrorVsReference: number;
  instructionsPerInference?: number;
  instructionsPerMac?: number;
  flashBytes?: number;
  ramBytes?: number;
}

const same = (a: Int8Array, b: Int8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export async function runDemo(out: string, log: (line: string) => void): Promise<DemoResult> {
  const example = join(packageRoot(), 'examples', 'forward-model');
  const calib = join(example, 'calib.safetensors');
  ensureSystemTools(log);

  log(`1/5 compile ${example} -> WASM, float32`);
  const f32 = await compileModel(example, { target: 'wasm', quant: 'float32', out: join(out, 'wasm-float32'), calib });
  log(`2/5 compile -> WASM, int8 (calibrated on ${f32.report.calibration?.samples ?? readSamples(calib, 'input', [26]).length} samples)`);
  const wasm8 = await compileModel(example, { target: 'wasm', quant: 'int8', out: join(out, 'wasm-int8'), calib });
  for (const l of wasm8.report.calibration!.layers) log(`      ${l.layer}: quantization rmse ${l.rmse.toExponential(2)} (SQNR ${l.sqnrDb.toFixed(1)} dB)`);
  log('3/5 compile -> C for cortex-m4f, int8');
  await compileModel(example, { target: 'cortex-m4f', quant: 'int8', out: join(out, 'cortex-m4f-int8'), calib });

  const inputs = readSamples(calib, wasm8.program.input.name, wasm8.program.input.shape).slice(0, 8);
  log(`4/5 run ${inputs.length} samples: WASM (Node), C on the host, C on the emulated Cortex-M4F`);
  const fRun = await runOn(openCompiled(join(out, 'wasm-float32')), 'wasm', inputs);
  let floatErr = 0;
  inputs.forEach((x, i) => { const ref = runReference(f32.graph, x); ref.forEach((v, k) => { floatErr = Math.max(floatErr, Math.abs(v - fRun.outputs[i][k])); }); });
  const w = await runOn(openCompiled(join(out, 'wasm-int8')), 'wasm', inputs);
  const m4f = openCompiled(join(out, 'cortex-m4f-int8'));
  const host = await runOn(m4f, 'c-host', inputs);
  const board = (await runOn(m4f, 'qemu', inputs)) as McuRunResult;
  const identical = inputs.every((_, i) => same(w.outputsQ![i], host.outputsQ![i]) && same(w.outputsQ![i], board.outputsQ![i]));

  log('5/5 results (first 3 samples; float32 reference | int8 on WASM = C host = QEMU):');
  for (let i = 0; i < Math.min(3, inputs.length); i++) {
    const ref = runReference(f32.graph, inputs[i]);
    log(`      [${i}] ref ${Array.from(ref, (v) => v.toFixed(4)).join(' ')} | int8 ${Array.from(board.outputs[i], (v) => v.toFixed(4)).join(' ')}`);
  }
  const instr = board.instructions.length ? Math.round(board.instructions.reduce((a, b) => a + b, 0) / board.instructions.length) : undefined;
  const macs = wasm8.report.macs;
  log(`      float32 WASM vs reference: max abs error ${floatErr.toExponential(2)}`);
  log(`      int8 outputs bit-identical across WASM, C host and QEMU Cortex-M4F: ${identical ? 'yes' : 'NO'}`);
  if (instr) log(`      Cortex-M4F: ${instr} instructions/inference (${(instr / macs).toFixed(2)} per MAC, ${macs} MACs), flash ${board.flashBytes} B, RAM ${board.ramBytes} B`);
  log(`      outputs in ${out}/`);
  return {
    ok: identical && floatErr < 1e-4, model: wasm8.report.model, samples: inputs.length, int8BitIdentical: identical, floatMaxAbsErrorVsReference: floatErr,
    instructionsPerInference: instr, instructionsPerMac: instr ? instr / macs : undefined, flashBytes: board.flashBytes, ramBytes: board.ramBytes,
  };
}
