/**
 * The example forward models are reproducible: training on the simulated plant is seeded, so regenerating
 * examples/mpc/<plant>-model gives the same bytes; the exported checkpoint is a plain tinyforge-mlp that
 * `tinyforge compile` accepts; its one-step prediction error is small next to the output's spread.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examplePaths, trainForPlant } from '../compiler/mpc/sim/closed-loop.js';
import { readSpec } from '../compiler/mpc/spec.js';
import { tinyforge } from './helpers/cli.js';

describe('forward-model training', () => {
  for (const plant of ['msd', 'soft'] as const) {
    it(`${plant}: regenerating the bundled example reproduces it byte for byte`, () => {
      const out = join(mkdtempSync(join(tmpdir(), 'tf-mpc-train-')), 'model');
      const report = trainForPlant(plant, readSpec(examplePaths(plant).spec), out);
      const ex = examplePaths(plant).model;
      for (const f of ['config.json', 'model.safetensors']) expect(readFileSync(join(out, f)).equals(readFileSync(join(ex, f))), f).toBe(true);
      expect(report.validRmse).toBeLessThan(0.01 * report.outputStd);
    });
  }

  it('the exported checkpoint compiles with tinyforge compile', () => {
    const out = mkdtempSync(join(tmpdir(), 'tf-mpc-compile-'));
    const r = tinyforge(['compile', examplePaths('soft').model, '--target', 'c', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
  });
});
