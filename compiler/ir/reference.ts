/** The float32 reference interpreter: the oracle every target's float path is checked against. */
import { denseReference } from '../ops/dense/index.js';
import type { Graph } from './graph.js';

export interface Trace {
  /** every value by name, plus `<node>:preact` (the dense output before its activation) */
  values: Map<string, Float32Array>;
}

export function runReference(g: Graph, input: Float32Array, trace?: Trace): Float32Array {
  const env = new Map<string, Float32Array>([[g.inputs[0].name, input]]);
  for (const n of g.nodes) {
    const x = env.get(n.input)!;
    if (trace && n.attrs.activation !== 'linear' && n.attrs.activation !== 'relu') {
      trace.values.set(`${n.name}:preact`, denseReference(x, { ...n.attrs, activation: 'linear' }));
    }
    env.set(n.output, denseReference(x, n.attrs));
  }
  if (trace) for (const [k, v] of env) trace.values.set(k, v);
  return env.get(g.outputs[0].name)!;
}
