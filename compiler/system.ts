/**
 * System tools the C and board paths need (gcc, arm-none-eabi-gcc + newlib, qemu-system-arm). When one
 * is missing, the project's own script installs them (Debian packages; needs root or sudo).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fail } from './errors.js';
import { packageRoot } from './paths.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function missingTools(): string[] {
  return ['gcc', 'arm-none-eabi-gcc', 'qemu-system-arm'].filter((t) => !has(t));
}

/** Installs missing system packages with scripts/install-system-deps.sh, or fails naming the fix. */
export function ensureSystemTools(log: (s: string) => void = () => {}): void {
  const missing = missingTools();
  if (missing.length === 0) return;
  const script = join(packageRoot(), 'scripts', 'install-system-deps.sh');
  const canInstall = process.getuid?.() === 0 || has('sudo');
  if (!canInstall) fail(`missing system tools: ${missing.join(', ')}; run 'sudo bash ${script}'`);
  log(`installing missing system tools (${missing.join(', ')}) with ${script} ...`);
  try {
    execFileSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    fail(`could not install ${missing.join(', ')}; run 'bash ${script}' as root and retry`);
  }
}
