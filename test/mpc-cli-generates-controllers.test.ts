/**
 * `tinyforge mpc <model> --spec --target` writes the controller with the model: C (mpc.h/mpc.c with
 * mpc_step(measurement, reference, u_out)) and one controller.wasm that the browser-safe runtime loads as
 * controller.step(measurement, reference); a compiled (float32) model folder works as the forward model too.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyforge } from './helpers/cli.js';
import { loadController } from '../runtime/index.js';
import { loadPlan } from '../compiler/mpc/model.js';
import { MpcReference } from '../compiler/mpc/solver.js';

const root = mkdtempSync(join(tmpdir(), 'tf-mpc-cli-'));

describe('tinyforge mpc (generate)', () => {
  it('--target cortex-m4f and c emit mpc.h / mpc.c with the documented API', () => {
    for (const target of ['c', 'cortex-m4f']) {
      const out = join(root, target);
      const r = tinyforge(['mpc', 'examples/forward-model', '--spec', 'examples/mpc/forward-model.mpc.json', '--target', target, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout);
      expect(m).toMatchObject({ target, controls: 3, outputs: 3, sensors: 5, modelInputs: 26, measurementSize: 8, referenceSize: 3 });
      const h = readFileSync(join(out, 'mpc.h'), 'utf8');
      expect(h).toContain('int mpc_step(const float *measurement, const float *reference, float *u_out);');
      expect(h).toContain('#define MPC_MEASUREMENT_SIZE 8');
      const c = readFileSync(join(out, 'mpc.c'), 'utf8');
      expect(c).not.toContain('#include <math.h>'); // no libm: own expf/tanhf
      expect(c).toContain('mpc_tanhf');
    }
  });

  it('--target wasm: one module; the runtime controller matches the TypeScript reference', async () => {
    const out = join(root, 'wasm');
    const r = tinyforge(['mpc', 'examples/mpc/soft-model', '--spec', 'examples/mpc/soft.mpc.json', '--target', 'wasm', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const ctl = await loadController(readFileSync(join(out, 'controller.wasm')));
    expect(ctl.info).toMatchObject({ controls: 1, outputs: 1, referenceSize: 10, derivatives: 'exact' });
    const ref = new MpcReference(loadPlan('examples/mpc/soft-model', 'examples/mpc/soft.mpc.json'));
    const u = new Float32Array(1);
    for (let t = 0; t < 20; t++) {
      const meas = [0.3 + 0.01 * t], target = new Float32Array(10).fill(0.6);
      ref.step(meas, target, u);
      expect(Array.from(ctl.step(meas, target))).toEqual(Array.from(u));
    }
    expect(() => ctl.step([0.1, 0.2], new Float32Array(10))).toThrow(/measurement must hold 1 numbers/);
  });

  it('accepts a compiled float32 model folder as the forward model', () => {
    const compiled = join(root, 'compiled');
    expect(tinyforge(['compile', 'examples/mpc/msd-model', '--target', 'wasm', '--out', compiled]).code).toBe(0);
    const r = tinyforge(['mpc', compiled, '--spec', 'examples/mpc/msd.mpc.json', '--target', 'c', '--out', join(root, 'from-compiled')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/generated MPC for/);
  });
});
