import type { Topology } from '../topology/index.js';
import { escapeHtml } from './html.js';
import { nodePositions } from './layout.js';
import { maxOf } from '../util/extremes.js';

export interface TopologySvgOptions {
  readonly width?: number;
  /** A fill colour per node (e.g. by verdict); grey otherwise. */
  readonly colour?: (id: string) => string | undefined;
  /** A line per node added to its hover text. */
  readonly describe?: (id: string) => string | undefined;
  /** Label the edges with their weights (the default for graphs of up to 60 edges). */
  readonly weights?: boolean;
}

/**
 * The topology as a standalone SVG: nodes at their map coordinates (or a layout), edges with their weights,
 * hover text per node and edge. Used by report.html and `peerlab topology show --svg`.
 */
/** The width of a character of a node's label (10 px sans-serif), a little over the average, in px. */
const LABEL_CHAR_PX = 6;

export function topologySvg(graph: Topology, options: TopologySvgOptions = {}): string {
  const width = options.width ?? 720;
  const margin = 24;
  const radius = graph.order <= 50 ? 7 : graph.order <= 300 ? 4 : 2.5;
  const labels = graph.order <= 80;
  // Labels run to the right of their node: room for the longest, so a node at the map's east edge keeps its name.
  const rightMargin = labels ? Math.max(margin, radius + 4 + LABEL_CHAR_PX * maxOf(graph.mapNodes((id, attributes) => String(attributes.label ?? id).length), 0)) : margin;
  const inner = width - margin - rightMargin;
  const { points, source } = nodePositions(graph);
  // A wide map needs less height than a square.
  const height = Math.round(2 * margin + inner * maxOf([...points.values()].map((p) => p.y), 0.2));
  const at = (id: string) => {
    const p = points.get(id)!;
    return { x: margin + p.x * inner, y: margin + p.y * inner };
  };
  const weights = options.weights ?? graph.size <= 60;
  const edges = graph.mapEdges((_edge, attributes, source, target) => {
    const [a, b] = [at(source), at(target)];
    const title = `<title>${escapeHtml(`${source} — ${target}, weight ${attributes.weight}`)}</title>`;
    const weight = weights
      ? `<text class="w" x="${round((a.x + b.x) / 2)}" y="${round((a.y + b.y) / 2)}">${escapeHtml(String(attributes.weight))}</text>`
      : '';
    return `<g class="edge"><line x1="${round(a.x)}" y1="${round(a.y)}" x2="${round(b.x)}" y2="${round(b.y)}">${title}</line>${weight}</g>`;
  });
  const nodes = graph.mapNodes((id, attributes) => {
    const p = at(id);
    const name = attributes.label ? `${id} (${attributes.label})` : id;
    const extra = options.describe?.(id);
    const title = `<title>${escapeHtml(`node ${name}, degree ${graph.degree(id)}${extra ? `\n${extra}` : ''}`)}</title>`;
    const label = labels ? `<text x="${round(p.x + radius + 2)}" y="${round(p.y - radius - 1)}">${escapeHtml(attributes.label ?? id)}</text>` : '';
    return `<g class="node" data-node="${escapeHtml(id)}"><circle cx="${round(p.x)}" cy="${round(p.y)}" r="${radius}" fill="${options.colour?.(id) ?? '#5b7083'}">${title}</circle>${label}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="topology" data-positions="${source}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<style>.edge line{stroke:#9aa5b1;stroke-width:${graph.size > 2000 ? 0.4 : 1}}.w{font:9px sans-serif;fill:#8a6d00;text-anchor:middle}.node text{font:10px sans-serif;fill:#333}.node circle{stroke:white;stroke-width:1}</style>
<rect width="100%" height="100%" fill="white"/>
${edges.join('\n')}
${nodes.join('\n')}
</svg>`;
}

const round = (value: number): number => Math.round(value * 10) / 10;
