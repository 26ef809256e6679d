/** Locates files shipped with the package, whether running from TS sources (vitest) or from dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tinyforge') return (cached = dir);
      } catch { /* not ours; keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('tinyforge package root not found');
    dir = up;
  }
}
