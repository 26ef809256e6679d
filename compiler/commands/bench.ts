import type { Argv } from 'yargs';

/** `tinyforge bench`: the benchmark of `npm run bench`. */
export function register(y: Argv): Argv {
  return y
    .command('bench', 'benchmark the bundled and proof models: WASM latency, Cortex-M4F instructions, sizes', (y) => y
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { runBench, formatBench } = await import('../../bench/bench.js');
      const rows = await runBench((s) => { if (!a.json) console.error(s); });
      console.log(a.json ? JSON.stringify(rows, null, 2) : formatBench(rows));
    });
}
