import type { Argv } from 'yargs';
import { formatInspect, inspectModel } from '../inspect.js';

/** `tinyforge inspect <model>` */
export function register(y: Argv): Argv {
  return y
    .command('inspect <model>', 'show layers, parameters, MACs and size estimates', (y) => y
      .positional('model', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean' }),
    (a) => {
      const r = inspectModel(a.model);
      console.log(a.json ? JSON.stringify(r, null, 2) : formatInspect(r));
    });
}
