/** The tinyforge command line (yargs). Errors: one line on stderr, exit 2; stack traces with --verbose. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import cliProgress from 'cli-progress';
import { TinyforgeError } from './errors.js';
import { compileModel, QUANT_MODES, type CompileReport, type QuantMode } from './compile.js';
import { formatInspect, inspectModel, table } from './inspect.js';
import { openCompiled, runOn, RUN_ON, type RunOn } from './run.js';
import { readSamples } from './io/samples.js';
import { writeSafetensors } from './io/safetensors.js';
import { TARGET_NAMES, type TargetName } from '../targets/index.js';
import { runDemo } from './demo.js';

const verbose = process.argv.includes('--verbose');

function formatCompile(r: CompileReport, out: string): string {
  const lines = [
    `compiled ${r.model} (${r.modelType}) -> ${out}  [target ${r.target}, ${r.quant}]`,
    `  parameters ${r.parameters}, MACs/inference ${r.macs}, constants ${r.weightBytes} B, arena ${r.arenaBytes} B, ${r.compileMs} ms`,
  ];
  if (r.calibration) {
    const c = r.calibration;
    lines.push(`  calibration: ${c.samples} samples from ${c.file} (${c.method}${c.percentile ? ` ${c.percentile}%` : ''})`, '  per-layer quantization error vs float reference:');
    const rows = [['layer', 'rmse', 'max abs', 'relative', 'SQNR dB'], ...c.layers.map((l) => [l.layer, l.rmse.toExponential(3), l.maxAbs.toExponential(3), l.relative.toFixed(4), l.sqnrDb.toFixed(1)])];
    lines.push(...table(rows).map((s) => s.split('\n').map((x) => '    ' + x).join('\n')));
    lines.push(`  output max abs error (int8 vs float): ${c.outputMaxAbsError.toExponential(3)}`);
  }
  lines.push(`  files: ${r.files.join(', ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('tinyforge')
    .strict()
    .option('verbose', { type: 'boolean', describe: 'print stack traces on errors' })
    .command('compile <model>', 'compile a checkpoint folder (config.json + model.safetensors)', (y) => y
      .positional('model', { type: 'string', demandOption: true, describe: 'checkpoint folder' })
      .option('target', { choices: TARGET_NAMES as TargetName[], default: 'wasm' as TargetName })
      .option('quant', { choices: QUANT_MODES as QuantMode[], default: 'float32' as QuantMode })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('calib', { type: 'string', describe: 'calibration set (safetensors, [N, ...input shape])' })
      .option('calib-method', { choices: ['minmax', 'percentile'] as const, default: 'minmax' as const })
      .option('percentile', { type: 'number', default: 99.99, describe: 'share of values kept in range with --calib-method percentile' })
      .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
    async (a) => {
      const bar = !a.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'calibrating [{bar}] {value}/{total} samples', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      const { report } = await compileModel(a.model, {
        target: a.target, quant: a.quant, out: a.out, calib: a.calib, calibMethod: a['calib-method'], percentile: a.percentile,
        onCalibProgress: (done, total) => { if (!bar) return; if (!started) { bar.start(total, 0); started = true; } bar.update(done); if (done === total) bar.stop(); },
      });
      console.log(a.json ? JSON.stringify(report, null, 2) : formatCompile(report, a.out));
    })
    .command('run <compiled>', 'run a compiled model on inputs from a safetensors file', (y) => y
      .positional('compiled', { type: 'string', demandOption: true, describe: 'folder written by tinyforge compile' })
      .option('input', { type: 'string', demandOption: true, describe: 'safetensors file with the input tensor [N, ...] or [...]' })
      .option('output', { type: 'string', describe: 'safetensors file to write the outputs to' })
      .option('on', { choices: RUN_ON as RunOn[], default: 'wasm' as RunOn })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const model = openCompiled(a.compiled);
      const inputs = readSamples(a.input, model.program.input.name, model.program.input.shape);
      const r = await runOn(model, a.on, inputs);
      const outLen = r.outputs[0].length;
      const flat = new Float32Array(inputs.length * outLen);
      r.outputs.forEach((o, i) => flat.set(o, i * outLen));
      if (a.output) {
        const tensors: Parameters<typeof writeSafetensors>[1] = { [model.program.output.name]: { dtype: 'F32', shape: [inputs.length, ...model.program.output.shape], data: flat } };
        if (r.outputsQ) {
          const q = new Int8Array(inputs.length * outLen);
          r.outputsQ.forEach((o, i) => q.set(o, i * outLen));
          tensors[`${model.program.output.name}_q`] = { dtype: 'I8', shape: [inputs.length, ...model.program.output.shape], data: q };
        }
        writeSafetensors(a.output, tensors);
      }
      const instr = 'instructions' in r ? r.instructions : undefined;
      if (a.json) console.log(JSON.stringify({ on: a.on, samples: inputs.length, outputs: r.outputs.map((o) => Array.from(o)), ...(instr ? { instructions: instr } : {}) }));
      else {
        console.log(`ran ${inputs.length} sample(s) of ${model.program.name} on ${a.on}${a.output ? ` -> ${a.output}` : ''}`);
        r.outputs.slice(0, 4).forEach((o, i) => console.log(`  [${i}] ${Array.from(o.slice(0, 8), (v) => v.toPrecision(6)).join(' ')}${o.length > 8 ? ' ...' : ''}`));
        if (instr) console.log(`  instructions per inference: ${instr.join(', ')}`);
      }
    })
    .command('inspect <model>', 'show layers, parameters, MACs and size estimates', (y) => y
      .positional('model', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean' }),
    (a) => {
      const r = inspectModel(a.model);
      console.log(a.json ? JSON.stringify(r, null, 2) : formatInspect(r));
    })
    .command('demo', 'compile the bundled forward model to WASM and C, run both, run it on the emulated board', (y) => y
      .option('out', { type: 'string', default: 'out/demo' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const r = await runDemo(a.out, (line) => { if (!a.json) console.log(line); });
      if (a.json) console.log(JSON.stringify(r, null, 2));
      if (!r.ok) process.exitCode = 1;
    })
    .command('bench', 'benchmark the bundled and proof models: WASM latency, Cortex-M4F instructions, sizes', (y) => y
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { runBench, formatBench } = await import('../bench/bench.js');
      const rows = await runBench((s) => { if (!a.json) console.error(s); });
      console.log(a.json ? JSON.stringify(rows, null, 2) : formatBench(rows));
    })
    .demandCommand(1, 'name a command: compile, run, inspect, demo or bench')
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(`tinyforge: ${msg}`);
      if (verbose) console.error(y.help());
      process.exit(2);
    })
    .help()
    .parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof TinyforgeError) {
    console.error(`tinyforge: ${e.message}`);
    if (verbose) console.error(e.stack);
    process.exit(e.exitCode);
  }
  console.error(`tinyforge: internal error: ${(e as Error)?.message ?? String(e)} (rerun with --verbose and report it)`);
  if (verbose) console.error((e as Error)?.stack);
  process.exit(1);
});
