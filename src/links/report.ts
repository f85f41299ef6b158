import type { Topology } from '../topology/types.js';
import type { LinkParams } from './model.js';
import { formatRate } from './spec.js';
import { maxOf, minOf } from '../util/extremes.js';

export interface EdgeLinkRow {
  readonly from: string;
  readonly to: string;
  readonly fromLabel: string;
  readonly toLabel: string;
  readonly link: LinkParams;
}

/** Every directed edge and what it is given, source → target first, in edge order. */
export function linkRows(graph: Topology): EdgeLinkRow[] {
  const label = (id: string): string => graph.getNodeAttribute(id, 'label') ?? id;
  return graph.reduceEdges((rows: EdgeLinkRow[], _edge, attributes, source, target) => {
    if (!attributes.link) return rows;
    rows.push({ from: source, to: target, fromLabel: label(source), toLabel: label(target), link: attributes.link.forward });
    rows.push({ from: target, to: source, fromLabel: label(target), toLabel: label(source), link: attributes.link.backward });
    return rows;
  }, []);
}

/** The table `topology show --links` prints. */
export function formatLinkTable(rows: readonly EdgeLinkRow[]): string {
  if (rows.length === 0) return 'links: none (no --links and no link attributes in the file)';
  // Generated graphs label their nodes with their ids: a labels column would only repeat the edge.
  const labelled = rows.some(({ from, fromLabel }) => fromLabel !== from);
  const table = rows.map(({ from, to, fromLabel, toLabel, link }) => [
    `${from} → ${to}`,
    ...(labelled ? [`${fromLabel} → ${toLabel}`] : []),
    `${link.delayMs.toFixed(3)} ms`,
    link.jitterMs === 0 ? '—' : `${link.jitterDistribution === 'uniform' ? '±' : 'exp '}${link.jitterMs.toFixed(3)} ms`,
    link.lossPercent === 0 ? '—' : `${+link.lossPercent.toFixed(4)}%`,
    formatRate(link.rateBps),
    link.queuePackets === null ? '—' : `${link.queuePackets} p`,
  ]);
  const header = ['edge', ...(labelled ? ['labels'] : []), 'delay', 'jitter', 'loss', 'rate', 'queue'];
  const widths = header.map((title, column) => maxOf(table.map((row) => row[column]!.length), title.length));
  const line = (cells: readonly string[]): string => `  ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd();
  const delays = rows.map(({ link }) => link.delayMs);
  return [
    `links (${rows.length} directed edges; delay ${minOf(delays).toFixed(3)} .. ${maxOf(delays).toFixed(3)} ms one way)`,
    line(header),
    ...table.map(line),
  ].join('\n');
}
