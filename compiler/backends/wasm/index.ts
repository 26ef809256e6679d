/**
 * WASM backend: links the prebuilt SIMD kernels (build/kernels.wasm) with one model into a single self-contained
 * module: weights as data segments, IO buffers and the arena at fixed addresses, `run()` / `run_int8()` calling
 * the kernels with constant addresses, and a `tinyforge` custom section with JSON metadata (runtime/index.ts reads it).
 *
 * Linear memory: [kernel static data][input f32][output f32][arena][kernel scratch][constants, 16-byte aligned],
 * each region 16-byte aligned with 32 bytes of zeroed slack after the IO and arena regions (the int8/int4 kernels
 * read input rows in whole 16/32-byte blocks).
 */
import binaryen from 'binaryen';
import { fail } from '../../errors.js';
import { emitAffineS8Wasm, emitAffineWasm } from '../../ops/batch-norm/wasm.js';
import { emitDenseF32Wasm, emitDenseS4Wasm, emitDenseS8Wasm } from '../../ops/dense/wasm.js';
import { emitAddS8Wasm, emitBinaryWasm, emitMulS8Wasm } from '../../ops/elementwise/wasm.js';
import { emitLayerNormS8Wasm, emitLayerNormWasm } from '../../ops/layer-norm/wasm.js';
import { emitPatchifyWasm } from '../../ops/patchify/wasm.js';
import { emitDequantizeWasm, emitQuantizeWasm } from '../../ops/quantize/wasm.js';
import { emitCopyWasm, emitGatherWasm } from '../../ops/reshape/wasm.js';
import { emitScaleSeriesWasm, emitUnscaleSeriesWasm } from '../../ops/scaler/wasm.js';
import { emitSoftmaxS8Wasm, emitSoftmaxWasm, softmaxS8ScratchBytes, softmaxScratchBytes } from '../../ops/softmax/wasm.js';
import { emitTransposeWasm } from '../../ops/transpose/wasm.js';
import { elementCount, inferenceSteps, isStateful, resetSteps, type BufferRef, type IOSpec, type Program, type Step } from '../../plan/program.js';
import type { TinyforgeWasmMetadata, TinyforgeTensorMeta } from '../../../runtime/index.js';
import { elementBytes, type Expr, type WasmEmitContext } from './context.js';
import { kernelsWasm } from './kernels.js';
import { emitSequenceStepWasm, linkDecoder, planSequence, sequenceScratchBytes, type SequencePacking } from './sequence.js';
import { emitTfliteFloatStepWasm, emitTfliteStepWasm, isTfliteProgram, tfliteIntEntry, tfliteScratchBytes } from './tflite.js';

export type { TinyforgeWasmMetadata } from '../../../runtime/index.js';
export const WASM_METADATA_SECTION = 'tinyforge';

const FEATURES = binaryen.Features.SIMD128 | binaryen.Features.SignExt | binaryen.Features.MutableGlobals
  | binaryen.Features.NontrappingFPToInt | binaryen.Features.BulkMemory;
const PAGE = 65536;
const SLACK = 32;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

function emitStep(step: Step, ctx: WasmEmitContext): Expr {
  switch (step.op) {
    case 'dense_s8': return emitDenseS8Wasm(step, ctx);
    case 'dense_s4': return emitDenseS4Wasm(step, ctx);
    case 'dense_f32': return emitDenseF32Wasm(step, ctx);
    case 'layer_norm_s8': return emitLayerNormS8Wasm(step, ctx);
    case 'softmax_s8': return emitSoftmaxS8Wasm(step, ctx);
    case 'add_s8': return emitAddS8Wasm(step, ctx);
    case 'mul_s8': return emitMulS8Wasm(step, ctx);
    case 'affine_s8': return emitAffineS8Wasm(step, ctx);
    case 'quantize': return emitQuantizeWasm(step, ctx);
    case 'dequantize': return emitDequantizeWasm(step, ctx);
    case 'layer_norm_f32': return emitLayerNormWasm(step, ctx);
    case 'affine_f32': return emitAffineWasm(step, ctx);
    case 'softmax_f32': return emitSoftmaxWasm(step, ctx);
    case 'add_f32': case 'mul_f32': return emitBinaryWasm(step, ctx);
    case 'transpose': return emitTransposeWasm(step, ctx);
    case 'gather': return emitGatherWasm(step, ctx);
    case 'copy': return emitCopyWasm(step, ctx);
    case 'patchify_f32': return emitPatchifyWasm(step, ctx);
    case 'scale_series_f32': return emitScaleSeriesWasm(step, ctx);
    case 'unscale_series_f32': return emitUnscaleSeriesWasm(step, ctx);
    case 'embedding_f32': case 'embedding_q8': case 'rope_f32': case 'rope_s8': case 'attention_f32': case 'attention_s8':
    case 'slice_rows': case 'concat_rows': return emitSequenceStepWasm(step, ctx)!;
    default: return emitTfliteStepWasm(step, ctx) ?? fail(`program step '${(step as Step).name}': op '${(step as Step).op}' has no WASM emitter`);
  }
}

