import { renderSvg } from '../experiment/plots.js';
import { escapeHtml, formatNumber, REPORT_CSS } from '../report/html.js';
import { outputFile, writeFileAtomic } from '../util/files.js';
import type { Comparison, NodeFieldComparison } from './compare.js';

/** The page's file (`--html`), absolute; checked before anything is compared. */
export function comparisonPageFile(file: string): string {
  return outputFile('--html', file, 'compare.html');
}

export async function writeComparisonPage(comparison: Comparison, file: string): Promise<void> {
  await writeFileAtomic(file, await comparisonPage(comparison));
}

/**
 * `results compare --html`: the comparison as a page, with one scatter plot per field of the nodes' results,
 * run a against run b, each node a point, and the diagonal where the two agree. Its main use is a Docker run
 * against the same run in the simulator (flood's arrival `time` on shaped links, say): points on the
 * diagonal mean the simulator predicts what the containers did.
 */
export async function comparisonPage(comparison: Comparison): Promise<string> {
  const plots: string[] = [];
  for (const field of comparison.perNode) plots.push(`<figure>${await renderSvg(scatterSpec(comparison, field), `field-${plots.length}`)}</figure>`);
  const rows = comparison.values
    .map((value) => `<tr>${comparison.kind === 'experiment' ? `<td>${escapeHtml(value.cell)}</td>` : ''}<td>${escapeHtml(value.metric)}</td><td class="num">${number(value.a)}</td><td class="num">${number(value.b)}</td><td class="num">${value.ratio === undefined ? '—' : `×${value.ratio.toFixed(3)}`}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>compare ${escapeHtml(comparison.a)} · ${escapeHtml(comparison.b)}</title>
<style>
  ${REPORT_CSS}
</style>
</head>
<body>
<main>
<h1>a = ${escapeHtml(comparison.a)} · b = ${escapeHtml(comparison.b)}</h1>
${comparison.differences.length > 0 ? `<ul>${comparison.differences.map((difference) => `<li>${escapeHtml(difference)}</li>`).join('')}</ul>` : '<p>Same settings.</p>'}
${comparison.perNode.length > 0 ? `<h2>Node by node</h2>\n<div class="plots">${plots.join('\n')}</div>` : ''}
<h2>Metrics</h2>
<table>
<tr>${comparison.kind === 'experiment' ? '<th>cell</th>' : ''}<th>metric</th><th>a</th><th>b</th><th>b/a</th></tr>
${rows}
</table>
</main>
</body>
</html>
`;
}

function scatterSpec(comparison: Comparison, field: NodeFieldComparison): Record<string, unknown> {
  const values = field.pairs.map((pair) => ({ node: pair.id, a: pair.a, b: pair.b }));
  const low = Math.min(...values.map((value) => Math.min(value.a, value.b)));
  const high = Math.max(...values.map((value) => Math.max(value.a, value.b)));
  const r = field.correlation === undefined ? 'r undefined (a side does not vary)' : `r = ${field.correlation.toFixed(4)}`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: field.field, subtitle: `${field.pairs.length} nodes · ${r} · max |b−a| ${formatNumber(field.maxAbsDifference)} · mean |b−a| ${formatNumber(field.meanAbsDifference)}` },
    width: 380,
    height: 380,
    background: 'white',
    layer: [
      {
        data: { values: [{ a: low, b: low }, { a: high, b: high }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 3] },
        encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 60, color: '#1f6fb2' },
        encoding: {
          x: { field: 'a', type: 'quantitative', title: `${field.field} in a (${comparison.a})` },
          y: { field: 'b', type: 'quantitative', title: `${field.field} in b (${comparison.b})` },
          tooltip: [{ field: 'node' }, { field: 'a' }, { field: 'b' }],
        },
      },
    ],
    config: { font: 'Helvetica, Arial, sans-serif', axis: { grid: true, gridColor: '#eee' }, view: { stroke: '#ccc' } },
  };
}

function number(value: number | undefined): string {
  return value === undefined ? '—' : formatNumber(value);
}
