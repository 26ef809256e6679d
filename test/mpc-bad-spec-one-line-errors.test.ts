/** A controller spec that does not fit the model, or is inconsistent, is refused with one line, exit 2. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyforge } from './helpers/cli.js';
import { loadPlan } from '../compiler/mpc/model.js';
import { TinyforgeError } from '../compiler/errors.js';
import type { MpcSpec } from '../compiler/mpc/spec.js';

const root = mkdtempSync(join(tmpdir(), 'tf-mpc-bad-'));
const good = JSON.parse(readFileSync('examples/mpc/msd.mpc.json', 'utf8')) as MpcSpec;
const MODEL = 'examples/mpc/msd-model';

function specFile(name: string, spec: unknown): string {
  const f = join(root, `${name}.json`);
  writeFileSync(f, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return f;
}

function expectOneLine(args: string[], ...mention: Array<string | RegExp>) {
  const r = tinyforge(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyforge: /);
  for (const m of mention) expect(lines[0]).toMatch(m);
}

const gen = (spec: string) => ['mpc', MODEL, '--spec', spec, '--target', 'c', '--out', join(root, 'out')];

describe('bad MPC specs (CLI)', () => {
  it('model_input that does not match the model inputs', () => {
    expectOneLine(gen(specFile('layout', { ...good, model_input: [{ source: 'u', channels: [0], lags: [0, 1, 2] }, { source: 'y', channels: [0], lags: [0, 1] }] })),
      /describes 5 model inputs but the forward model takes 4/);
  });
  it('a y channel beyond the model outputs', () => {
    expectOneLine(gen(specFile('ych', { ...good, model_input: [{ source: 'u', channels: [0], lags: [0, 1] }, { source: 'y', channels: [1], lags: [0, 1] }], Q: [1] })),
      /channel 1 is outside the model's 1 outputs/);
  });
  it('Q that does not list one weight per model output', () => {
    expectOneLine(gen(specFile('q', { ...good, Q: [1, 1] })), /"Q" must list 1/);
  });
  it('bounds with lower >= upper', () => {
    expectOneLine(gen(specFile('bounds', { ...good, bounds: { lower: [2], upper: [2] } })), /lower 2 must be below upper 2/);
  });
  it('horizons out of range', () => {
    expectOneLine(gen(specFile('n1', { ...good, horizon: { N1: 5, N2: 3, Nu: 1 } })), /horizon\.N1 must be an integer in \[1, N2=3\]/);
    expectOneLine(gen(specFile('nu', { ...good, horizon: { N1: 1, N2: 3, Nu: 4 } })), /horizon\.Nu/);
    expectOneLine(gen(specFile('n2', { ...good, horizon: { N1: 1, N2: 1000, Nu: 1 } })), /horizon\.N2 must be an integer in \[1, 64\]/);
  });
  it('too many decision variables', () => {
    expectOneLine(gen(specFile('nvars', { ...good, horizon: { N1: 1, N2: 20, Nu: 9 } })), /decision variables/);
  });
  it('unknown derivatives mode, non-JSON spec, missing spec file', () => {
    expectOneLine(gen(specFile('mode', { ...good, derivatives: 'symbolic' })), /"derivatives" must be one of exact, finite-difference/);
    expectOneLine(gen(specFile('json', '{ not json')), /not valid JSON/);
    expectOneLine(gen(join(root, 'missing.json')), /no such controller spec/);
  });
  it('an unknown target', () => {
    expectOneLine(['mpc', MODEL, '--spec', 'examples/mpc/msd.mpc.json', '--target', 'avr', '--out', join(root, 'out2')], /unknown target 'avr' for mpc \(supported: c, cortex-m4f, wasm\)/);
  });
});

describe('bad MPC specs (API)', () => {
  it('throw TinyforgeError with the spec file named', () => {
    expect(() => loadPlan(MODEL, { ...good, lambda: -1 })).toThrow(TinyforgeError);
    expect(() => loadPlan(MODEL, { ...good, controls: 0 })).toThrow(/"controls" must be a positive integer/);
    expect(() => loadPlan(MODEL, { ...good, model_input: [{ source: 'x' as 'u', channels: [0] }] })).toThrow(/source must be "u", "y" or "sensor"/);
  });
});
