/**
 * A flashable model image: the compiled folder's model.c/model.h + firmware/loader/model_entry.c (the
 * image header the loader checks and calls through), linked at one slot's address with the model's
 * .data/.bss in the board's model RAM (both as the board reports them in HELLO). Built with
 * arm-none-eabi-gcc into the cache (keyed by sources + layout), padded to a multiple of 4 with 0xFF.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fail } from '../errors.js';
import { packageRoot } from '../paths.js';
import type { BoardProfile } from './boards.js';
import { cacheDir, gcc } from './firmware.js';
import { crc32 } from './framing.js';

const run = promisify(execFile);

export const IMAGE_CFLAGS = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off', '-ffunction-sections', '-fdata-sections'];

export interface ImageLayout {
  slotAddr: number;
  slotSize: number;
  modelRamAddr: number;
  modelRamSize: number;
}

export interface ModelImage {
  bytes: Uint8Array;
  crc: number;
  /** first 16 bytes of the SHA-256 of `bytes` (the model hash the board reports) */
  hash: Uint8Array;
  name: string;
  layout: ImageLayout;
  /** model RAM the image needs (.data + .bss) */
  ramBytes: number;
}

const hex = (n: number) => '0x' + n.toString(16).padStart(8, '0');

/** Sizes are checked after linking (so a too-big model is refused with both sizes), not by the linker. */
export function imageLinkerScript(l: Pick<ImageLayout, 'slotAddr' | 'modelRamAddr'>): string {
  return `/* tinyforge model image, generated for one slot (compiler/device/image.ts) */
ENTRY(tf_image_header)
MEMORY
{
  SLOT (rx)  : ORIGIN = ${hex(l.slotAddr)}, LENGTH = 256M
  MRAM (rwx) : ORIGIN = ${hex(l.modelRamAddr)}, LENGTH = 256M
}
SECTIONS
{
  .text :
  {
    __tf_image_start = .;
    KEEP(*(.tf_header))
    *(.text .text.*)
    *(.glue_7 .glue_7t .vfp11_veneer .v4_bx)
  } > SLOT
  .rodata : { . = ALIGN(4); *(.rodata .rodata.*) . = ALIGN(4); } > SLOT
  .ARM.exidx : { *(.ARM.exidx* .gnu.linkonce.armexidx.*) } > SLOT
  .data : { . = ALIGN(4); __tf_data_start = .; *(.data .data.*) . = ALIGN(4); __tf_data_end = .; } > MRAM AT > SLOT
  __tf_data_load = LOADADDR(.data);
  __tf_image_end = LOADADDR(.data) + SIZEOF(.data);
  .bss (NOLOAD) : { . = ALIGN(4); __tf_bss_start = .; *(.bss .bss.*) *(COMMON) . = ALIGN(4); __tf_bss_end = .; } > MRAM
  /DISCARD/ : { *(.init) *(.fini) *(.init_array*) *(.fini_array*) }
}
`;
}

export interface CompiledSources {
  dir: string;
  target: string;
  name: string;
}

/** Checks the compiled folder can go onto `board` (target, files) with one-line errors. */
export function checkCompiledFor(c: CompiledSources, board: BoardProfile): void {
  if (c.target !== board.target) fail(`${c.dir}: compiled for target '${c.target}', but board ${board.board} runs '${board.target}'; recompile with 'tinyforge compile <model> --target ${board.target} --out ${c.dir}'`);
  for (const f of ['model.c', 'model.h']) if (!existsSync(join(c.dir, f))) fail(`${c.dir}: ${f} is missing; recompile with --target ${board.target}`);
}

export async function buildModelImage(c: CompiledSources, board: BoardProfile, layout: ImageLayout): Promise<ModelImage> {
  checkCompiledFor(c, board);
  const loaderDir = join(packageRoot(), 'firmware', 'loader');
  const files = { 'model.c': readFileSync(join(c.dir, 'model.c')), 'model.h': readFileSync(join(c.dir, 'model.h')) };
  const entry = readFileSync(join(loaderDir, 'model_entry.c'));
  const script = imageLinkerScript(layout);
  const flags = [...IMAGE_CFLAGS, ...board.cflags];
  const h = createHash('sha256').update(files['model.c']).update(files['model.h']).update(entry)
    .update(readFileSync(join(loaderDir, 'tf_image.h'))).update(script).update(JSON.stringify(flags));
  const dir = join(cacheDir(), 'images', h.digest('hex').slice(0, 24));
  const bin = join(dir, 'image.bin'), elf = join(dir, 'image.elf');
  if (!existsSync(bin)) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      writeFileSync(join(tmp, 'model.c'), files['model.c']);
      writeFileSync(join(tmp, 'model.h'), files['model.h']);
      writeFileSync(join(tmp, 'image.ld'), script);
      await gcc([...flags, `-I${tmp}`, `-I${loaderDir}`, '-nostartfiles', '--specs=nano.specs', '-Wl,--gc-sections',
        `-T${join(tmp, 'image.ld')}`, '-o', join(tmp, 'image.elf'), join(tmp, 'model.c'), join(loaderDir, 'model_entry.c'), '-lm', '-lc', '-lgcc'], tmp);
      await run('arm-none-eabi-objcopy', ['-O', 'binary', join(tmp, 'image.elf'), join(tmp, 'image.bin')]);
      const { stdout } = await run('arm-none-eabi-nm', [join(tmp, 'image.elf')]);
      writeFileSync(join(tmp, 'symbols.txt'), stdout);
      mkdirSync(join(cacheDir(), 'images'), { recursive: true });
      try { renameSync(tmp, dir); } catch { rmSync(tmp, { recursive: true, force: true }); }
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  const raw = readFileSync(bin);
  const bytes = new Uint8Array(Math.ceil(raw.length / 4) * 4).fill(0xff);
  bytes.set(raw);
  const sym = readFileSync(join(dir, 'symbols.txt'), 'utf8');
  const addr = (s: string) => parseInt(new RegExp(`^([0-9a-f]+) \\w ${s}$`, 'm').exec(sym)?.[1] ?? '0', 16);
  void elf;
  const ramBytes = addr('__tf_bss_end') - addr('__tf_data_start');
  if (bytes.length > layout.slotSize) fail(`${c.dir}: the model image is ${bytes.length} bytes but board ${board.board}'s model slot holds ${layout.slotSize} bytes; nothing was written (make the model smaller or quantize it to int8)`);
  if (ramBytes > layout.modelRamSize) fail(`${c.dir}: the model needs ${ramBytes} bytes of RAM but board ${board.board} has ${layout.modelRamSize} bytes for models; nothing was written`);
  return { bytes, crc: crc32(bytes), hash: createHash('sha256').update(bytes).digest().subarray(0, 16), name: c.name, layout, ramBytes };
}
