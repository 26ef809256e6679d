/** The float32 reference interpreter: the oracle every target's float path is checked against. */
import { opDef } from '../ops/registry.js';
import { denseReference } from '../ops/dense/index.js';
import { isDense, type Graph } from './graph.js';

export interface Trace {
  /** every value by name, plus `<node>:preact` (a dense output before its smooth activation) */
  values: Map<string, Float32Array>;
}

/** Runs the graph on its inputs (one Float32Array per graph input); returns every graph output. */
export function runReferenceAll(g: Graph, inputs: Float32Array[], trace?: Trace): Float32Array[] {
  const env = new Map<string, Float32Array>();
  g.inputs.forEach((v, i) => env.set(v.name, inputs[i]));
  for (const n of g.nodes) {
    const xs = n.inputs.map((name) => env.get(name)!);
    const shapes = n.inputs.map((name) => g.values.get(name)!.shape);
    if (trace && isDense(n) && n.attrs.activation !== 'linear' && n.attrs.activation !== 'relu') {
      trace.values.set(`${n.name}:preact`, denseReference(xs[0], { ...n.attrs, activation: 'linear' }));
    }
    const ys = opDef(n.op, n.name).reference(xs, shapes, n.attrs);
    n.outputs.forEach((name, i) => env.set(name, ys[i]));
  }
  if (trace) for (const [k, v] of env) trace.values.set(k, v);
  return g.outputs.map((o) => env.get(o.name)!);
}

/** Single-input, single-output convenience form. */
export function runReference(g: Graph, input: Float32Array, trace?: Trace): Float32Array {
  return runReferenceAll(g, [input], trace)[0];
}
