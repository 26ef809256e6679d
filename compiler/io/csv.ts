/**
 * CSV tensors: rows of comma-separated numbers, an optional header row (any non-numeric first row).
 * A [time, channels] model input takes the whole file as one sample (its last `time` rows); a
 * [features] input takes one sample per row. Errors name the file and line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fail } from '../errors.js';

export interface CsvTable { header: string[] | null; rows: number[][]; /** 1-based file line of each row */ lines: number[] }

export function readCsv(file: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  const rows: number[][] = [], lines: number[] = [];
  let header: string[] | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const cells = line.split(',').map((c) => c.trim());
    const nums = cells.map((c) => (c === '' ? NaN : Number(c)));
    if (nums.some((v) => Number.isNaN(v))) {
      if (rows.length === 0 && header === null) { header = cells; return; }
      const bad = cells.find((c, k) => Number.isNaN(nums[k]));
      fail(`${file}:${i + 1}: '${bad}' is not a number`);
    }
    if (rows.length && nums.length !== rows[0].length) fail(`${file}:${i + 1}: ${nums.length} columns but line ${lines[0]} has ${rows[0].length}`);
    rows.push(nums);
    lines.push(i + 1);
  });
  if (rows.length === 0) fail(`${file}: no numeric rows`);
  return { header, rows, lines };
}

/** Samples for a model input of `shape` ([features] or [time, channels]) from a CSV file. */
export function samplesFromCsv(file: string, shape: readonly number[]): Float32Array[] {
  const t = readCsv(file);
  const cols = t.rows[0].length;
  if (shape.length === 1) {
    if (cols !== shape[0]) fail(`${file}:${t.lines[0]}: ${cols} columns but the model takes ${shape[0]} features per row`);
    return t.rows.map((r) => Float32Array.from(r));
  }
  if (shape.length === 2) {
    const [time, channels] = shape;
    if (cols !== channels) fail(`${file}:${t.lines[0]}: ${cols} columns but the model takes ${channels} channel${channels === 1 ? '' : 's'} (one column per channel)`);
    if (t.rows.length < time) fail(`${file}: ${t.rows.length} time steps but the model needs a context of ${time}; give at least ${time} rows`);
    return [Float32Array.from(t.rows.slice(t.rows.length - time).flat())];
  }
  const per = shape.reduce((a, b) => a * b, 1);
  const flat = t.rows.flat();
  if (flat.length % per !== 0) fail(`${file}: ${flat.length} values are not a multiple of the input size ${per} ([${shape}])`);
  return Array.from({ length: flat.length / per }, (_, i) => Float32Array.from(flat.slice(i * per, (i + 1) * per)));
}

/** Writes [rows, cols] values (one sample's output, or one row per sample) as CSV. */
export function writeCsv(file: string, rows: ArrayLike<number>[], header?: string[]): void {
  const body = rows.map((r) => Array.from(r, (v) => String(v)).join(',')).join('\n');
  writeFileSync(file, (header ? header.join(',') + '\n' : '') + body + '\n');
}

const INT_RANGE: Record<string, [number, number]> = { int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647] };

/**
 * A flattened tensor CSV (TFLM's `*_input0_int16.csv` / `*_golden_int16.csv`: comma-separated values on one
 * or more lines, an optional non-numeric header row): every value, in file order, checked against `dtype`
 * (int8 / int16 / int32 must be integers in range; float32 any finite number). Errors name the file and line.
 */
export function readFlatCsv(file: string, dtype: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  const out: number[] = [];
  const range = INT_RANGE[dtype];
  let sawHeader = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const cells = line.split(/[,\s]+/).filter((c) => c !== '');
    const nums = cells.map(Number);
    const bad = nums.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      if (out.length === 0 && !sawHeader) { sawHeader = true; return; }
      fail(`${file}:${i + 1}: '${cells[bad].slice(0, 20)}' is not a number`);
    }
    if (range) {
      const k = nums.findIndex((v) => !Number.isInteger(v) || v < range[0] || v > range[1]);
      if (k >= 0) fail(`${file}:${i + 1}: value ${out.length + k + 1} (${cells[k].slice(0, 20)}) is not an ${dtype} (${range[0]}..${range[1]}); this model takes the .tflite input's own ${dtype} values`);
    }
    for (const v of nums) out.push(v);
  });
  if (out.length === 0) fail(`${file}: no values`);
  return out;
}

/** The line ending a text file uses ('\r\n' when its first line ends so, else '\n'). */
export function lineEndingOf(file: string): '\n' | '\r\n' {
  try {
    const t = readFileSync(file, 'latin1');
    const i = t.indexOf('\n');
    return i > 0 && t[i - 1] === '\r' ? '\r\n' : '\n';
  } catch {
    return '\n';
  }
}

/**
 * Flattened tensors as CSV, one sample per line (a single sample = one line, like TFLM's golden files), with
 * `eol` line endings (pass the input file's, lineEndingOf, so TFLM's CRLF vectors give CRLF outputs).
 */
export function writeFlatCsv(file: string, samples: ArrayLike<number>[], eol: '\n' | '\r\n' = '\n'): void {
  writeFileSync(file, samples.map((s) => Array.from(s, (v) => String(v)).join(',') + eol).join(''));
}
