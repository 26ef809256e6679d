/** Entry of `npm run bench`: runs the benchmark, prints the Markdown table, writes bench/results.json. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../compiler/paths.js';
import { formatBench, runBench } from './bench.js';

const rows = await runBench();
console.log('\n' + formatBench(rows));
writeFileSync(join(packageRoot(), 'bench', 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n');
