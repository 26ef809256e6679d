/**
 * Controller spec (`mpc.json`) for Newton-Raphson MPC around a learned forward model, and its validation
 * against the model. The model predicts the next plant output from a window of past inputs/outputs:
 *
 *   ŷ[k+1] = f(x[k]),  x[k] = the model input, laid out by `model_input` groups (concatenated in order;
 *   a group expands lag-major, then channel):  u[k - lag][ch], y[k - lag][ch], sensor[ch]
 *
 * `u` are the controls the MPC chooses, `y` the model outputs (channel c = model output c, fed back
 * recursively over the horizon), `sensor` other measurements held constant over the horizon.
 *
 * {
 *   "controls": 1, "sensors": 0,
 *   "model_input": [ { "source": "u", "channels": [0], "lags": [0, 1] },
 *                    { "source": "y", "channels": [0], "lags": [0, 1] } ],
 *   "horizon": { "N1": 1, "N2": 8, "Nu": 2 },
 *   "Q": [1], "lambda": 0.01,
 *   "bounds": { "lower": [-1], "upper": [1], "clamp": true, "barrier": 0.001 },
 *   "max_step": 0.5, "iterations": 1, "epsilon": 0.01, "derivatives": "exact", "u_init": [0], "rate_hz": 500
 * }
 */
