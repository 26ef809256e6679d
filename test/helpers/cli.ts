import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tinyforge.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function tinyforge(args: string[], opts: { timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
