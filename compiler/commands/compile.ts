import type { Argv } from 'yargs';
import cliProgress from 'cli-progress';
import { compileModel, parseByteSize, QUANT_MODES, type CompileReport, type QuantMode } from '../compile.js';
import { table } from '../inspect.js';
import { TARGET_NAMES, type TargetName } from '../../targets/index.js';

function formatCompile(r: CompileReport, out: string): string {
  const lines = [
    `compiled ${r.model} (${r.modelType}) -> ${out}  [target ${r.target}, ${r.quant}]`,
    `  parameters ${r.parameters}, MACs/inference ${r.macs}, constants ${r.weightBytes} B, arena ${r.arenaBytes} B, ${r.compileMs} ms`,
  ];
  const m = r.matformer;
  if (m) {
    const s = m.submodel;
    if (s) {
      lines.push(`  sub-model ${s.request}${s.request !== s.spec ? ` -> ${s.spec}` : ''}: FFN widths [${s.widths.join(', ')}] (granularities ${m.granularities.join(', ')})${s.candidates !== undefined ? `, best of ${s.candidates} compared` : ''}`);
      lines.push(`  predicted int8: flash ${s.predictedFlashBytes} B (constants), RAM ${s.predictedRamBytes} B (arena); ${s.parameters} parameters, ${s.macs} MACs`);
    } else {
      lines.push(`  MatFormer: full model, FFN widths [${m.widths.join(', ')}] (granularities ${m.granularities.join(', ')}; pick one with --submodel)`);
    }
    lines.push(`  inputs ${m.packing.inputNames.join(', ')} [${m.packing.tokens}] -> outputs ${m.packing.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`);
  }
  if (r.tflite) {
    const io = (x: { name: string; shape: number[]; dtype: string }) => `${x.name} [${x.shape.join(', ')}] ${x.dtype}`;
    lines.push(`  TensorFlow Lite: ${r.tflite.inputs.map(io).join(', ')} -> ${r.tflite.outputs.map(io).join(', ')} (run takes and writes these dtypes in CSV)`);
  }
  if (r.ram) lines.push(`  RAM: arena ${r.ram.arenaBytes} B + stack ${r.ram.stackBytes} B = ${r.ram.totalBytes} B, within --ram ${r.ram.budgetBytes} B`);
  if (r.calibration) {
    const c = r.calibration;
    lines.push(`  calibration: ${c.samples} samples from ${c.file} (${c.method}${c.percentile ? ` ${c.percentile}%` : ''})`, '  per-layer quantization error vs float reference:');
    const rows = [['layer', 'rmse', 'max abs', 'relative', 'SQNR dB'], ...c.layers.map((l) => [l.layer, l.rmse.toExponential(3), l.maxAbs.toExponential(3), l.relative.toFixed(4), l.sqnrDb.toFixed(1)])];
    lines.push(...table(rows).map((s) => s.split('\n').map((x) => '    ' + x).join('\n')));
    lines.push(`  output max abs error (int8 vs float): ${c.outputMaxAbsError.toExponential(3)}`);
  }
  if (r.forecast) {
    const f = r.forecast;
    lines.push(`  forecast MSE vs the true future (${f.samples} series): float ${f.mseFloat.toExponential(4)}, ${r.quant} ${f.mseCompiled.toExponential(4)}, ratio ${f.ratio.toFixed(4)}`);
  }
  lines.push(`  files: ${r.files.join(', ')}`);
  return lines.join('\n');
}

/** `tinyforge compile <model> --target --quant --out [--calib]` */
export function register(y: Argv): Argv {
  return y
    .command('compile <model>', 'compile a checkpoint folder (config.json + model.safetensors) or a .tflite file', (y) => y
      .positional('model', { type: 'string', demandOption: true, describe: 'checkpoint folder or .tflite file' })
      .option('target', { choices: TARGET_NAMES as TargetName[], default: 'wasm' as TargetName })
      .option('quant', { choices: QUANT_MODES as QuantMode[], describe: 'default float32; .tflite files keep their own quantization' })
      .option('ram', { type: 'string', describe: 'RAM budget for --target c|cortex-m4f, bytes or with k (1024) suffix, e.g. 96k: a model that does not fit is an error' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('calib', { type: 'string', describe: 'calibration set (safetensors, [N, ...input shape])' })
      .option('calib-method', { choices: ['minmax', 'percentile'] as const, default: 'minmax' as const })
      .option('percentile', { type: 'number', default: 99.99, describe: 'share of values kept in range with --calib-method percentile' })
      .option('submodel', { type: 'string', describe: 'MatFormer: uniform:M, mix:M1,M2,... (one FFN width per layer) or budget:flash=SIZE,ram=SIZE[,macs=N]' })
      .option('sequence-length', { type: 'number', describe: 'MatFormer: tokens per sequence (default: the calibration file\'s, else the model maximum)' })
      .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
    async (a) => {
      const bar = !a.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'calibrating [{bar}] {value}/{total} samples', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      const { report } = await compileModel(a.model, {
        target: a.target, quant: a.quant, out: a.out, ...(a.ram !== undefined ? { ramBytes: parseByteSize(a.ram) } : {}), calib: a.calib, calibMethod: a['calib-method'], percentile: a.percentile,
        submodel: a.submodel, sequenceLength: a['sequence-length'],
        onCalibProgress: (done, total) => { if (!bar) return; if (!started) { bar.start(total, 0); started = true; } bar.update(done); if (done === total) bar.stop(); },
      });
      console.log(a.json ? JSON.stringify(report, null, 2) : formatCompile(report, a.out));
    });
}
