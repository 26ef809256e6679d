/**
 * TFLite Micro's example models in the TS oracle: hello_world_int8 gives TFLM's outputs exactly
 * (shared/notes/baselines.md), hello_world_float approximates sin(x), the int8 CNNs lower and run with
 * a softmax that sums to one; the keyword (SVDF) models run; the float and int8 LSTM models classify drawn digits.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importTflite } from '../compiler/frontends/tflite.js';
import { isQuantizedProgram, lowerQuantizedGraph, runQuantizedProgram, type QuantizedProgram } from '../compiler/plan/lower-quantized.js';
import { loadProgram, serializeProgram } from '../compiler/plan/serialize.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { executeProgram } from '../compiler/exec/program.js';
import { runReference } from '../compiler/ir/reference.js';
import type { Program } from '../compiler/plan/program.js';

const M = join(import.meta.dirname, 'fixtures', 'tflite', 'models');
const load = (n: string) => lowerQuantizedGraph(importTflite(join(M, `${n}.tflite`)));

describe('TFLite example models', () => {
  it('hello_world_int8 matches TFLite Micro: -64 -> 126, -97 -> 85, -34 -> 93, 0 -> 4', () => {
    const p = load('hello_world_int8');
    expect(p.quant).toBe('int8');
    expect(p.steps.filter((s) => s.op === 'dense_s8').length).toBe(3);
    for (const [x, q, want] of [[1.57, -64, 126], [0.77, -97, 85], [2.3, -34, 93], [3.14, 0, 4]]) {
      expect(runQuantizedProgram(p, [[q]])[0]).toBe(want);
      // float IO: the boundary quantizes x with the file's input scale and zero point to the same int8
      const r = executeProgram(p as unknown as Program, new Float32Array([x]));
      expect(r.outputQ![0]).toBe(want);
      expect(r.output[0]).toBeCloseTo((want - 5) * 0.008290956728160381, 6);
    }
  });

  it('hello_world_float approximates sin(x) and agrees with the graph reference', () => {
    const g = importTflite(join(M, 'hello_world_float.tflite'));
    const p = lowerQuantizedGraph(g);
    expect(p.quant).toBe('float32');
    for (const x of [0.5, 1.57, 2.3, 3.14, 4.5, 6]) {
      const y = executeProgram(p as unknown as Program, new Float32Array([x])).output[0];
      expect(Math.abs(y - Math.sin(x))).toBeLessThan(0.15);
      expect(y).toBeCloseTo(runReference(g, new Float32Array([x]))[0], 5);
    }
  });

  it.each([['person_detect', [1, 2]], ['micro_speech_quantized', [1, 4]]] as const)('%s lowers and runs; the int8 softmax output sums to 1', (name, shape) => {
    const p = load(name);
    expect(p.outputs[0].shape).toEqual(shape);
    const n = p.inputs[0].shape.reduce((a, b) => a * b, 1);
    let s = 7;
    const x = Int8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16) % 256 - 128);
    const y = runQuantizedProgram(p, [x]);
    const total = Array.from(y).reduce((a, v) => a + v + 128, 0);
    expect(Math.abs(total - 256)).toBeLessThanOrEqual(2);
  });

  it.each([['keyword_scrambled', 2], ['keyword_scrambled_8bit', 2]] as const)('%s (QUANTIZE, SVDF x7, FULLY_CONNECTED, int8 -> int16 SOFTMAX) lowers and runs', (name, classes) => {
    const p = load(name);
    expect(p.steps.filter((s) => s.op === 'svdf_s8').length).toBe(7);
    const y = runQuantizedProgram(p, [Array.from({ length: 96 }, (_, i) => ((i * 2654435761) % 20001) - 10000)]);
    expect(y.length).toBe(classes);
    // int16 softmax output requantized to int32 with scale 2^-15: the probabilities sum to ~1
    const total = Array.from(y).reduce((a, v) => a + v * p.outputs[0].scale, 0);
    expect(Math.abs(total - 1)).toBeLessThan(0.01);
  });

  it.each(['trained_lstm', 'trained_lstm_int8'])('%s (UNIDIRECTIONAL_SEQUENCE_LSTM) classifies a drawn 1 and 0', (name) => {
    const p = load(name);
    expect(p.steps.filter((s) => s.op === (name === 'trained_lstm' ? 'lstm_f32' : 'lstm_s8')).length).toBe(1);
    const img = (draw: (set: (r: number, c: number) => void) => void) => {
      const x = new Float32Array(784);
      draw((r, c) => { if (r >= 0 && r < 28 && c >= 0 && c < 28) x[r * 28 + c] = 1; });
      return x;
    };
    const one = img((set) => { for (let r = 4; r < 24; r++) { set(r, 13); set(r, 14); } });
    const zero = img((set) => { for (let a = 0; a < 360; a += 2) { const t = (a * Math.PI) / 180, r = Math.round(14 + 9 * Math.sin(t)); set(r, Math.round(14 + 6 * Math.cos(t))); set(r, Math.round(15 + 6 * Math.cos(t))); } });
    for (const [x, digit] of [[one, 1], [zero, 0]] as const) {
      const io = p.inputs[0];
      // int8 input: the drawing quantized with the file's input scale and zero point (0 -> -128, 1 -> 127)
      const feed = io.dtype === 'int8' ? Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / io.scale) + io.zeroPoint))) : x;
      const y = Array.from(runQuantizedProgram(p, [feed]));
      expect(y.indexOf(Math.max(...y))).toBe(digit);
    }
  });

  it.each(['person_detect', 'keyword_scrambled_8bit', 'trained_lstm', 'trained_lstm_int8', 'hello_world_int8'])('%s survives a program.safetensors round trip bit for bit', (name) => {
    const p = load(name);
    const file = join(mkdtempSync(join(tmpdir(), 'tfl-')), 'program.safetensors');
    writeFileSync(file, serializeProgram(p as unknown as Program));
    const q = loadProgram(file) as unknown as QuantizedProgram;
    expect(isQuantizedProgram(q)).toBe(true);
    const n = p.inputs[0].shape.reduce((a, b) => a * b, 1);
    const x = Array.from({ length: n }, (_, i) => (p.inputs[0].dtype === 'float32' ? ((i * 37) % 100) / 100 : ((i * 37) % 200) - 100));
    expect(Array.from(runQuantizedProgram(q, [x]))).toEqual(Array.from(runQuantizedProgram(p, [x])));
  });
});
