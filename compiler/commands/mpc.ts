import type { Argv } from 'yargs';
import { fail } from '../errors.js';
import { table } from '../inspect.js';
import { MPC_TARGETS, type MpcTarget } from '../mpc/generate.js';
import { PLANT_NAMES, type PlantName } from '../mpc/sim/plants.js';
import { REFERENCE_NAMES, type ReferenceName } from '../mpc/sim/references.js';
import { FORWARD_QUANTS, type ForwardQuant } from '../mpc/model.js';

/** --quant / --calib: the forward model's arithmetic (int8 is calibrated on the training data or --calib). */
const quantOpts = <T>(y: Argv<T>) => y
  .option('quant', { choices: FORWARD_QUANTS as ForwardQuant[], default: 'float32' as ForwardQuant, describe: 'forward model arithmetic for a checkpoint (a compiled folder has its own): int8 = quantize -> integer layers -> dequantize, finite-difference derivatives' })
  .option('calib', { type: 'string', describe: 'int8: calibration rows (safetensors [N, inputs] or CSV); default: the training data of a `tinyforge mpc train` model' });
const printNotes = (notes: string[]) => { for (const n of notes) console.error(`note: ${n}`); };

/**
 * `tinyforge mpc <forward-model> --spec mpc.json --target c|cortex-m4f|wasm [--out DIR]`   generate the controller
 * `tinyforge mpc simulate [--plant msd|soft] [--model DIR] [--spec FILE] [--plot tracking.svg]`  closed loop vs PID
 * `tinyforge mpc train --plant msd|soft --out DIR [--spec FILE]`                          train a forward model
 * `tinyforge mpc device <forward-model> --spec mpc.json [--plant msd|soft] [--ticks N]`    QEMU Cortex-M4F == WASM
 * `tinyforge mpc hil <forward-model> --spec mpc.json [--plant] [--ticks N] [--port PATH] [--plot]`  hardware in the loop over the serial port
 * (all but train take --quant float32|int8 [--calib rows])
 */
