import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { openCompiled, runOn, runTfliteInts, RUN_ON, type RunOn } from '../run.js';
import { readSamples } from '../io/samples.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors.js';
import { lineEndingOf, readCsv, readFlatCsv, samplesFromCsv, writeCsv, writeFlatCsv } from '../io/csv.js';
import { isQuantizedProgram } from '../plan/lower-quantized.js';
import { forecastSvg } from '../plot/svg.js';
import { fail } from '../errors.js';
import { hfOutputs, readHfInputs } from '../passes/matformer.js';
import type { CompiledModel } from '../run.js';

const isCsv = (f: string) => /\.csv$/i.test(f);

/** The true continuation for --plot: a CSV ([horizon, channels]) or a safetensors tensor `future_values`. */
function readTruth(file: string, outShape: number[]): Float32Array | undefined {
  if (isCsv(file)) return Float32Array.from(readCsv(file).rows.slice(0, outShape[0]).flat());
  const t = readSafetensors(file).tensors.get('future_values');
  return t ? toFloat32(t, 'future_values', file).slice(0, outShape[0] * outShape[1]) : undefined;
}

/** `tinyforge run <compiled-dir> --input in.safetensors|in.csv [--output out.safetensors|out.csv] [--on ...] [--plot f.svg]` */
export function register(y: Argv): Argv {
  return y
    .command('run <compiled>', 'run a compiled model on inputs from a safetensors or CSV file', (y) => y
      .positional('compiled', { type: 'string', demandOption: true, describe: 'folder written by tinyforge compile' })
      .option('input', { type: 'string', demandOption: true, describe: 'safetensors ([N, ...] or [...]) or CSV (time x channels, or one sample per row); .tflite models: flattened CSV in the input\'s own dtype (repeat --input for several graph inputs). Samples run in order through one model instance: stateful TFLite models (SVDF, LSTM) carry their state from one to the next, as TFLite Micro does' })
      .option('output', { type: 'string', describe: 'file to write the outputs to (.safetensors or .csv)' })
      .option('on', { choices: RUN_ON as RunOn[], describe: 'where to run (default: wasm; c-host for MatFormer models)' })
      .option('plot', { type: 'string', describe: 'forecasters: draw context, forecast and truth (if known) to this SVG file' })
      .option('truth', { type: 'string', describe: 'the true future for --plot (CSV or safetensors with future_values)' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const model = openCompiled(a.compiled);
      const files = ([] as string[]).concat(a.input as string | string[]);
      if (isQuantizedProgram(model.program) && files.some(isCsv)) return runTfliteCsv(model, files, { ...a, on: a.on ?? 'wasm' });
      if (files.length > 1) fail(`--input given ${files.length} times; only .tflite models with several inputs take one CSV per input`);
      a.input = files[0];
      if (model.manifest.matformer) return runMatformer(model, { ...a, on: a.on ?? 'c-host' });
      const on: RunOn = a.on ?? 'wasm';
      const { input, output } = model.program;
      const inputs = isCsv(a.input) ? samplesFromCsv(a.input, input.shape) : readSamples(a.input, input.name, input.shape);
      const r = await runOn(model, on, inputs);
      const outLen = r.outputs[0].length;
      if (a.output && isCsv(a.output)) {
        // one sample: its output as rows (e.g. [horizon, channels]); several: one flattened row each
        const rows = inputs.length === 1 && output.shape.length === 2
          ? Array.from({ length: output.shape[0] }, (_, t) => r.outputs[0].subarray(t * output.shape[1], (t + 1) * output.shape[1]))
          : r.outputs;
        writeCsv(a.output, rows);
      } else if (a.output) {
        const flat = new Float32Array(inputs.length * outLen);
        r.outputs.forEach((o, i) => flat.set(o, i * outLen));
        const tensors: Parameters<typeof writeSafetensors>[1] = { [output.name]: { dtype: 'F32', shape: [inputs.length, ...output.shape], data: flat } };
        if (r.outputsQ) {
          const q = new Int8Array(inputs.length * outLen);
          r.outputsQ.forEach((o, i) => q.set(o, i * outLen));
          tensors[`${output.name}_q`] = { dtype: 'I8', shape: [inputs.length, ...output.shape], data: q };
        }
        writeSafetensors(a.output, tensors);
      }
      if (a.plot) {
        if (input.shape.length !== 2 || output.shape.length !== 2) fail(`--plot draws forecasts of [time, channels] models; ${model.program.name} takes [${input.shape}]`);
        const truth = a.truth ? readTruth(a.truth, output.shape) : isCsv(a.input) ? undefined : readTruth(a.input, output.shape);
        writeFileSync(a.plot, forecastSvg(inputs[0], input.shape[1], r.outputs[0], truth, `${model.program.name} on ${on}`));
      }
      const instr = 'instructions' in r ? r.instructions : undefined;
      if (a.json) console.log(JSON.stringify({ on, samples: inputs.length, outputs: r.outputs.map((o) => Array.from(o)), ...(instr ? { instructions: instr } : {}) }));
      else {
        console.log(`ran ${inputs.length} sample(s) of ${model.program.name} on ${on}${a.output ? ` -> ${a.output}` : ''}${a.plot ? `, plot -> ${a.plot}` : ''}`);
        r.outputs.slice(0, 4).forEach((o, i) => console.log(`  [${i}] ${Array.from(o.slice(0, 8), (v) => v.toPrecision(6)).join(' ')}${o.length > 8 ? ' ...' : ''}`));
        if (instr) console.log(`  instructions per inference: ${instr.join(', ')}`);
      }
    });
}

/**
 * MatFormer folders: inputs by their HF names (input_ids, token_type_ids, attention_mask; [N, T] or [T]),
 * outputs by theirs (last_hidden_state, pooler_output; logits), via the packing tinyforge.json records.
 */
async function runMatformer(model: CompiledModel, a: { input: string; output?: string; on: RunOn; plot?: string; json?: boolean }): Promise<void> {
  const p = model.manifest.matformer!.packing;
  if (a.plot) fail(`--plot draws forecasts; ${model.program.name} is a MatFormer ${model.manifest.matformer!.family === 'olmo' ? 'decoder' : 'encoder'}`);
  if (isCsv(a.input)) fail(`${a.input}: MatFormer models take a safetensors file with ${p.inputNames.join(', ')} as [N, ${p.tokens}] (I32/I64 ids); CSV is not supported`);
  if (a.output && isCsv(a.output)) fail(`${a.output}: MatFormer outputs (${p.outputs.map((o) => o.name).join(', ')}) are written as safetensors; use a .safetensors file`);
  const { samples, tokens, defaulted } = readHfInputs(a.input, p);
  const r = await runOn(model, a.on, samples);
  const outs = hfOutputs(p, r.outputs, tokens);
  if (a.output) writeSafetensors(a.output, Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: v.data }])));
  const instr = 'instructions' in r ? r.instructions : undefined;
  if (a.json) {
    console.log(JSON.stringify({ on: a.on, samples: samples.length, tokens, compiledTokens: p.tokens, defaulted, outputs: Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }])), ...(instr ? { instructions: instr } : {}) }));
    return;
  }
  console.log(`ran ${samples.length} sample(s) x ${tokens} tokens of ${model.program.name} on ${a.on}${tokens < p.tokens ? ` (padded to ${p.tokens} with attention_mask 0)` : ''}${a.output ? ` -> ${a.output}` : ''}`);
  if (defaulted.length) console.log(`  ${defaulted.map((n) => `${n} not in the file: ${n === 'attention_mask' ? 'all ones' : 'all zeros'}`).join('; ')}`);
  for (const [name, v] of Object.entries(outs)) {
    console.log(`  ${name} [${v.shape.join(', ')}]: ${Array.from(v.data.slice(0, 6), (x) => x.toPrecision(6)).join(' ')}${v.data.length > 6 ? ' ...' : ''}`);
  }
  if (instr) console.log(`  instructions per inference: ${instr.join(', ')}${` (${Math.round(instr[0] / p.tokens)} per token)`}`);
}