/** Bytes of the shared scratch region a step's kernel needs while it runs (sized before emission). */
export function wasmScratchBytes(step: Step): number {
  if (step.op === 'softmax_f32') return softmaxScratchBytes(step);
  if (step.op === 'softmax_s8') return softmaxS8ScratchBytes(step);
  if (step.op === 'attention_f32' || step.op === 'attention_s8') return sequenceScratchBytes(step);
  return tfliteScratchBytes(step);
}

/** The steps run_int8 executes: everything except the float boundary (quantize from input, dequantize to output). */
export function int8Steps(program: Program): Step[] {
  return program.steps.filter((s) => !(s.op === 'quantize' && s.in.space === 'input') && !(s.op === 'dequantize' && s.out.space === 'output'));
}

interface Segment { offset: number; data: Uint8Array }

export interface EmitWasmOptions {
  /** also export each step as `step<i>` (profiling: time steps one by one after a run()) */
  exportSteps?: boolean;
  /** MatFormer programs: the packing (compiler/passes/matformer.ts) naming the packed input rows and output parts;
   *  without it they are read off the program (slice steps `inputs.<name>`, the output concat) */
  packing?: SequencePacking;
}

export async function emitWasm(program: Program, options: EmitWasmOptions = {}): Promise<Uint8Array> {
  const kernels = await kernelsWasm();
  const mod = binaryen.readBinary(kernels);
  try {
    mod.setFeatures(FEATURES);
    return link(mod, program, options);
  } finally {
    mod.dispose();
  }
}

