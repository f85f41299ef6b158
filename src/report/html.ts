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
