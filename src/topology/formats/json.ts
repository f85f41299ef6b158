import { z } from 'zod';
import { formatFieldPath } from '../../util/field-path.js';
import { malformed, type RawGraph } from '../raw-graph.js';

const id = z.union([z.string(), z.number()]).transform(String);
const attributes = z.record(z.string(), z.unknown()).default({});

/** graphology's `Graph.export()` form; graph-level attributes and edge keys are not needed. */
const serializedGraph = z.object({
  options: z.object({ type: z.enum(['undirected', 'directed', 'mixed']).optional() }).optional(),
  nodes: z.array(z.object({ key: id, attributes })),
  edges: z.array(z.object({ source: id, target: id, attributes, undirected: z.boolean().optional() })).default([]),
});

const JSON_HINT = 'a JSON topology is in graphology export form: {"nodes":[{"key":"0"}],"edges":[{"source":"0","target":"1"}]}';

export function parseGraphologyJson(text: string, file: string): RawGraph {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw malformed(file, `is not valid JSON: ${(error as Error).message}`, { hint: JSON_HINT });
  }
  const parsed = serializedGraph.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw malformed(file, `field ${formatFieldPath(issue.path)}: ${issue.message}`, { hint: JSON_HINT });
  }
  const { options, nodes, edges } = parsed.data;
  return {
    // In a mixed graph's export only undirected edges carry `undirected: true`.
    directed: options?.type === 'directed' || (options?.type === 'mixed' && edges.some((edge) => edge.undirected !== true)),
    nodes: nodes.map((node) => ({ id: node.key, attributes: node.attributes })),
    edges: edges.map((edge) => ({ source: edge.source, target: edge.target, attributes: edge.attributes })),
  };
}
