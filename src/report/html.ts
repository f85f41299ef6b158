/** Text for HTML and SVG, attributes included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Numbers for people: integers with thousands separators, others with three significant digits, very large
 * or small ones with an SI prefix (1.2 M, 3.4 µ).
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6) return si(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 0.01 || magnitude === 0) return String(Number(value.toPrecision(3)));
  return si(value);
}

const PREFIXES = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'µ'],
  [1e-9, 'n'],
] as const;

function si(value: number): string {
  const magnitude = Math.abs(value);
  const [scale, prefix] = PREFIXES.find(([scale]) => magnitude >= scale) ?? PREFIXES[PREFIXES.length - 1]!;
  return `${Number((value / scale).toPrecision(3))} ${prefix}`.trimEnd();
}

/**
 * The look every page peerlab writes shares (a run's report, an experiment's, a comparison): one sheet, so the
 * pages read as one tool's and a change of style is made once. Each page adds only what is its own.
 */
export const REPORT_CSS = `
  body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #f6f7f9; }
  main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  .sub { color: #555; margin: 0 0 14px; }
  .note { color: #8a5a00; background: #fff8e6; border: 1px solid #f0dfb0; padding: 6px 10px; border-radius: 4px; margin: 6px 0; }
  .verdict { display: inline-block; padding: 6px 12px; border-radius: 6px; font-weight: 600; margin: 8px 0; }
  .verdict.pass { background: #e3f4e6; color: #17692b; }
  .verdict.fail { background: #fbe4e4; color: #9b1c1c; }
  .verdict.partial { background: #fff4d6; color: #7a5a00; }
  .plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 14px; }
  figure { margin: 0; background: white; border: 1px solid #e2e4e8; border-radius: 6px; padding: 10px; overflow-x: auto; }
  figure svg { max-width: 100%; height: auto; }
  figcaption { color: #666; font-size: 12px; }
  table { border-collapse: collapse; background: white; font-size: 13px; }
  th, td { border: 1px solid #e2e4e8; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #f0f2f5; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  pre { background: white; border: 1px solid #e2e4e8; padding: 10px; overflow: auto; font-size: 12px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
  dt { color: #666; } dd { margin: 0; }
  a { color: #1f6fb2; }
`;
