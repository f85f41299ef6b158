import type { PlacementOutcome } from './simulate.js';

/**
 * The placement as a table, one row per host, laid out like seed 000's Tables 6.2 and 6.3: the nodes each host
 * gets and its resulting load (a share of its capacity), then the moves.
 */
export function formatPlacement(outcome: PlacementOutcome): string {
  const rows = outcome.hosts.map((host) => [host.host, String(host.priority), formatNumber(host.capacity), host.load.toFixed(6), host.nodes.join(', ') || '—']);
  const header = ['host', 'priority', 'capacity', 'load', 'nodes'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const moves = outcome.moves.length === 0 ? ['no node moves'] : outcome.moves.map(({ node, from, to }) => `move ${node}: ${from} → ${to}`);
  return [`placement by ${outcome.policy}`, line(header), ...rows.map(line), '', ...moves].join('\n');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