/**
 * TFLite folders with CSV input: flattened values in each graph input's own dtype (TFLM's `*_input0_int16.csv`),
 * reshaped to the input's shape (a single-input file may hold several samples back to back); the output is
 * written flattened in the file's output dtype, one line per sample, so it compares with `*_golden_int16.csv`.
 */
async function runTfliteCsv(model: CompiledModel, files: string[], a: { output?: string; on: RunOn; plot?: string; json?: boolean }): Promise<void> {
  if (!isQuantizedProgram(model.program)) return;
  const p = model.program;
  if (a.plot) fail(`--plot draws forecasts of [time, channels] models; ${p.name} is a TensorFlow Lite model`);
  if (a.output && !isCsv(a.output)) fail(`${a.output}: TensorFlow Lite models with CSV input write CSV (the output's own ${p.outputs[0].dtype} values); use a .csv file`);
  if (!files.every(isCsv)) fail(`${files.find((f) => !isCsv(f))}: give every input of a TensorFlow Lite model as CSV`);
  if (files.length > p.inputs.length) fail(`${p.name} has ${p.inputs.length} input(s) (${p.inputs.map((io) => io.name).join(', ')}), got ${files.length} --input files`);
  const n = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  let samples: number[][][];
  const vals = files.map((f, k) => readFlatCsv(f, p.inputs[k].dtype));
  const desc = (k: number) => `input '${p.inputs[k].name}' is [${p.inputs[k].shape.join(', ')}] ${p.inputs[k].dtype} (${n(p.inputs[k].shape)} values)`;
  if (p.inputs.length === 1) {
    const per = n(p.inputs[0].shape);
    if (vals[0].length % per !== 0) fail(`${files[0]}: ${desc(0)}, the file has ${vals[0].length}${vals[0].length > per ? ' (not a multiple)' : ''}`);
    samples = Array.from({ length: vals[0].length / per }, (_, s) => [vals[0].slice(s * per, (s + 1) * per)]);
  } else {
    vals.forEach((v, k) => { if (v.length !== n(p.inputs[k].shape)) fail(`${files[k]}: ${desc(k)}, the file has ${v.length}`); });
    // inputs not given are zeros (TFLM's zero-initialized tensors)
    samples = [p.inputs.map((io, k) => vals[k] ?? new Array<number>(n(io.shape)).fill(0))];
  }
  const r = await runTfliteInts(model, a.on, samples);
  if (a.output) writeFlatCsv(a.output, r.outputs, lineEndingOf(files[0])); // same line endings as the input file
  const o = p.outputs[0];
  if (a.json) {
    console.log(JSON.stringify({ on: a.on, samples: samples.length, dtype: o.dtype, shape: o.shape, via: r.via, outputs: r.outputs, ...(r.instructions ? { instructions: r.instructions } : {}) }));
    return;
  }
  console.log(`ran ${samples.length} sample(s) of ${p.name} on ${a.on} (${r.via}, ${o.dtype} [${o.shape.join(', ')}] out)${a.output ? ` -> ${a.output}` : ''}`);
  r.outputs.slice(0, 4).forEach((v, i) => console.log(`  [${i}] ${v.slice(0, 12).join(' ')}${v.length > 12 ? ' ...' : ''}`));
  if (r.instructions?.length) console.log(`  instructions per inference: ${r.instructions.join(', ')}`);
}
