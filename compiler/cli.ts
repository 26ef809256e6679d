/**
 * The tinyforge command line (yargs). Each command lives in compiler/commands/<name>.ts.
 * Errors: one line on stderr, exit 2; stack traces with --verbose.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { TinyforgeError } from './errors.js';
import { register as compile } from './commands/compile.js';
import { register as run } from './commands/run.js';
import { register as inspect } from './commands/inspect.js';
import { register as demo } from './commands/demo.js';
import { register as bench } from './commands/bench.js';
import { register as board } from './commands/board.js';
import { register as flash } from './commands/flash.js';
import { register as verify } from './commands/verify.js';
import { register as mpc } from './commands/mpc.js';
import { register as exportCmd } from './commands/export.js';

const COMMANDS: Array<(y: Argv) => Argv> = [compile, run, inspect, demo, bench, board, flash, verify, mpc, exportCmd];
const verbose = process.argv.includes('--verbose');

async function main(): Promise<void> {
  let y: Argv = yargs(hideBin(process.argv))
    .scriptName('tinyforge')
    .strict()
    .option('verbose', { type: 'boolean', describe: 'print stack traces on errors' });
  for (const register of COMMANDS) y = register(y);
  await y
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
