import type { Argv } from 'yargs';
import { openCompiled, runOn, RUN_ON, type RunOn } from '../run.js';
import { readSamples } from '../io/samples.js';
import { writeSafetensors } from '../io/safetensors.js';

/** `tinyforge run <compiled-dir> --input in.safetensors [--output out.safetensors] [--on ...]` */
export function register(y: Argv): Argv {
  return y
    .command('run <compiled>', 'run a compiled model on inputs from a safetensors file', (y) => y
      .positional('compiled', { type: 'string', demandOption: true, describe: 'folder written by tinyforge compile' })
      .option('input', { type: 'string', demandOption: true, describe: 'safetensors file with the input tensor [N, ...] or [...]' })
      .option('output', { type: 'string', describe: 'safetensors file to write the outputs to' })
      .option('on', { choices: RUN_ON as RunOn[], default: 'wasm' as RunOn })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const model = openCompiled(a.compiled);
      const inputs = readSamples(a.input, model.program.input.name, model.program.input.shape);
      const r = await runOn(model, a.on, inputs);
      const outLen = r.outputs[0].length;
      const flat = new Float32Array(inputs.length * outLen);
      r.outputs.forEach((o, i) => flat.set(o, i * outLen));
      if (a.output) {
        const tensors: Parameters<typeof writeSafetensors>[1] = { [model.program.output.name]: { dtype: 'F32', shape: [inputs.length, ...model.program.output.shape], data: flat } };
        if (r.outputsQ) {
          const q = new Int8Array(inputs.length * outLen);
          r.outputsQ.forEach((o, i) => q.set(o, i * outLen));
          tensors[`${model.program.output.name}_q`] = { dtype: 'I8', shape: [inputs.length, ...model.program.output.shape], data: q };
        }
        writeSafetensors(a.output, tensors);
      }
      const instr = 'instructions' in r ? r.instructions : undefined;
      if (a.json) console.log(JSON.stringify({ on: a.on, samples: inputs.length, outputs: r.outputs.map((o) => Array.from(o)), ...(instr ? { instructions: instr } : {}) }));
      else {
        console.log(`ran ${inputs.length} sample(s) of ${model.program.name} on ${a.on}${a.output ? ` -> ${a.output}` : ''}`);
        r.outputs.slice(0, 4).forEach((o, i) => console.log(`  [${i}] ${Array.from(o.slice(0, 8), (v) => v.toPrecision(6)).join(' ')}${o.length > 8 ? ' ...' : ''}`));
        if (instr) console.log(`  instructions per inference: ${instr.join(', ')}`);
      }
    });
}
