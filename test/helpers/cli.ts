import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tinyforge.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function tinyforge(args: string[], opts: { timeout?: number; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 120_000, env: opts.env ? { ...process.env, ...opts.env } : undefined });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
