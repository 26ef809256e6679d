/**
 * Closed loop in the simulator: the generated WASM controller, around forward models learned from plant
 * data, tracks step, sine and random-waypoint references with lower RMSE than a PID tuned by grid search
 * on the true plant, on the mass-spring-damper and on the nonlinear tendon-driven soft actuator; the
 * --plot SVG shows reference, output and input.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '../compiler/mpc/sim/closed-loop.js';
import { tinyforge } from './helpers/cli.js';

describe('MPC vs tuned PID', () => {
  for (const plant of ['msd', 'soft'] as const) {
    it(`${plant}: MPC RMSE below PID on step, sine and waypoints`, async () => {
      const r = await simulate({ plant });
      expect(r.rows.map((x) => x.reference)).toEqual(['step', 'sine', 'waypoints']);
      for (const row of r.rows) {
        expect(row.mpcRmse, row.reference).toBeLessThan(row.pidRmse);
        expect(Number.isFinite(row.mpcRmse)).toBe(true);
      }
    });
  }

  it('tinyforge mpc simulate --plot writes an SVG with reference, output and input', () => {
    const svg = join(mkdtempSync(join(tmpdir(), 'tf-mpc-plot-')), 'tracking.svg');
    const r = tinyforge(['mpc', 'simulate', '--plant', 'soft', '--reference', 'sine', '--steps', '150', '--plot', svg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sine\s+[0-9.]+\s+[0-9.]+/);
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text.match(/<polyline/g)?.length).toBe(5); // reference, MPC, PID outputs; MPC, PID inputs
    for (const label of ['reference', 'MPC', 'PID', 'input', 'output']) expect(text).toContain(label);
  });
});
