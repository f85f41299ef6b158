import { malformed, type RawGraph, type RawNode } from '../raw-graph.js';

/** One `u v [weight]` per line, whitespace or comma separated; `#` starts a comment. Nodes appear with their first edge. */
export function parseEdgeList(text: string, file: string): RawGraph {
  const nodes = new Map<string, RawNode>();
  const graph: RawGraph = { nodes: [], edges: [], directed: false };
  const declare = (id: string, line: number): void => {
    if (nodes.has(id)) return;
    const node = { id, attributes: {}, line };
    nodes.set(id, node);
    graph.nodes.push(node);
  };

  text.split('\n').forEach((content, index) => {
    const line = index + 1;
    const fields = content
      .replace(/#.*/, '')
      .split(/[\s,]+/)
      .filter((field) => field !== '');
    if (fields.length === 0) return;
    if (fields.length > 3 || fields.length < 2) {
      throw malformed(file, `expected "u v [weight]", found ${fields.length === 1 ? '1 field' : `${fields.length} fields`}`, { line });
    }
    const [source, target, weightText] = fields as [string, string, string?];
    const attributes: Record<string, unknown> = {};
    if (weightText !== undefined) {
      const weight = Number(weightText);
      if (!Number.isFinite(weight)) {
        throw malformed(file, `weight "${weightText}" is not a number`, {
          line,
          hint: 'the third column must be numeric; comment out a header line with #',
        });
      }
      attributes['weight'] = weight;
    }
    declare(source, line);
    declare(target, line);
    graph.edges.push({ source, target, attributes, line });
  });
  return graph;
}
