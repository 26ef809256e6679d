import type { Argv } from 'yargs';
import { runDemo } from '../demo.js';

/** `tinyforge demo`: the main job on the bundled example. */
export function register(y: Argv): Argv {
  return y
    .command('demo', 'compile the bundled forward model to WASM and C, run both, run it on the emulated board', (y) => y
      .option('out', { type: 'string', default: 'out/demo' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const r = await runDemo(a.out, (line) => { if (!a.json) console.log(line); });
      if (a.json) console.log(JSON.stringify(r, null, 2));
      if (!r.ok) process.exitCode = 1;
    });
}
