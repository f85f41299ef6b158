import gexfModule from 'graphology-gexf/node/index.js';
import type { Topology } from './types.js';

// CommonJS with ESM typings: under NodeNext the default import is the module object.
const gexf = gexfModule as unknown as typeof import('graphology-gexf/node/index.js');

export type GraphFormat = 'dot' | 'graphml' | 'gexf';

/**
 * The topology in a format other tools read: Graphviz DOT, GraphML (yEd, Gephi, NetworkX) or GEXF (Gephi), with
 * edge weights and, where the map has them, node labels and coordinates. GEXF comes from graphology-gexf; DOT
 * and GraphML are written here, since no maintained graphology package writes them (graphology-graphml only
 * parses) and both are a few lines of text.
 */
export function exportGraph(graph: Topology, format: GraphFormat): string {
  switch (format) {
    case 'gexf':
      return gexf.write(graph);
    case 'dot':
      return dot(graph);
    case 'graphml':
      return graphml(graph);
  }
}

function dot(graph: Topology): string {
  const quote = (text: string) => `"${text.replace(/["\\]/g, '\\$&')}"`;
  const nodes = graph.mapNodes((id, a) => {
    const attributes = [`label=${quote(a.label ?? id)}`];
    if (a.latitude !== undefined && a.longitude !== undefined) attributes.push(`pos=${quote(`${a.longitude},${a.latitude}`)}`);
    return `  ${quote(id)} [${attributes.join(', ')}];`;
  });
  const edges = graph.mapEdges((_edge, a, source, target) => `  ${quote(source)} -- ${quote(target)} [weight=${a.weight}, label=${quote(String(a.weight))}];`);
  return `graph peerlab {\n${[...nodes, ...edges].join('\n')}\n}\n`;
}

function graphml(graph: Topology): string {
  const xml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const nodes = graph.mapNodes((id, a) => {
    const data = [
      a.label !== undefined ? `<data key="label">${xml(a.label)}</data>` : '',
      a.latitude !== undefined ? `<data key="Latitude">${a.latitude}</data>` : '',
      a.longitude !== undefined ? `<data key="Longitude">${a.longitude}</data>` : '',
    ].join('');
    return `    <node id="${xml(id)}">${data}</node>`;
  });
  const edges = graph.mapEdges((_edge, a, source, target) => `    <edge source="${xml(source)}" target="${xml(target)}"><data key="weight">${a.weight}</data></edge>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="label" for="node" attr.name="label" attr.type="string"/>
  <key id="Latitude" for="node" attr.name="Latitude" attr.type="double"/>
  <key id="Longitude" for="node" attr.name="Longitude" attr.type="double"/>
  <key id="weight" for="edge" attr.name="weight" attr.type="double"/>
  <graph edgedefault="undirected">
${[...nodes, ...edges].join('\n')}
  </graph>
</graphml>
`;
}