export function register(y: Argv): Argv {
  return y.command('mpc', 'Newton-Raphson MPC around a forward model: generate (C / Cortex-M4F / WASM), simulate, train, device check', (y) => y
    .command('simulate', 'closed-loop tracking of step, sine and random-waypoint references: MPC (the WASM controller) vs a tuned PID', (y) => y
      .option('plant', { choices: PLANT_NAMES as PlantName[], default: 'msd' as PlantName, describe: 'msd = mass-spring-damper, soft = tendon-driven soft actuator' })
      .option('model', { type: 'string', describe: 'forward model folder (default: examples/mpc/<plant>-model, trained if missing)' })
      .option('spec', { type: 'string', describe: 'controller spec (default: examples/mpc/<plant>.mpc.json)' })
      .option('reference', { type: 'array', string: true, describe: `references to track (${REFERENCE_NAMES.join(', ')}; default all)` })
      .option('steps', { type: 'number', describe: 'control ticks per reference (default 12 s worth)' })
      .option('controller', { choices: ['wasm', 'reference'] as const, default: 'wasm' as const, describe: 'the generated WASM controller or the TypeScript reference solver' })
      .option('preview', { type: 'boolean', describe: 'override the spec\'s reference_preview (--no-preview: constant target over the horizon)' })
      .option('plot', { type: 'string', describe: 'write an SVG of reference, output and input' })
      .option('json', { type: 'boolean' })
      .option('quant', { choices: FORWARD_QUANTS as ForwardQuant[], default: 'float32' as ForwardQuant, describe: 'forward model arithmetic (int8: calibrated on the training data or --calib)' })
      .option('calib', { type: 'string', describe: 'int8: calibration rows (safetensors or CSV)' }),
    async (a) => {
      const refs = (a.reference as string[] | undefined)?.map((r) => {
        if (!REFERENCE_NAMES.includes(r as ReferenceName)) fail(`unknown reference '${r}' (supported: ${REFERENCE_NAMES.join(', ')})`);
        return r as ReferenceName;
      });
      if (a.steps !== undefined && (!Number.isInteger(a.steps) || a.steps < 2)) fail(`--steps must be an integer >= 2, got ${a.steps}`);
      const { simulate } = await import('../mpc/sim/closed-loop.js');
      const r = await simulate({ plant: a.plant, model: a.model, spec: a.spec, references: refs, steps: a.steps, controller: a.controller, preview: a.preview, plot: a.plot, quant: a.quant, calib: a.calib, log: (s) => { if (!a.json) console.error(s); } });
      if (a.json) { const { svg: _svg, ...rest } = r; console.log(JSON.stringify(rest, null, 2)); return; }
      console.log(`closed loop on the ${r.plant} plant (dt ${r.dt} s, ${r.steps} ticks per reference), model ${r.model} (${r.forwardModel}), spec ${r.spec}, ${r.derivatives} derivatives, reference preview ${r.preview ? 'on' : 'off'}`);
      console.log(`PID (grid-search tuned on the plant): kp ${r.pid.kp.toPrecision(3)}, ki ${r.pid.ki.toPrecision(3)}, kd ${r.pid.kd.toPrecision(3)}`);
      console.log(table([['reference', 'RMSE MPC', 'RMSE PID', 'MPC/PID', 'MPC fallbacks'],
        ...r.rows.map((x) => [x.reference, x.mpcRmse.toPrecision(4), x.pidRmse.toPrecision(4), (x.mpcRmse / x.pidRmse).toFixed(3), String(x.mpcFallbacks)])]).join('\n'));
      if (r.wasmStepsPerSecond) console.log(`WASM controller in Node: ${Math.round(r.wasmStepsPerSecond)} steps/s`);
      if (a.plot) console.log(`plot: ${a.plot}`);
    })
    .command('train', 'collect data on a simulated plant and train a forward model (tinyforge-mlp checkpoint) with the spec\'s input layout', (y) => y
      .option('plant', { choices: PLANT_NAMES as PlantName[], default: 'msd' as PlantName })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint folder to write' })
      .option('spec', { type: 'string', describe: 'controller spec whose model_input layout the model uses (default: examples/mpc/<plant>.mpc.json)' })
      .option('samples', { type: 'number', default: 6000 })
      .option('epochs', { type: 'number', default: 60 })
      .option('seed', { type: 'number', default: 17 })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { trainForPlant, examplePaths } = await import('../mpc/sim/closed-loop.js');
      const { readSpec } = await import('../mpc/spec.js');
      for (const [k, v] of [['samples', a.samples], ['epochs', a.epochs]] as const) if (!Number.isInteger(v) || v < 1) fail(`--${k} must be a positive integer, got ${v}`);
      const report = trainForPlant(a.plant, readSpec(a.spec ?? examplePaths(a.plant).spec), a.out, { samples: a.samples, epochs: a.epochs, seed: a.seed });
      if (a.json) console.log(JSON.stringify(report));
      else console.log(`trained ${a.plant} forward model -> ${a.out}: one-step RMSE train ${report.trainRmse.toExponential(3)}, validation ${report.validRmse.toExponential(3)} (output std ${report.outputStd.toPrecision(3)})`);
    })
    .command('device <model>', 'run the generated C controller in a fixed-rate loop on the emulated Cortex-M4F (QEMU) and compare with the WASM controller bit for bit', (y) => y
      .positional('model', { type: 'string', demandOption: true, describe: 'forward model: checkpoint or compiled folder' })
      .option('spec', { type: 'string', demandOption: true, describe: 'controller spec (mpc.json)' })
      .option('plant', { choices: PLANT_NAMES as PlantName[], describe: 'record a closed loop on this plant (else a seeded random measurement sequence)' })
      .option('ticks', { type: 'number', default: 100 })
      .option('json', { type: 'boolean' })
      .option('quant', { choices: FORWARD_QUANTS as ForwardQuant[], default: 'float32' as ForwardQuant, describe: 'forward model arithmetic (int8: calibrated on the training data or --calib)' })
      .option('calib', { type: 'string', describe: 'int8: calibration rows (safetensors or CSV)' }),
    async (a) => {
      if (!Number.isInteger(a.ticks) || a.ticks < 1 || a.ticks > 20000) fail(`--ticks must be an integer in [1, 20000], got ${a.ticks}`);
      const { loadPlan } = await import('../mpc/model.js');
      const { deviceCheck } = await import('../mpc/device.js');
      const { ensureSystemTools } = await import('../system.js');
      const plan = loadPlan(a.model, a.spec, { quant: a.quant, calib: a.calib });
      if (!a.json) printNotes(plan.notes);
      ensureSystemTools((s) => console.error(s));
      const { run: _run, ...d } = await deviceCheck(plan, a.ticks, a.plant);
      if (a.json) { console.log(JSON.stringify(d, null, 2)); }
      else {
        console.log(`${plan.name}: ${d.ticks} ticks (${d.sequence} sequence) on QEMU mps2-an386 vs WASM: ${d.identical}/${d.ticks} bit-identical, max |diff| ${d.maxAbsDiff}`);
        console.log(`  instructions per mpc_step: min ${d.instructionsPerStep.min}, median ${d.instructionsPerStep.median}, max ${d.instructionsPerStep.max}`);
        console.log(`  => ${Math.round(d.stepsPerSecondAt180MHz)} steps/s at an assumed 180 MHz (1 instruction per cycle, worst tick)`);
        console.log(`  flash: controller + model ${d.controllerFlashBytes} B (${d.flashPercentOf1MB.toFixed(2)} % of 1 MB), whole firmware ${d.firmwareFlashBytes} B; stack ${d.stackBytes} B; overruns ${d.overruns}`);
      }
      if (d.identical !== d.ticks) process.exitCode = 1;
    })
    .command('hil <model>', 'hardware in the loop: the C controller in a fixed-rate loop on the emulated board (QEMU, or --port), fed measurements over the serial port by the plant simulator; every u compared with the WASM controller', (y) => quantOpts(y
      .positional('model', { type: 'string', demandOption: true, describe: 'forward model: checkpoint or compiled folder' })
      .option('spec', { type: 'string', demandOption: true, describe: 'controller spec (mpc.json)' })
      .option('plant', { choices: PLANT_NAMES as PlantName[], default: 'msd' as PlantName, describe: 'the simulated plant on the host' })
      .option('reference', { choices: REFERENCE_NAMES as ReferenceName[], default: 'waypoints' as ReferenceName })
      .option('ticks', { type: 'number', default: 200 })
      .option('port', { type: 'string', describe: 'serial port of a board already running the HIL firmware (default: build it and start QEMU mps2-an386, stopped afterwards)' })
      .option('plot', { type: 'string', describe: 'write an SVG of reference, output and input (board MPC vs PID)' })
      .option('json', { type: 'boolean' })),
    async (a) => {
      if (!Number.isInteger(a.ticks) || a.ticks < 1 || a.ticks > 65535) fail(`--ticks must be an integer in [1, 65535], got ${a.ticks}`);
      const { loadPlan } = await import('../mpc/model.js');
      const { runHil } = await import('../mpc/hil.js');
      const plan = loadPlan(a.model, a.spec, { quant: a.quant, calib: a.calib });
      if (!a.json) printNotes(plan.notes);
      if (!a.port) { const { ensureSystemTools } = await import('../system.js'); ensureSystemTools((s) => console.error(s)); }
      const { trace: _trace, ...r } = await runHil(plan, { plant: a.plant, reference: a.reference, ticks: a.ticks, port: a.port, plot: a.plot, log: (s) => { if (!a.json) console.error(s); } });
      if (a.json) console.log(JSON.stringify({ model: plan.name, derivatives: plan.mode, notes: plan.notes, ...r }, null, 2));
      else {
        console.log(`${plan.name} (${r.forwardModel}, ${plan.mode} derivatives): ${r.ticks} ticks hardware-in-the-loop over ${r.port}${r.startedQemu ? ' (QEMU mps2-an386)' : ''}, ${r.plant} plant, ${r.reference} reference`);
        console.log(`  board u vs WASM u: ${r.identical}/${r.ticks} bit-identical, max |diff| ${r.maxAbsDiff}`);
        console.log(`  tracking RMSE: MPC on the board ${r.rmse.toPrecision(4)}, tuned PID ${r.pidRmse.toPrecision(4)}`);
        console.log(`  instructions per mpc_step: min ${r.instructionsPerStep.min}, median ${r.instructionsPerStep.median}, max ${r.instructionsPerStep.max} => ${Math.round(r.stepsPerSecondAt180MHz)} steps/s at an assumed 180 MHz`);
        console.log(`  late measurements ${r.lateTicks}, overruns ${r.overruns}, stack ${r.stackBytes} B, retries ${r.retries}, bad frames ${r.badFrames}${r.controllerFlashBytes !== undefined ? `, controller flash ${r.controllerFlashBytes} B (${r.flashPercentOf1MB!.toFixed(2)} % of 1 MB)` : ''}`);
        if (a.plot) console.log(`plot: ${a.plot}`);
      }
      if (r.identical !== r.ticks) process.exitCode = 1;
    })
    .command('$0 <model>', 'generate the controller with the model', (y) => quantOpts(y)
      .positional('model', { type: 'string', demandOption: true, describe: 'forward model: tinyforge-mlp checkpoint or compiled folder (float32 or int8)' })
      .option('spec', { type: 'string', demandOption: true, describe: 'controller spec (mpc.json)' })
      .option('target', { type: 'string', default: 'cortex-m4f', describe: `${MPC_TARGETS.join(' | ')}` })
      .option('out', { type: 'string', default: 'mpc-out', describe: 'output folder' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { generateMpc } = await import('../mpc/generate.js');
      const { manifest: m } = await generateMpc(a.model, a.spec, a.target as MpcTarget, a.out, { quant: a.quant, calib: a.calib });
      if (!a.json) printNotes(m.notes);
      if (a.json) console.log(JSON.stringify(m, null, 2));
      else {
        console.log(`generated MPC for ${m.model} -> ${a.out}  [target ${m.target}, ${m.forwardModel} forward model, ${m.derivatives} derivatives]`);
        console.log(`  ${m.controls} controls, ${m.outputs} outputs, ${m.sensors} sensors; horizon N1=${m.horizon.N1} N2=${m.horizon.N2} Nu=${m.horizon.Nu} (${m.decisionVariables} decision variables), ${m.iterations} Newton iteration(s)/tick`);
        console.log(`  model weights ${m.weightBytes} B, ${m.forwardPassesPerStep} forward passes per step${m.derivatives === 'exact' ? ` (each with ${m.decisionVariables} tangent directions)` : ''}; files: ${m.files.join(', ')}`);
      }
    }), () => {});
}
