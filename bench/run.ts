/** Entry of `npm run bench`: runs the suite, prints Markdown tables, writes bench/results.json. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../compiler/paths.js';
import { runSuite, SECTIONS, type Section } from './suite.js';

const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = (onlyArg ? onlyArg.split(',') : SECTIONS) as Section[];
const result = await runSuite(only);
console.log('\n' + result.markdown);
writeFileSync(join(packageRoot(), 'bench', 'results.json'), JSON.stringify(result, null, 2) + '\n');
