/**
 * Board profiles for the resident loader: targets/boards/<board>/loader.json (one folder per board).
 * Boards with a `qemu` entry can be started here (`tinyforge board start`); the others are real boards.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { packageRoot } from '../paths.js';

export const DEFAULT_BOARD = 'mps2-an386';

export interface BoardProfile {
  board: string;
  description: string;
  dir: string;
  /** C files of the board folder linked into the loader (firmware/loader/loader.c is always added) */
  sources: string[];
  /** extra include folders, relative to the package root */
  includes: string[];
  linkerScript: string;
  /** compile target a model must have been compiled for */
  target: string;
  cflags: string[];
  /** extra defines (e.g. the chip variant) */
  defines?: string[];
  qemu?: { binary: string; machine: string; args: string[] };
  /** memory layout (mirrors loader_config.h; the board's HELLO is what flashing uses) */
  layout?: { slots: Array<{ addr: number; size: number }>; modelRam: { addr: number; size: number } };
  /** how to get the loader onto a real board */
  install?: string;
}

export function boardsDir(): string {
  return join(packageRoot(), 'targets', 'boards');
}

export function listBoards(): string[] {
  return readdirSync(boardsDir()).filter((b) => existsSync(join(boardsDir(), b, 'loader.json'))).sort();
}

export function loadBoard(name: string): BoardProfile {
  const dir = join(boardsDir(), name);
  const file = join(dir, 'loader.json');
  if (!existsSync(file)) fail(`unknown board '${name}' (boards: ${listBoards().join(', ')})`);
  const j = JSON.parse(readFileSync(file, 'utf8')) as Omit<BoardProfile, 'dir'>;
  return { ...j, dir };
}