import { existsSync, readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import type { Activation, Program } from '../plan/program.js';

export type Derivatives = 'exact' | 'finite-difference';
export const DERIVATIVES: readonly Derivatives[] = ['exact', 'finite-difference'];
export type InputSource = 'u' | 'y' | 'sensor';

export interface InputGroup { source: InputSource; channels: number[]; lags?: number[] }

export interface MpcSpec {
  controls: number;
  sensors?: number;
  model_input: InputGroup[];
  horizon: { N1: number; N2: number; Nu: number };
  Q: number[];
  lambda: number | number[];
  bounds?: { lower: number[]; upper: number[]; clamp?: boolean; barrier?: number };
  max_step?: number;
  iterations?: number;
  epsilon?: number;
  derivatives?: Derivatives;
  u_init?: number[];
  rate_hz?: number;
  /** reference = N2 rows (r[t+1] .. r[t+N2]) instead of one constant target */
  reference_preview?: boolean;
}

/** Limits (generated code sizes its buffers from them). */
export const MAX_DECISION_VARS = 8;
export const MAX_HORIZON = 64;
export const MAX_LAG = 32;
export const MAX_ITERATIONS = 20;
/** int8 forward models: the finite-difference epsilon is at least this many input quantization steps */
export const INT8_EPS_STEPS = 2;

export interface MpcLayer { inF: number; outF: number; act: Activation; w: Float32Array; b: Float32Array }

/** Input-kind codes used in the layout table (TS, C and WASM). */
export const KIND_U = 0, KIND_Y = 1, KIND_SENSOR = 2;
export const ACT_CODE: Record<Activation, number> = { linear: 0, relu: 1, tanh: 2, sigmoid: 3, gelu: 4 };

/** The validated, resolved controller: everything the solvers and the code generators need (float32 constants). */
export interface MpcPlan {
  name: string;
  m: number; p: number; s: number; nIn: number;
  N1: number; N2: number; Nu: number; n: number;
  iterations: number;
  mode: Derivatives;
  clamp: boolean;
  /** barrier sharpness s (0 = no barrier term) */
  barrier: number;
  epsilon: number;
  maxStep: number;
  /** nIn × (kind, channel, lag) */
  layout: Int32Array;
  /** model-input indices fed by u or y (the only ones with a nonzero derivative) */
  dyn: Int32Array;
  Q: Float32Array; lambda: Float32Array;
  lo: Float32Array; hi: Float32Array;
  /** barrier constants per control: r/2, b, 4/r */
  half: Float32Array; center: Float32Array; fourOverR: Float32Array;
  /** iterates are kept inside [clo, chi] (bounds, shrunk so the barrier and the FD stencil stay finite) */
  clo: Float32Array; chi: Float32Array;
  uInit: Float32Array;
  /** u history rows (u[t-1] .. u[t-HU]) and y history rows (y[t] .. y[t-HY+1]) */
  HU: number; HY: number;
  rateHz: number;
  /** reference holds N2 rows (preview) instead of one */
  preview: boolean;
  /** floats in the reference argument: preview ? N2·p : p */
  refSize: number;
  layers: MpcLayer[];
  maxWidth: number;
  /**
   * int8 forward model: the lowered int8 Program (quantize -> dense_s8/dense_s4 -> dequantize, fixed integer
   * semantics, compiler/plan/program.ts). `layers` then holds one shape-only entry (nIn -> p) and the model is
   * evaluated as a whole: C calls its tf_model_run, WASM replays its kernel calls, TS runs executeProgram.
   */
  int8?: Program;
  /** decisions the planner took on the user's behalf (printed by the CLI, kept in the manifest) */
  notes: string[];
}

const f = Math.fround;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function readSpec(path: string): MpcSpec {
  if (!existsSync(path)) fail(`${path}: no such controller spec; pass --spec mpc.json`);
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path}: expected a JSON object`);
    return v as MpcSpec;
  } catch (e) {
    if ((e as Error).name === 'TinyforgeError') throw e;
    return fail(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Ops an int8 forward model may use (the dense MLP path of lowerInt8). */
const INT8_OPS = new Set(['quantize', 'dense_s8', 'dequantize']);

/** Checks an int8 Program is a plain quantize -> dense layers -> dequantize MLP; returns its one shape-only layer. */
export function int8LayersOf(program: Program, where: string): MpcLayer[] {
  for (const s of program.steps) if (!INT8_OPS.has(s.op)) fail(`${where}: step '${s.name}' (${s.op}) is not supported in an int8 MPC forward model (quantize, dense_s8, dequantize only; int4 weights are not supported)`);
  const first = program.steps[0], last = program.steps[program.steps.length - 1];
  if (first?.op !== 'quantize' || first.in.space !== 'input' || last?.op !== 'dequantize' || last.out.space !== 'output') {
    fail(`${where}: an int8 MPC forward model must quantize its input first and dequantize into its output last`);
  }
  const nIn = program.input.shape.reduce((a, b) => a * b, 1), p = program.output.shape.reduce((a, b) => a * b, 1);
  return [{ inF: nIn, outF: p, act: 'linear', w: new Float32Array(0), b: new Float32Array(0) }];
}

/** Input quantization step of an int8 forward model (the scale of its first quantize). */
export function int8InputScale(program: Program): number {
  const q = program.steps.find((s) => s.op === 'quantize');
  return q && q.op === 'quantize' ? q.scale : 0;
}

/** Dense float layers of a float32 Program (the forward model), in order. */
export function layersOf(program: Program, where: string): MpcLayer[] {
  if (program.quant !== 'float32') fail(`${where}: expected a float32 forward model here, got ${program.quant}`);
  return program.steps.map((s) => {
    if (s.op !== 'dense_f32') return fail(`${where}: step '${s.name}' (${s.op}) is not supported by the MPC generator (dense float layers only)`);
    if (s.activation === 'gelu') fail(`${where}: layer '${s.name}' uses gelu; MPC derivatives support relu, tanh, sigmoid and linear`);
    return { inF: s.inFeatures, outF: s.outFeatures, act: s.activation, w: s.weights, b: s.bias };
  });
}

/** Validates `spec` against the forward model and resolves it into a plan. Throws one-line TinyforgeErrors. */
export function planMpc(spec: MpcSpec, layers: MpcLayer[], name: string, where = 'mpc.json', int8?: Program): MpcPlan {
  const E = (msg: string): never => fail(`${where}: ${msg}`);
  const notes: string[] = [];
  if (typeof spec !== 'object' || spec === null) E('expected a JSON object');
  const nIn = layers[0].inF, p = layers[layers.length - 1].outF;
  const m = spec.controls;
  if (!isInt(m) || m < 1) E(`"controls" must be a positive integer, got ${JSON.stringify(m)}`);
  const s = spec.sensors ?? 0;
  if (!isInt(s) || s < 0) E(`"sensors" must be a non-negative integer, got ${JSON.stringify(s)}`);
  if (!Array.isArray(spec.model_input) || spec.model_input.length === 0) E('"model_input" must be a non-empty list of {source, channels, lags}');

  const layout: number[] = [];
  const dyn: number[] = [];
  let maxULag = 0, maxYLag = 0;
  spec.model_input.forEach((g, gi) => {
    const at = `model_input[${gi}]`;
    if (typeof g !== 'object' || g === null) E(`${at} must be an object {source, channels, lags}`);
    const kind = g.source === 'u' ? KIND_U : g.source === 'y' ? KIND_Y : g.source === 'sensor' ? KIND_SENSOR : E(`${at}.source must be "u", "y" or "sensor", got ${JSON.stringify(g.source)}`);
    const limit = kind === KIND_U ? m : kind === KIND_Y ? p : s;
    const what = kind === KIND_U ? `"controls" (${m})` : kind === KIND_Y ? `the model's ${p} outputs` : `"sensors" (${s})`;
    if (!Array.isArray(g.channels) || g.channels.length === 0) E(`${at}.channels must be a non-empty list of channel indices`);
    for (const c of g.channels) if (!isInt(c) || c < 0 || c >= limit) E(`${at}: channel ${JSON.stringify(c)} is outside ${what}`);
    const lags: number[] = (kind === KIND_SENSOR ? (g.lags ?? [0]) : g.lags) as number[];
    if (!Array.isArray(lags) || lags.length === 0) E(`${at}.lags must be a non-empty list of lags (0 = current step)`);
    for (const l of lags) {
      if (!isInt(l) || l < 0 || l > MAX_LAG) E(`${at}: lag ${JSON.stringify(l)} must be an integer in [0, ${MAX_LAG}]`);
      if (kind === KIND_SENSOR && l !== 0) E(`${at}: sensors are measured now; lags must be [0]`);
    }
    for (const l of lags) {
      for (const c of g.channels) {
        if (kind !== KIND_SENSOR) dyn.push(layout.length / 3);
        layout.push(kind, c, l);
        if (kind === KIND_U) maxULag = Math.max(maxULag, l);
        if (kind === KIND_Y) maxYLag = Math.max(maxYLag, l);
      }
    }
  });
  const entries = layout.length / 3;
  if (entries !== nIn) E(`model_input describes ${entries} model inputs but the forward model takes ${nIn}`);
  if (!layout.some((_, i) => i % 3 === 0 && layout[i] === KIND_U)) E('model_input has no "u" group: the controls must feed the model');

  const h = spec.horizon;
  if (typeof h !== 'object' || h === null) E('"horizon" must be {N1, N2, Nu}');
  const { N1, N2, Nu } = h;
  if (!isInt(N2) || N2 < 1 || N2 > MAX_HORIZON) E(`horizon.N2 must be an integer in [1, ${MAX_HORIZON}], got ${JSON.stringify(N2)}`);
  if (!isInt(N1) || N1 < 1 || N1 > N2) E(`horizon.N1 must be an integer in [1, N2=${N2}], got ${JSON.stringify(N1)}`);
  if (!isInt(Nu) || Nu < 1 || Nu > N2) E(`horizon.Nu must be an integer in [1, N2=${N2}], got ${JSON.stringify(Nu)}`);
  const n = Nu * m;
  if (n > MAX_DECISION_VARS) E(`Nu × controls = ${n} decision variables; at most ${MAX_DECISION_VARS} are supported (lower Nu)`);

  if (!Array.isArray(spec.Q) || spec.Q.length !== p || !spec.Q.every((q) => isNum(q) && q >= 0)) E(`"Q" must list ${p} non-negative output weights (one per model output)`);
  const lam = typeof spec.lambda === 'number' ? new Array(m).fill(spec.lambda) : spec.lambda;
  if (!Array.isArray(lam) || lam.length !== m || !lam.every((v) => isNum(v) && v >= 0)) E(`"lambda" must be a non-negative number or a list of ${m}`);

  const lo = new Float32Array(m).fill(-1e30), hi = new Float32Array(m).fill(1e30);
  let clamp = false, barrier = 0;
  if (spec.bounds !== undefined) {
    const b = spec.bounds;
    if (!Array.isArray(b.lower) || b.lower.length !== m || !b.lower.every(isNum)) E(`bounds.lower must list ${m} numbers`);
    if (!Array.isArray(b.upper) || b.upper.length !== m || !b.upper.every(isNum)) E(`bounds.upper must list ${m} numbers`);
    for (let c = 0; c < m; c++) {
      if (!(b.lower[c] < b.upper[c])) E(`bounds for control ${c}: lower ${b.lower[c]} must be below upper ${b.upper[c]}`);
      lo[c] = b.lower[c]; hi[c] = b.upper[c];
    }
    clamp = b.clamp ?? true;
    if (typeof clamp !== 'boolean') E('bounds.clamp must be true or false');
    barrier = b.barrier ?? 0;
    if (!isNum(barrier) || barrier < 0) E(`bounds.barrier (the Soloway-Haley sharpness s) must be a number >= 0, got ${JSON.stringify(b.barrier)}`);
  }
  const iterations = spec.iterations ?? 1;
  if (!isInt(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) E(`"iterations" must be an integer in [1, ${MAX_ITERATIONS}]`);
  let epsilon = spec.epsilon ?? 1e-2;
  if (!isNum(epsilon) || epsilon <= 0) E(`"epsilon" must be a positive number, got ${JSON.stringify(spec.epsilon)}`);
  let mode = spec.derivatives ?? 'exact';
  if (!DERIVATIVES.includes(mode)) E(`"derivatives" must be one of ${DERIVATIVES.join(', ')}, got ${JSON.stringify(mode)}`);
  if (int8) {
    // a quantized network is piecewise constant in its inputs: it has no exact (forward-mode) derivatives
    if (mode === 'exact') {
      notes.push(`int8 forward model: "derivatives": "exact" does not exist for a quantized network (piecewise constant in its inputs); using central finite differences of J through the int8 network`);
      mode = 'finite-difference';
    }
    // the stencil must move the quantized input: at least INT8_EPS_STEPS input quantization steps
    const step = int8InputScale(int8), minEps = f(INT8_EPS_STEPS * step);
    if (epsilon < minEps) {
      notes.push(`int8 forward model: "epsilon" ${epsilon} is below ${INT8_EPS_STEPS} input quantization steps (${INT8_EPS_STEPS} x ${step.toPrecision(4)}); the finite-difference stencil uses epsilon = ${minEps.toPrecision(4)}`);
      epsilon = minEps;
    }
  }
  const maxStep = spec.max_step ?? 1e30;
  if (!isNum(maxStep) || maxStep <= 0) E(`"max_step" must be a positive number`);
  const rateHz = spec.rate_hz ?? 500;
  if (!isNum(rateHz) || rateHz <= 0) E(`"rate_hz" must be a positive number`);
  const preview = spec.reference_preview ?? false;
  if (typeof preview !== 'boolean') E('"reference_preview" must be true or false');
  const uInit = new Float32Array(m);
  if (spec.u_init !== undefined) {
    if (!Array.isArray(spec.u_init) || spec.u_init.length !== m || !spec.u_init.every(isNum)) E(`"u_init" must list ${m} numbers`);
    spec.u_init.forEach((v, c) => { uInit[c] = v; });
  } else if (spec.bounds) for (let c = 0; c < m; c++) uInit[c] = f((lo[c] + hi[c]) / 2);
  for (let c = 0; c < m; c++) if (spec.bounds && !(uInit[c] > lo[c] && uInit[c] < hi[c]) && barrier > 0) E(`u_init[${c}] = ${uInit[c]} must lie strictly inside the bounds when the barrier is on`);

  const half = new Float32Array(m), center = new Float32Array(m), fourOverR = new Float32Array(m);
  const clo = new Float32Array(m), chi = new Float32Array(m);
  for (let c = 0; c < m; c++) {
    const r = f(hi[c] - lo[c]);
    half[c] = f(r / 2); center[c] = f(f(hi[c] + lo[c]) / 2); fourOverR[c] = f(4 / r);
    // the barrier needs strictly interior iterates; the FD stencil probes ±epsilon around them
    const margin = barrier > 0 ? f(r / 1024) + (mode === 'finite-difference' ? epsilon : 0) : 0;
    if (barrier > 0 && 2 * margin >= r) E(`bounds for control ${c} are narrower than the finite-difference stencil; lower "epsilon"`);
    clo[c] = f(lo[c] + margin); chi[c] = f(hi[c] - margin);
  }
  const maxWidth = Math.max(nIn, ...layers.map((l) => l.outF));
  return {
    name, m, p, s, nIn, N1, N2, Nu, n, iterations, mode, clamp, barrier: f(barrier), epsilon: f(epsilon), maxStep: f(maxStep),
    layout: Int32Array.from(layout), dyn: Int32Array.from(dyn),
    Q: Float32Array.from(spec.Q), lambda: Float32Array.from(lam), lo, hi, half, center, fourOverR, clo, chi, uInit,
    HU: Math.max(1, maxULag), HY: maxYLag + 1, rateHz, preview, refSize: preview ? N2 * p : p, layers, maxWidth,
    ...(int8 ? { int8 } : {}), notes,
  };
}

/** measurement = [y(p), sensors(s)], reference = [r(p)], u_out = [u(m)] */
export const measurementSize = (pl: MpcPlan) => pl.p + pl.s;
