import type { Argv } from 'yargs';
import { formatInspect, inspectModel } from '../inspect.js';

/** `tinyforge inspect <model>` */
export function register(y: Argv): Argv {
  return y
    .command('inspect <model>', 'show layers, parameters, MACs and size estimates', (y) => y
      .positional('model', { type: 'string', demandOption: true })
      .option('submodels', { type: 'boolean', describe: 'MatFormer: size and MACs of each uniform FFN granularity' })
      .option('sequence-length', { type: 'number', describe: 'MatFormer: tokens per sequence (default: the model maximum)' })
      .option('json', { type: 'boolean' }),
    (a) => {
      const r = inspectModel(a.model, { submodels: a.submodels, sequenceLength: a['sequence-length'] });
      console.log(a.json ? JSON.stringify(r, null, 2) : formatInspect(r));
    });
}
