/**
 * MatFormer checkpoints (BERT-style encoder, MatFormer-OLMo causal LM) import by their real parameter
 * names, and every sub-model of submodels.json (uniform and Mix'n'Match), extracted by slicing the
 * nested FFNs, reproduces the reference outputs in io.safetensors within 1e-4 through the float
 * reference interpreter on the multi-input / multi-output graph.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { matformerMeta } from '../compiler/frontends/matformer-bert.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { runReferenceAll } from '../compiler/ir/reference.js';
import { extractSubmodel, importMatformerCheckpoint, matformerParameterCount, resolveSubmodel } from '../compiler/passes/matformer.js';

const FIX = join(import.meta.dirname, 'fixtures');

const cases = [
  { name: 'matbert-tiny', T: 48, params: 141248, inputs: ['input_ids', 'token_type_ids', 'attention_mask'], outputs: ['last_hidden_state', 'pooler_output'] },
  { name: 'matlm-tiny', T: 64, params: 344640, inputs: ['input_ids', 'attention_mask'], outputs: ['logits'] },
] as const;

describe.each(cases)('$name', ({ name, T, params, inputs, outputs }) => {
  const dir = join(FIX, name);
  const g = importMatformerCheckpoint(dir, { sequenceLength: T });
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const tensor = (n: string) => toFloat32(io.tensors.get(n)!, n, 'io.safetensors');
  const submodels = JSON.parse(readFileSync(join(dir, 'submodels.json'), 'utf8')).submodels as Record<string, { ffn_widths_per_layer: number[] }>;

  it(`imports ${params} parameters with inputs ${inputs.join(', ')} and outputs ${outputs.join(', ')}`, () => {
    expect(matformerParameterCount(g)).toBe(params);
    expect(g.inputs.map((v) => v.name)).toEqual(inputs);
    expect(g.inputs.every((v) => v.shape.join() === `${T}`)).toBe(true);
    expect(g.outputs.map((v) => v.name)).toEqual(outputs);
    // the generic dispatcher takes the same folders (built for the model's maximum length)
    const d = importCheckpoint(dir);
    expect(d.inputs[0].shape).toEqual([64]);
  });

  it.each(Object.keys(submodels))('sub-model %s reproduces io.safetensors within 1e-4', (s) => {
    const widths = submodels[s].ffn_widths_per_layer;
    const spec = widths.every((w) => w === widths[0]) ? `uniform:${widths[0]}` : `mix:${widths.join(',')}`;
    expect(resolveSubmodel(g, spec).widths).toEqual(widths);
    const sub = extractSubmodel(g, widths);
    expect(matformerMeta(sub)!.widths).toEqual(widths);
    const feeds = inputs.map((n) => tensor(n));
    let maxErr = 0;
    for (let b = 0; b < 4; b++) {
      const got = runReferenceAll(sub, feeds.map((f) => f.slice(b * T, (b + 1) * T)));
      outputs.forEach((o, k) => {
        const ref = tensor(`${o}.${s}`), per = got[k].length;
        for (let i = 0; i < per; i++) maxErr = Math.max(maxErr, Math.abs(got[k][i] - ref[b * per + i]));
      });
    }
    console.log(`${name} ${s} [${widths}]: max abs error ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThanOrEqual(1e-4);
  });

  it('sub-models differ from each other (a wrong slice would show)', () => {
    const feeds = inputs.map((n) => tensor(n).slice(0, T));
    const meta = matformerMeta(g)!;
    const a = runReferenceAll(extractSubmodel(g, meta.layers.map(() => meta.granularities[0])), feeds)[0];
    const b = runReferenceAll(g, feeds)[0];
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    expect(d).toBeGreaterThan(0.1);
  });
});
