/**
 * Builds the resident loader for a board (firmware/loader + the board folder) with arm-none-eabi-gcc,
 * into a cache folder keyed by the sources' hash, so repeated `board start` / tests reuse the build.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fail } from '../errors.js';
import { packageRoot } from '../paths.js';
import type { BoardProfile } from './boards.js';

const run = promisify(execFile);

/** Build cache: $TINYFORGE_CACHE, else <tmpdir>/tinyforge-cache. */
export function cacheDir(): string {
  const d = process.env.TINYFORGE_CACHE ?? join(tmpdir(), 'tinyforge-cache');
  mkdirSync(d, { recursive: true });
  return d;
}

export const LOADER_CFLAGS = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-ffunction-sections', '-fdata-sections', '-g'];

export interface LoaderBuild {
  elf: string;
  bin: string;
  /** flash bytes of the loader image */
  bytes: number;
}

export function loaderSources(b: BoardProfile): string[] {
  return [join(packageRoot(), 'firmware', 'loader', 'loader.c'), join(packageRoot(), 'firmware', 'loader', 'startup_m4.c'), ...b.sources.map((s) => join(b.dir, s))];
}

export async function gcc(args: string[], cwd: string): Promise<void> {
  try {
    await run('arm-none-eabi-gcc', args, { cwd, maxBuffer: 1 << 24 });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') fail(`arm-none-eabi-gcc not found; install it with 'sudo bash ${join(packageRoot(), 'scripts', 'install-system-deps.sh')}'`);
    fail(`arm-none-eabi-gcc failed: ${(err.stderr ?? String(e)).trim().split('\n').slice(0, 6).join(' | ')}`);
  }
}

export async function buildLoader(b: BoardProfile): Promise<LoaderBuild> {
  const root = packageRoot();
  const incDirs = [join(root, 'firmware', 'loader'), b.dir, ...b.includes.map((i) => join(root, i))];
  const srcs = loaderSources(b);
  const h = createHash('sha256');
  for (const f of [...srcs, join(b.dir, b.linkerScript), ...incDirs.flatMap((d) => headersIn(d))]) h.update(f).update(readFileSync(f));
  h.update(JSON.stringify([LOADER_CFLAGS, b.cflags, b.defines ?? []]));
  const dir = join(cacheDir(), `loader-${b.board}-${h.digest('hex').slice(0, 16)}`);
  const elf = join(dir, 'loader.elf'), bin = join(dir, 'loader.bin');
  if (!existsSync(bin)) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      await gcc([...LOADER_CFLAGS, ...b.cflags, ...(b.defines ?? []).map((d) => `-D${d}`), ...incDirs.map((d) => `-I${d}`),
        '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections', `-T${join(b.dir, b.linkerScript)}`, '-o', join(tmp, 'loader.elf'), ...srcs, '-lc', '-lgcc'], tmp);
      await run('arm-none-eabi-objcopy', ['-O', 'binary', join(tmp, 'loader.elf'), join(tmp, 'loader.bin')]);
      try { renameSync(tmp, dir); } catch { rmSync(tmp, { recursive: true, force: true }); } // another process won the race
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  return { elf, bin, bytes: readFileSync(bin).length };
}

function headersIn(d: string): string[] {
  try {
    return readdirSync(d).filter((f) => f.endsWith('.h')).map((f) => join(d, f));
  } catch {
    return [];
  }
}
