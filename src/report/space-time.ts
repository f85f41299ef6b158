import { escapeHtml, formatNumber } from './html.js';
import type { TracedMessage } from './messages.js';
import { compareNodeIds } from '../util/node-ids.js';

/** Beyond this many messages the diagram shows the first ones (in Lamport order) and a summary of all. */
export const DIAGRAM_MESSAGES = 3000;

/**
 * A space-time diagram in the manner of Maelstrom's messages.svg: one vertical line per node, time (Lamport)
 * downwards, one arrow per message from its send to its delivery (a dropped message ends in a cross). Each
 * arrow carries its payload for hover, and data attributes for the page's filter by node and by type.
 */
export function spaceTimeDiagram(messages: readonly TracedMessage[], nodeOrder: readonly string[]): string {
  const ordered = [...messages].sort((a, b) => a.sendLamport - b.sendLamport || compareNodeIds(a.id, b.id));
  const shown = ordered.slice(0, DIAGRAM_MESSAGES);
  const nodes = nodeOrder.filter((id) => shown.some((m) => m.from === id || m.to === id));
  const column = new Map(nodes.map((id, index) => [id, index]));
  const lamports = [...new Set(shown.flatMap((m) => [m.sendLamport, ...(m.delivery ? [m.delivery.lamport] : [])]))].sort((a, b) => a - b);
  const row = new Map(lamports.map((lamport, index) => [lamport, index]));
  const columnWidth = nodes.length <= 12 ? 90 : nodes.length <= 40 ? 44 : 22;
  const rowHeight = lamports.length <= 400 ? 16 : lamports.length <= 1500 ? 8 : 4;
  const top = 40;
  const left = 40;
  const width = left * 2 + Math.max(0, nodes.length - 1) * columnWidth;
  const height = top + lamports.length * rowHeight + 20;
  const x = (id: string) => left + column.get(id)! * columnWidth;
  const y = (lamport: number) => top + row.get(lamport)! * rowHeight;
  const types = [...new Set(shown.map((m) => m.type))].sort();
  const colourOf = new Map(types.map((type, index) => [type, PALETTE[index % PALETTE.length]!]));

  const lifelines = nodes.map(
    (id) =>
      `<g class="lifeline"><line x1="${x(id)}" y1="${top - 10}" x2="${x(id)}" y2="${height - 10}"/><text x="${x(id)}" y="${top - 16}">${escapeHtml(id)}</text></g>`,
  );
  const arrows = shown.map((m) => {
    const x1 = x(m.from);
    const y1 = y(m.sendLamport);
    const x2 = m.delivery ? x(m.to) : x1 + (x(m.to) - x1) / 2;
    const y2 = m.delivery ? y(m.delivery.lamport) : y1 + rowHeight;
    const fate = m.delivery ? `delivered at ${formatNumber(m.delivery.at)} ms (Lamport ${m.delivery.lamport})` : `not delivered: ${m.dropped ?? 'in flight at the end'}`;
    const title = `${m.from} → ${m.to} · ${m.type}\nsent at ${formatNumber(m.sentAt)} ms (Lamport ${m.sendLamport}), ${fate}\n${JSON.stringify(m.payload)}`;
    return `<line class="msg${m.delivery ? '' : ' lost'}" data-from="${escapeHtml(m.from)}" data-to="${escapeHtml(m.to)}" data-type="${escapeHtml(m.type)}" x1="${x1}" y1="${y1}" x2="${round(x2)}" y2="${y2}" stroke="${colourOf.get(m.type)}" marker-end="url(#${m.delivery ? 'arrow' : 'cross'})"><title>${escapeHtml(title)}</title></line>`;
  });
  const options = (values: readonly string[]) => values.map((value) => `<option>${escapeHtml(value)}</option>`).join('');
  const legend = types.map((type) => `<span><i style="background:${colourOf.get(type)}"></i>${escapeHtml(type)}</span>`).join(' ');
  const cut =
    messages.length > shown.length
      ? `<p class="note">${formatNumber(messages.length)} messages: the diagram shows the first ${formatNumber(shown.length)} in Lamport order; the summary below counts them all.</p>`
      : '';
  return `<div class="space-time" data-messages="${messages.length}">
${cut}
<div class="filters">node <select class="filter-node"><option value="">all</option>${options(nodes)}</select>
type <select class="filter-type"><option value="">all</option>${options(types)}</select>
<span class="legend">${legend}</span></div>
<div class="diagram"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="context-stroke"/></marker>
<marker id="cross" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" markerHeight="8"><path d="M1 1L9 9M9 1L1 9" stroke="#b00" stroke-width="2"/></marker></defs>
${lifelines.join('\n')}
${arrows.join('\n')}
</svg></div>
<pre class="payload">hover over an arrow to see its message</pre>
${messageSummary(messages)}
</div>`;
}

/** Counts per type and the busiest edges: the whole trace, however long. */
function messageSummary(messages: readonly TracedMessage[]): string {
  const byType = countBy(messages, (m) => m.type);
  const byEdge = countBy(messages, (m) => `${m.from} → ${m.to}`);
  const lost = messages.filter((m) => !m.delivery).length;
  const rows = (counts: Array<[string, number]>) =>
    counts
      .slice(0, 15)
      .map(([key, count]) => `<tr><td>${escapeHtml(key)}</td><td class="num">${formatNumber(count)}</td></tr>`)
      .join('');
  return `<div class="summary"><table><thead><tr><th>type</th><th>messages</th></tr></thead><tbody>${rows(byType)}</tbody></table>
<table><thead><tr><th>busiest edges</th><th>messages</th></tr></thead><tbody>${rows(byEdge)}</tbody></table>
<p>${formatNumber(messages.length)} messages, ${formatNumber(lost)} not delivered.</p></div>`;
}

/** The page script of the diagram: filters and the payload box. No library; it only toggles and copies text. */
export const SPACE_TIME_SCRIPT = `
for (const diagram of document.querySelectorAll('.space-time')) {
  const node = diagram.querySelector('.filter-node'), type = diagram.querySelector('.filter-type'), box = diagram.querySelector('.payload');
  const arrows = [...diagram.querySelectorAll('line.msg')];
  const apply = () => { for (const a of arrows) {
    const show = (!node.value || a.dataset.from === node.value || a.dataset.to === node.value) && (!type.value || a.dataset.type === type.value);
    a.style.display = show ? '' : 'none'; } };
  node.addEventListener('change', apply); type.addEventListener('change', apply);
  for (const a of arrows) a.addEventListener('mouseenter', () => { box.textContent = a.querySelector('title').textContent; });
}`;

export const SPACE_TIME_CSS = `
.space-time .diagram { overflow: auto; max-height: 80vh; background: white; border: 1px solid #e2e4e8; }
.space-time .lifeline line { stroke: #ccc; } .space-time .lifeline text { font: 11px sans-serif; text-anchor: middle; }
.space-time line.msg { stroke-width: 1.4; } .space-time line.msg:hover { stroke-width: 3.5; } .space-time line.lost { stroke-dasharray: 3 2; }
.space-time .filters { margin: 6px 0; } .space-time .legend span { margin-left: 10px; white-space: nowrap; }
.space-time .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; }
.space-time .payload { white-space: pre-wrap; max-height: 8em; }
.space-time .summary { display: flex; gap: 20px; align-items: flex-start; } .space-time .summary table { width: auto; }`;

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

function countBy<T>(items: readonly T[], key: (item: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}


const round = (value: number): number => Math.round(value * 10) / 10;
