/** Finds the prebuilt kernel module (build/kernels.wasm), compiling it in-process when it is missing. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../errors.js';
import { packageRoot } from '../../paths.js';

export { packageRoot };

let cached: Promise<Uint8Array> | undefined;

export function kernelsWasm(): Promise<Uint8Array> {
  cached ??= loadKernels().catch((e: unknown) => { cached = undefined; throw e; });
  return cached;
}

async function loadKernels(): Promise<Uint8Array> {
  const root = packageRoot();
  const built = join(root, 'build', 'kernels.wasm');
  if (existsSync(built)) return new Uint8Array(readFileSync(built));
  if (!existsSync(join(root, 'asconfig.json'))) fail(`${built} is missing; run 'npm run build' in ${root}`);
  return compileKernels(root);
}

/** Compiles runtime/kernels with the options of `npm run build` (asconfig.json, target release), in memory. */
export async function compileKernels(root = packageRoot()): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  let wasm: Uint8Array | undefined;
  const errors: string[] = [];
  const { error } = await asc.main(['--config', 'asconfig.json', '--target', 'release', '--baseDir', root], {
    writeFile(name: string, contents: Uint8Array | string) { if (name.endsWith('.wasm') && typeof contents !== 'string') wasm = contents; },
    stdout: { write: () => true } as never,
    stderr: { write: (s: string) => { errors.push(String(s)); return true; } } as never,
  });
  if (error || !wasm) fail(`compiling the WASM kernels failed (${error?.message ?? errors.join(' ').trim().split('\n')[0]}); run 'npm run build' to see the details`);
  return wasm;
}
