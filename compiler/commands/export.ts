import type { Argv } from 'yargs';
import { exportModel, type ExportReport } from '../export/onnx.js';

function formatExport(r: ExportReport): string {
  return [
    `exported ${r.model} -> ${r.out}  [ONNX opset ${r.opset}, float32, ${r.bytes} B, ${r.nodes} nodes, ${r.exportMs} ms]`,
    `  FFN widths [${r.widths.join(', ')}]${r.submodel ? ` (sub-model ${r.submodel.request}${r.submodel.request !== r.submodel.spec ? ` -> ${r.submodel.spec}` : ''})` : ''}`,
    `  inputs ${r.inputs.map((v) => `${v.name} int64 [${v.shape.join(', ')}]`).join(', ')}`,
    `  outputs ${r.outputs.map((v) => `${v.name} float32 [${v.shape.join(', ')}]`).join(', ')}`,
  ].join('\n');
}

/** `tinyforge export <model> --format onnx --out model.onnx [--submodel SPEC] [--sequence-length N]` */
export function register(y: Argv): Argv {
  return y.command('export <model>', 'export a MatFormer BERT checkpoint (or one of its sub-models) as a float32 ONNX model', (y) => y
    .positional('model', { type: 'string', demandOption: true, describe: 'checkpoint folder' })
    .option('format', { choices: ['onnx'] as const, default: 'onnx' as const })
    .option('out', { type: 'string', demandOption: true, describe: 'output file (model.onnx)' })
    .option('submodel', { type: 'string', describe: 'MatFormer: uniform:M, mix:M1,M2,... (one FFN width per layer) or budget:flash=SIZE,ram=SIZE[,macs=N]' })
    .option('sequence-length', { type: 'number', describe: 'tokens per sequence (default: the model maximum)' })
    .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
  async (a) => {
    const r = await exportModel(a.model, { format: a.format, out: a.out, submodel: a.submodel, sequenceLength: a['sequence-length'] });
    console.log(a.json ? JSON.stringify(r, null, 2) : formatExport(r));
  });
}
