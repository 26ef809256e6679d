// Regenerates the MPC example forward models examples/mpc/msd-model and examples/mpc/soft-model: APRBS data
// from the simulated plants, a seeded "linear ARX + tanh MLP residual" fit, exported as tinyforge-mlp
// checkpoints with the input layout of examples/mpc/<plant>.mpc.json. Deterministic (seeded, float64).
// Usage: npm run build && node scripts/make-mpc-examples.mjs   (same as: tinyforge mpc train --plant <p> --out ...)
import { join } from 'node:path';
import { examplePaths, trainForPlant } from '../dist/compiler/mpc/sim/closed-loop.js';
import { readSpec } from '../dist/compiler/mpc/spec.js';

for (const plant of ['msd', 'soft']) {
  const { spec, model } = examplePaths(plant);
  const r = trainForPlant(plant, readSpec(spec), model);
  console.log(`${plant}: ${join(model)} one-step validation RMSE ${r.validRmse.toExponential(3)}`);
}
