import type { Argv } from 'yargs';

/** `tinyforge bench [--only dense,ttm,mpc,flash]`: the benchmark of `npm run bench`. */
export function register(y: Argv): Argv {
  return y
    .command('bench', 'benchmark: dense and TTM models (WASM latency, Cortex-M4F instructions, sizes), MPC rates, flash throughput', (y) => y
      .option('only', { type: 'string', describe: 'comma-separated sections: dense, ttm, tflm, tflite-wasm, mpc, flash (default: all of these), matformer' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { runSuite, SECTIONS } = await import('../../bench/suite.js');
      const only = (a.only ? a.only.split(',') : [...SECTIONS]) as Parameters<typeof runSuite>[0];
      const r = await runSuite(only, (s) => { if (!a.json) console.error(s); });
      console.log(a.json ? JSON.stringify(r.sections, null, 2) : r.markdown);
    });
}
