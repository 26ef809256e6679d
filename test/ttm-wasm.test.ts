/**
 * TinyTimeMixer through the WASM backend, int8 and int4 weights: the forecasts of all 8 fixture samples are
 * bit-identical (float32 bit patterns) to the TS oracle and to the C backend on the host; and the runtime's
 * forecast() API ([context][channels] in, [horizon][channels] out) on both fixtures.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnCHost } from '../compiler/backends/c/host.js';
import { emitWasm } from '../compiler/backends/wasm/index.js';
import { executeProgram } from '../compiler/exec/program.js';
import { importCheckpoint } from '../compiler/frontends/index.js';
import { readSafetensors, toFloat32 } from '../compiler/io/safetensors.js';
import { lowerFloat, lowerInt8 } from '../compiler/plan/lower.js';
import { calibrate } from '../compiler/quant/calibrate.js';
import { load, TinyforgeRuntimeError } from '../runtime/index.js';

function fixture(name: string) {
  const dir = join(import.meta.dirname, 'fixtures', name);
  const g = importCheckpoint(dir);
  const io = readSafetensors(join(dir, 'io.safetensors'));
  const x = toFloat32(io.tensors.get('past_values')!, 'past_values', 'io');
  const [L, C] = g.inputs[0].shape;
  const samples = Array.from({ length: 8 }, (_, b) => x.slice(b * L * C, (b + 1) * L * C));
  return { g, samples, L, C, calib: calibrate(g, samples, { method: 'minmax', percentile: 99.99 }) };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe.each(['ttm-mini', 'ttm-r1-512-96'])('%s int8 / int4 through WASM', (name) => {
  const f = fixture(name);

  it.each([8, 4] as const)('int%i: WASM forecasts are bit-identical to the TS oracle and to C on the host (8 samples)', async (weightBits) => {
    const p = lowerInt8(f.g, f.calib, weightBits);
    if (weightBits === 4) expect(p.steps.some((s) => s.op === 'dense_s4')).toBe(true);
    const m = await load(await emitWasm(p));
    const host = await runOnCHost(p, f.samples, { target: 'c' });
    const H = p.output.shape[0] * p.output.shape[1];
    const batched = m.run({ past_values: Float32Array.from(f.samples.flatMap((s) => Array.from(s))) }).prediction_outputs;
    f.samples.forEach((x, s) => {
      const want = bits(executeProgram(p, x).output);
      const got = m.run({ past_values: x }).prediction_outputs;
      expect(bits(got), `sample ${s} vs oracle`).toEqual(want);
      expect(bits(host.outputs[s]), `sample ${s} C host vs oracle`).toEqual(want);
      expect(bits(batched.subarray(s * H, (s + 1) * H)), `sample ${s} batched`).toEqual(want);
    });
  });

  it('forecast(): [context][channels] -> [horizon][channels], Float32Array or number[][], longer histories cut to the last context rows', async () => {
    const p = lowerInt8(f.g, f.calib, 8);
    const m = await load(await emitWasm(p));
    const [H, C] = p.output.shape;
    const x = f.samples[3];
    const want = m.run({ past_values: x }).prediction_outputs;
    const rows = Array.from({ length: f.L }, (_, t) => Array.from(x.subarray(t * f.C, (t + 1) * f.C)));
    for (const got of [m.forecast(x), m.forecast(rows)]) {
      expect(got.length).toBe(H);
      got.forEach((row) => expect(row.length).toBe(C));
      expect(Float32Array.from(got.flat())).toEqual(want);
    }
    // extra history in front is ignored
    const older = Array.from({ length: 5 }, () => Array.from({ length: f.C }, () => 1e6));
    expect(m.forecast([...older, ...rows])).toEqual(m.forecast(rows));
    const longer = new Float32Array((f.L + 7) * f.C).fill(-3);
    longer.set(x, 7 * f.C);
    expect(m.forecast(longer)).toEqual(m.forecast(x));
  });

  it('forecast() refuses a short history or a wrong number of channels with one-line errors', async () => {
    const m = await load(await emitWasm(lowerFloat(f.g)));
    const rows = Array.from({ length: f.L }, () => new Array<number>(f.C).fill(0.5));
    const oneLine = (fn: () => unknown, pattern: RegExp) => {
      let err: unknown;
      try { fn(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(TinyforgeRuntimeError);
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).toMatch(pattern);
    };
    oneLine(() => m.forecast(rows.slice(1)), new RegExp(`${f.L - 1} time steps .* context of ${f.L}`));
    oneLine(() => m.forecast(new Float32Array((f.L - 1) * f.C)), /context/);
    oneLine(() => m.forecast(rows.map((r) => [...r, 1])), new RegExp(`${f.C + 1} channels`));
    if (f.C > 1) oneLine(() => m.forecast(new Float32Array(f.L * f.C + 1)), /channels/);
    oneLine(() => m.forecast('abc' as unknown as number[][]), /Float32Array or number\[\]\[\]/);
    // float model: forecast() equals run()
    expect(Float32Array.from(m.forecast(rows).flat())).toEqual(m.run({ past_values: Float32Array.from(rows.flat()) }).prediction_outputs);
  });
});
