import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { openCompiled, runOn, RUN_ON, type RunOn } from '../run.js';
import { readSamples } from '../io/samples.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors.js';
import { readCsv, samplesFromCsv, writeCsv } from '../io/csv.js';
import { forecastSvg } from '../plot/svg.js';
import { fail } from '../errors.js';

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
      .option('on', { choices: RUN_ON as RunOn[], default: 'wasm' as RunOn })
      .option('plot', { type: 'string', describe: 'forecasters: draw context, forecast and truth (if known) to this SVG file' })
      .option('truth', { type: 'string', describe: 'the true future for --plot (CSV or safetensors with future_values)' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const model = openCompiled(a.compiled);
      const { input, output } = model.program;
      const inputs = isCsv(a.input) ? samplesFromCsv(a.input, input.shape) : readSamples(a.input, input.name, input.shape);
      const r = await runOn(model, a.on, inputs);
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
        writeFileSync(a.plot, forecastSvg(inputs[0], input.shape[1], r.outputs[0], truth, `${model.program.name} on ${a.on}`));
      }
      const instr = 'instructions' in r ? r.instructions : undefined;
      if (a.json) console.log(JSON.stringify({ on: a.on, samples: inputs.length, outputs: r.outputs.map((o) => Array.from(o)), ...(instr ? { instructions: instr } : {}) }));
      else {
        console.log(`ran ${inputs.length} sample(s) of ${model.program.name} on ${a.on}${a.output ? ` -> ${a.output}` : ''}${a.plot ? `, plot -> ${a.plot}` : ''}`);
        r.outputs.slice(0, 4).forEach((o, i) => console.log(`  [${i}] ${Array.from(o.slice(0, 8), (v) => v.toPrecision(6)).join(' ')}${o.length > 8 ? ' ...' : ''}`));
        if (instr) console.log(`  instructions per inference: ${instr.join(', ')}`);
      }
    });
}
