/**
 * Graph IR: named float32 values (N-d, row-major) and op nodes in topological order. Frontends build
 * it, passes rewrite it, the reference interpreter evaluates it, lowering turns it into a Program.
 * Every op's shape rule and reference live in compiler/ops/<op>/ (see ops/registry.ts).
 */
import { fail } from '../errors.js';
import '../ops/all.js';
import { opDef } from '../ops/registry.js';
import type { DenseAttrs } from '../ops/dense/index.js';

export interface Value {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface GraphNode<A = unknown> {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: A;
}

export type DenseNode = GraphNode<DenseAttrs> & { op: 'dense' };
export const isDense = (n: GraphNode): n is DenseNode => n.op === 'dense';

export interface Graph {
  name: string;
  /** where the model came from, for error messages */
  source: string;
  modelType: string;
  inputs: Value[];
  outputs: Value[];
  nodes: GraphNode[];
  values: Map<string, Value>;
  /** model-family facts other tools need (e.g. TTM's context/prediction length) */
  meta?: Record<string, unknown>;
}

/** Recomputes every value's shape from the graph inputs through each op's shape rule. */
export function inferShapes(g: Graph): void {
  const values = new Map<string, Value>();
  for (const v of g.inputs) values.set(v.name, v);
  for (const n of g.nodes) {
    const where = `${g.source}: layer '${n.name}'`;
    const shapes = n.inputs.map((name) => {
      const x = values.get(name);
      if (!x) fail(`${where} reads '${name}', which no earlier layer produces`);
      return x.shape;
    });
    const outs = opDef(n.op, where).shape(shapes, n.attrs, where);
    n.outputs.forEach((name, i) => values.set(name, { name, shape: outs[i], dtype: 'float32' }));
  }
  for (const o of g.outputs) {
    const v = values.get(o.name);
    if (!v) fail(`${g.source}: graph output '${o.name}' is never produced`);
    o.shape = v.shape;
  }
  g.values = values;
}

export function nodeParameters(n: GraphNode): number {
  return opDef(n.op, n.name).parameters?.(n.attrs) ?? 0;
}

export function nodeMacs(g: Graph, n: GraphNode): number {
  return opDef(n.op, n.name).macs?.(n.inputs.map((i) => g.values.get(i)!.shape), n.attrs) ?? 0;
}

export function parameterCount(g: Graph): number {
  return g.nodes.reduce((s, n) => s + nodeParameters(n), 0);
}

export function macCount(g: Graph): number {
  return g.nodes.reduce((s, n) => s + nodeMacs(g, n), 0);
}
