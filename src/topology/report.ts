import type { LoadedTopology, TopologyStats } from './types.js';

const BAR_WIDTH = 40;
// More distinct degrees than this (scale-free graphs) are grouped into ranges, so the chart stays short.
const MAX_ROWS = 12;

/** The human form of `topology show`: stats, a degree histogram and the notes. */
export function formatTopologyReport(loaded: LoadedTopology, stats: TopologyStats): string {
  const { degree, weights } = stats;
  const lines = [
    `${loaded.spec} (${loaded.kind})`,
    `  nodes       ${stats.nodes}`,
    `  edges       ${stats.edges}`,
    `  degree      min ${degree.min}, mean ${degree.mean.toFixed(2)}, max ${degree.max}`,
    `  components  ${stats.components}`,
    `  diameter    ${stats.diameter ?? '— (disconnected)'}`,
    `  clustering  ${stats.clustering.toFixed(3)}`,
    `  weights     ${formatNumber(weights.min)} .. ${formatNumber(weights.max)}, ${weights.distinct ? 'distinct' : 'not distinct'}`,
    '',
    'degree histogram',
    ...histogramRows(degree.histogram),
  ];
  if (loaded.notes.length > 0) lines.push('', 'notes', ...loaded.notes.map((note) => `  - ${note}`));
  return lines.join('\n');
}

function histogramRows(histogram: TopologyStats['degree']['histogram']): string[] {
  const rows = bucket(histogram);
  const largest = Math.max(...rows.map((row) => row.count));
  const labelWidth = Math.max(...rows.map((row) => row.label.length));
  return rows.map(({ label, count }) => {
    const bar = count === 0 ? '' : '█'.repeat(Math.max(1, Math.round((count / largest) * BAR_WIDTH)));
    return `  ${label.padStart(labelWidth)} ${bar} ${count}`;
  });
}

function bucket(histogram: TopologyStats['degree']['histogram']): Array<{ label: string; count: number }> {
  if (histogram.length <= MAX_ROWS) return histogram.map(({ degree, count }) => ({ label: String(degree), count }));
  const low = histogram[0]!.degree;
  const high = histogram.at(-1)!.degree;
  const width = Math.ceil((high - low + 1) / MAX_ROWS);
  const rows = [];
  for (let start = low; start <= high; start += width) {
    const end = Math.min(start + width - 1, high);
    const count = histogram.filter(({ degree }) => degree >= start && degree <= end).reduce((sum, row) => sum + row.count, 0);
    rows.push({ label: start === end ? String(start) : `${start}–${end}`, count });
  }
  return rows;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
