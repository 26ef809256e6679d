/**
 * Graph IR: named float32 values and op nodes in topological order. Frontends build it, passes
 * rewrite it, the reference interpreter evaluates it, lowering turns it into a Program.
 */
import { fail } from '../errors.js';
import type { DenseAttrs } from '../ops/dense/index.js';
import { denseOutputShape } from '../ops/dense/index.js';

export interface Value {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface DenseNode {
  op: 'dense';
  name: string;
  input: string;
  output: string;
  attrs: DenseAttrs;
}

export type GraphNode = DenseNode;

export interface Graph {
  name: string;
  /** where the model came from, for error messages */
  source: string;
  modelType: string;
  inputs: Value[];
  outputs: Value[];
  nodes: GraphNode[];
  values: Map<string, Value>;
}

/** Recomputes every value's shape from the graph inputs through each op's shape rule. */
export function inferShapes(g: Graph): void {
  const values = new Map<string, Value>();
  for (const v of g.inputs) values.set(v.name, v);
  for (const n of g.nodes) {
    const x = values.get(n.input);
    if (!x) fail(`${g.source}: layer '${n.name}' reads '${n.input}', which no earlier layer produces`);
    const shape = denseOutputShape(x.shape, n.attrs, `${g.source}: layer '${n.name}'`);
    values.set(n.output, { name: n.output, shape, dtype: 'float32' });
  }
  for (const o of g.outputs) {
    const v = values.get(o.name);
    if (!v) fail(`${g.source}: graph output '${o.name}' is never produced`);
    o.shape = v.shape;
  }
  g.values = values;
}

export function parameterCount(g: Graph): number {
  return g.nodes.reduce((s, n) => s + n.attrs.weights.length + n.attrs.bias.length, 0);
}

export function macCount(g: Graph): number {
  return g.nodes.reduce((s, n) => s + n.attrs.inFeatures * n.attrs.outFeatures, 0);
}
