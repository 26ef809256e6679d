/** Runs once before the suite: builds dist/ (the CLI and the browser runtime) if `npm test` did not. */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('dist/compiler/cli.js') || !existsSync('build/kernels.wasm')) {
    execSync('npm run build', { stdio: 'inherit' });
  }
}
