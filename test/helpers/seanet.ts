/**
 * TFLite Micro's seanet int16x8 single-layer test cases (test/fixtures/tflite/seanet/<op>/<op><i>.tflite) with
 * their test vectors as TFLM names them: `<op><i>_input<k>_<dtype>.csv` for graph input k (the position in the
 * file's input list) and `<op><i>_golden_<dtype>.csv` for the output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTflite } from '../../compiler/frontends/tflite.js';
import { lowerQuantizedGraph, parseFlatCsv, type QuantizedProgram } from '../../compiler/plan/lower-quantized.js';

export const SEANET_DIR = join(import.meta.dirname, '..', 'fixtures', 'tflite', 'seanet');
export const SEANET_OPS = ['add', 'conv', 'leaky_relu', 'pad', 'quantize', 'strided_slice', 'sub', 'transpose_conv'];

/** Every [op, case] whose model is in the fixtures. */
export const SEANET_CASES = SEANET_OPS.flatMap((op) => [0, 1, 2, 3, 4].map((i) => [op, i] as const)).filter(([op, i]) => existsSync(join(SEANET_DIR, op, `${op}${i}.tflite`)));

const DTYPES = ['int16', 'int8', 'int32'];
const vectorFile = (base: string, kind: string) => DTYPES.map((t) => `${base}_${kind}_${t}.csv`).find(existsSync);
const read = (f: string) => parseFlatCsv(readFileSync(f, 'utf8'), f);

export interface SeanetCase {
  program: QuantizedProgram;
  /** per graph input (the program's input order): its values, or undefined when the fixtures lack the file */
  inputs: (number[] | undefined)[];
  golden: number[] | undefined;
  /** every input and the golden output are in the fixtures: a bit-exact check is possible */
  complete: boolean;
  /** the integer-API sample: every input's values in turn */
  concatenated: number[];
}

export function seanetCase(op: string, i: number): SeanetCase {
  const base = join(SEANET_DIR, op, `${op}${i}`);
  const program = lowerQuantizedGraph(importTflite(`${base}.tflite`));
  const inputs = program.inputs.map((io) => { const f = vectorFile(base, `input${io.filePosition}`); return f ? read(f) : undefined; });
  const g = vectorFile(base, 'golden');
  const golden = g ? read(g) : undefined;
  const complete = !!golden && inputs.every(Boolean);
  return { program, inputs, golden, complete, concatenated: inputs.flatMap((v) => v ?? []) };
}

/** The cases the fixtures can check bit for bit. */
export const SEANET_COMPLETE = SEANET_CASES.filter(([op, i]) => seanetCase(op, i).complete);
