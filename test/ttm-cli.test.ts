/** TinyTimeMixer through the CLI: compile reports forecast MSE, run takes CSV, writes CSV and plots SVG; bad CSVs are one-line errors. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyforge } from './helpers/cli.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'tf-ttm-cli-'));
const mini = join(import.meta.dirname, 'fixtures', 'ttm-mini');
const io = join(mini, 'io.safetensors');

function contextCsv(file: string, rows: number, cols = 3): string {
  const x = toFloat32(readSafetensors(io).tensors.get('past_values')!, 'past_values', io);
  const lines = ['a,b,c'.split(',').slice(0, cols).join(',')];
  for (let t = 0; t < rows; t++) lines.push(Array.from({ length: cols }, (_, c) => x[t * 3 + c]).join(','));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('TTM on the command line', () => {
  const out = join(root, 'mini-int8');
  it('compile --quant int8 reports the forecast MSE ratio against the true future', () => {
    const r = tinyforge(['compile', mini, '--target', 'c', '--quant', 'int8', '--calib', io, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/forecast MSE vs the true future \(8 series\): float [\d.e+-]+, int8 [\d.e+-]+, ratio 1\.0\d+/);
  });

  it('run takes a CSV context, writes the forecast as CSV and draws context, forecast and truth', () => {
    const csv = contextCsv(join(root, 'context.csv'), 64);
    const outCsv = join(root, 'forecast.csv'), svg = join(root, 'forecast.svg');
    const r = tinyforge(['run', out, '--on', 'c-host', '--input', csv, '--output', outCsv, '--plot', svg, '--truth', io]);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(outCsv, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(16);
    expect(rows[0].split(',')).toHaveLength(3);
    const s = readFileSync(svg, 'utf8');
    expect(s).toMatch(/^<svg/);
    expect(s.match(/<polyline/g)).toHaveLength(9); // 3 channels x (context, truth, forecast)
  });

  it('a CSV with the wrong channel count names the line', () => {
    const r = tinyforge(['run', out, '--on', 'c-host', '--input', contextCsv(join(root, 'two.csv'), 64, 2)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^tinyforge: .*two\.csv:2: 2 columns but the model takes 3 channels/);
  });

  it('a CSV with too short a context says how many rows are needed', () => {
    const r = tinyforge(['run', out, '--on', 'c-host', '--input', contextCsv(join(root, 'short.csv'), 40)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/short\.csv: 40 time steps but the model needs a context of 64; give at least 64 rows$/);
  });

  it('a CSV cell that is not a number names file and line', () => {
    const f = join(root, 'bad.csv');
    writeFileSync(f, 'a,b,c\n1,2,3\n1,x,3\n');
    const r = tinyforge(['run', out, '--on', 'c-host', '--input', f]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/bad\.csv:3: 'x' is not a number$/);
  });

  it('inspect prints the layer table, parameters, MACs per forecast and flash/RAM per target and quantization', () => {
    const r = tinyforge(['inspect', join(import.meta.dirname, 'fixtures', 'ttm-r1-512-96')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backbone\.encoder\.patcher\s+dense/);
    expect(r.stdout).toMatch(/parameters: 805280 {3}MACs per inference: 7806976/);
    for (const q of ['float32', 'int8', 'int4']) expect(r.stdout).toMatch(new RegExp(`cortex-m4f\\s+${q}\\s+\\d+\\s+\\d+`));
  });
});