function link(mod: binaryen.Module, program: Program, options: EmitWasmOptions): Uint8Array {
  // Kernel exports -> internal names; then drop them so unused kernels are optimized away.
  const kernelFn = new Map<string, string>();
  for (let i = mod.getNumExports() - 1; i >= 0; i--) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (e.kind === binaryen.ExternalFunction) kernelFn.set(e.name, e.value);
    mod.removeExport(e.name);
  }

  const segments: Segment[] = [];
  let end = 0;
  const getInfo = (mod as unknown as { getDataSegmentInfo(ref: number): { offset: number | null; data: ArrayBuffer; passive: boolean } }).getDataSegmentInfo;
  for (let i = 0; i < (mod as unknown as { getNumDataSegments(): number }).getNumDataSegments(); i++) {
    const info = getInfo.call(mod, mod.getDataSegmentByIndex(i));
    if (info.passive || info.offset === null) fail('build/kernels.wasm has a passive data segment; rebuild the kernels with npm run build');
    segments.push({ offset: info.offset, data: new Uint8Array(info.data) });
    end = Math.max(end, info.offset + info.data.byteLength);
  }

  const inLen = elementCount(program.input.shape), outLen = elementCount(program.output.shape);
  const base: Record<BufferRef['space'], number> = { input: 0, output: 0, arena: 0 };
  let at = align(Math.max(end, 1024), 64);
  base.input = at; at = align(at + inLen * 4 + SLACK, 16);
  base.output = at; at = align(at + outLen * 4 + SLACK, 16);
  base.arena = at; at = align(at + program.arenaBytes + SLACK, 16);
  // kernel scratch (e.g. softmax's row of f64 exponentials): one region, reused by every step
  const scratchBytes = program.steps.reduce((m, s) => Math.max(m, wasmScratchBytes(s)), 0);
  const scratchBase = at;
  at = align(at + scratchBytes, 16);
  // sequence models: the decoder step's KV cache (compiler/backends/wasm/sequence.ts)
  const seq = planSequence(program, options.packing);
  const cacheBase = at;
  at = align(at + (seq?.decoder?.cacheBytes ?? 0), 16);
  const ioEnd = at;
  const spaceBytes = { input: inLen * 4, output: outLen * 4, arena: program.arenaBytes };

  const addr = (ref: BufferRef): number => {
    const bytes = ref.length * elementBytes(ref);
    if (ref.offset < 0 || ref.offset + bytes > spaceBytes[ref.space]) {
      fail(`program ${program.name}: buffer at ${ref.space}+${ref.offset} (${bytes} bytes) lies outside its ${spaceBytes[ref.space]}-byte space; the program file is corrupt`);
    }
    return base[ref.space] + ref.offset;
  };

  const ctx: WasmEmitContext = {
    addr,
    data(bytes) {
      const offset = at;
      segments.push({ offset, data: bytes.slice() });
      at = align(at + bytes.byteLength, 16);
      return offset;
    },
    scratch(bytes) {
      if (bytes > scratchBytes) fail(`internal error: a step asks for ${bytes} scratch bytes but ${scratchBytes} were reserved (wasmScratchBytes)`);
      return scratchBase;
    },
    i32: (v) => mod.i32.const(v | 0),
    f32: (v) => mod.f32.const(Math.fround(v)),
    f64: (v) => mod.f64.const(v),
    nop: () => mod.nop(),
    block: (exprs) => (exprs.length ? mod.block(null, exprs, binaryen.none) : mod.nop()),
    call(kernel, args) {
      const fn = kernelFn.get(kernel);
      if (!fn) fail(`build/kernels.wasm has no kernel '${kernel}'; rebuild with npm run build`);
      return mod.call(fn, args, binaryen.none);
    },
  };

  // One function per step, emitted once (constants placed once); run/run_int8 call them and binaryen inlines.
  const stepFn = new Map<Step, string>();
  const tflite = isTfliteProgram(program); // float steps in the TFLite oracle's own arithmetic (tflite.ts)
  program.steps.forEach((step, i) => {
    const fn = `step${i}_${step.op}`;
    mod.addFunction(fn, binaryen.none, binaryen.none, [], (tflite ? emitTfliteFloatStepWasm(step, ctx) : null) ?? emitStep(step, ctx));
    stepFn.set(step, fn);
    if (options.exportSteps) mod.addFunctionExport(fn, `step${i}`);
  });
  const body = (steps: Step[]) => steps.length ? mod.block(null, steps.map((s) => mod.call(stepFn.get(s)!, [], binaryen.none)), binaryen.none) : mod.nop();
  mod.addFunction('run', binaryen.none, binaryen.none, [], body(inferenceSteps(program.steps)));
  mod.addFunctionExport('run', 'run');
  const isInt8 = program.quant === 'int8' && !!program.int8Input && !!program.int8Output;
  if (isInt8) {
    mod.addFunction('run_int8', binaryen.none, binaryen.none, [], body(inferenceSteps(int8Steps(program))));
    mod.addFunctionExport('run_int8', 'run_int8');
  }
  // persistent state (plan/program.ts): initialized when the instance starts, and by the `reset` export
  const stateful = isStateful(program);
  if (stateful) {
    const reset = mod.addFunction('reset', binaryen.none, binaryen.none, [], body(resetSteps(program.steps)));
    mod.addFunctionExport('reset', 'reset');
    mod.setStart(reset);
  }
  // TFLite imports: `run_int` runs the steps between the integer input and output tensors (tflite.ts)
  const intEntry = tfliteIntEntry(program, addr);
  if (intEntry) {
    mod.addFunction('run_int', binaryen.none, binaryen.none, [], body(intEntry.steps));
    mod.addFunctionExport('run_int', 'run_int');
  }

  const decode = seq?.decoder ? linkDecoder(mod, program, seq, ctx, cacheBase, segments, emitStep) : undefined;

  const globals: Record<string, number> = { input_ptr: base.input, output_ptr: base.output };
  if (isInt8) { globals.int8_input_ptr = addr(program.int8Input!); globals.int8_output_ptr = addr(program.int8Output!); }
  if (intEntry) Object.assign(globals, intEntry.globals);
  for (const [name, value] of Object.entries(globals)) {
    mod.addGlobal(name, binaryen.i32, false, mod.i32.const(value));
    mod.addGlobalExport(name, name);
  }

  const tensor = (io: IOSpec, address: number, int8?: BufferRef): TinyforgeTensorMeta => ({
    name: io.name, shape: [...io.shape], dtype: io.dtype, ...(io.quant ? { quant: { ...io.quant } } : {}),
    address, ...(isInt8 && int8 ? { int8Address: addr(int8) } : {}),
  });
  const memoryBytes = at + SLACK;
  const meta: TinyforgeWasmMetadata = {
    format: 'tinyforge-wasm/1',
    name: program.name,
    quant: program.quant,
    inputs: [tensor(program.input, base.input, program.int8Input)],
    outputs: [tensor(program.output, base.output, program.int8Output)],
    arena: { address: base.arena, bytes: program.arenaBytes },
    constants: { address: ioEnd, bytes: at - ioEnd },
    memoryBytes,
    functions: { run: 'run', ...(isInt8 ? { runInt8: 'run_int8' } : {}), ...(stateful ? { reset: 'reset' } : {}) },
    ...(seq ? { sequence: { ...seq.meta, ...(decode ? { decode } : {}) } } : {}),
  };

  const pages = Math.max(1, Math.ceil(memoryBytes / PAGE));
  mod.setMemory(pages, pages, 'memory', segments.map((s) => ({ offset: mod.i32.const(s.offset), data: s.data, passive: false })));
  mod.addCustomSection(WASM_METADATA_SECTION, new TextEncoder().encode(JSON.stringify(meta)));

  if (!mod.validate()) fail(`internal error: the linked WASM module for ${program.name} does not validate`);
  binaryen.setOptimizeLevel(3);
  binaryen.setShrinkLevel(1);
  mod.optimize();
  if (!mod.validate()) fail(`internal error: the optimized WASM module for ${program.name} does not validate`);
  return mod.emitBinary();
}
