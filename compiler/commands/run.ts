import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { openCompiled, runOn, RUN_ON, type RunOn } from '../run.js';
import { readSamples } from '../io/samples.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors.js';
import { readCsv, samplesFromCsv, writeCsv } from '../io/csv.js';
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
      .option('input', { type: 'string', demandOption: true, describe: 'safetensors ([N, ...] or [...]) or CSV (time x channels, or one sample per row)' })
      .option('output', { type: 'string', describe: 'file to write the outputs to (.safetensors or .csv)' })
      .option('on', { choices: RUN_ON as RunOn[], describe: 'where to run (default: wasm; c-host for MatFormer models)' })
      .option('plot', { type: 'string', describe: 'forecasters: draw context, forecast and truth (if known) to this SVG file' })
      .option('truth', { type: 'string', describe: 'the true future for --plot (CSV or safetensors with future_values)' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const model = openCompiled(a.compiled);
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
  if (a.on === 'wasm') fail(`--on wasm does not run MatFormer models yet (embedding, attention and RoPE have no WASM kernels); use --on c-host, qemu or reference`);
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
