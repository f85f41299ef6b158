import { circular } from 'graphology-layout';
import forceAtlas2Module from 'graphology-layout-forceatlas2';
import type { Topology } from '../topology/index.js';
import { maxOf, minOf } from '../util/extremes.js';

// The package is CommonJS with `export default` typings: under NodeNext its default import is the module object.
const forceAtlas2 = forceAtlas2Module as unknown as typeof forceAtlas2Module.default;

export interface Positions {
  /** Where each node is drawn, in a unit box: x and y in [0, 1], y growing downwards. */
  readonly points: ReadonlyMap<string, { x: number; y: number }>;
  /** Where the positions come from: the map's coordinates, or a force-directed layout. */
  readonly source: 'coordinates' | 'layout';
}

/**
 * Node positions for every picture of a topology (report, SVG export, dashboard): the map's own geography when
 * every node has coordinates (longitude east, latitude north), otherwise ForceAtlas2 from a circle, which is
 * deterministic, so the same graph is always drawn the same way.
 */
export function nodePositions(graph: Topology): Positions {
  const charted = graph.order > 0 && graph.everyNode((_id, attributes) => attributes.latitude !== undefined && attributes.longitude !== undefined);
  const raw = new Map<string, { x: number; y: number }>();
  if (charted) {
    // Equirectangular, with longitude shrunk by the cosine of the mean latitude so a map keeps its proportions.
    const meanLatitude = graph.reduceNodes((total, _id, a) => total + a.latitude!, 0) / graph.order;
    const shrink = Math.cos((meanLatitude * Math.PI) / 180);
    graph.forEachNode((id, a) => raw.set(id, { x: a.longitude! * shrink, y: -a.latitude! }));
  } else {
    const start = circular(graph);
    const placed = graph.copy();
    placed.updateEachNodeAttributes((id, attributes) => ({ ...attributes, ...start[id]! }));
    const layout =
      graph.order <= 2000
        ? forceAtlas2(placed, {
            iterations: graph.order <= 200 ? 300 : 100,
            getEdgeWeight: null,
            settings: { ...forceAtlas2.inferSettings(graph), barnesHutOptimize: graph.order > 300 },
          })
        : start;
    for (const [id, point] of Object.entries(layout as Record<string, { x: number; y: number }>)) raw.set(id, { x: point.x, y: -point.y });
  }
  return { points: normalise(raw), source: charted ? 'coordinates' : 'layout' };
}

/** Scales into the unit box keeping the aspect ratio: x centred, y from the top (so a wide map needs less height). */
function normalise(raw: Map<string, { x: number; y: number }>): Map<string, { x: number; y: number }> {
  const xs = [...raw.values()].map((p) => p.x);
  const ys = [...raw.values()].map((p) => p.y);
  const [minX, maxX, minY, maxY] = [minOf(xs), maxOf(xs), minOf(ys), maxOf(ys)];
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const offsetX = (1 - (maxX - minX) / span) / 2;
  const offsetY = 0;
  return new Map([...raw].map(([id, p]) => [id, { x: offsetX + (p.x - minX) / span, y: offsetY + (p.y - minY) / span }]));
}
