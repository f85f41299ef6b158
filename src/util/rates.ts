/** A count per second as people read it: "152 k" below a million, "2.35 M" from there. */
export function formatRate(perSecond: number): string {
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M` : `${Math.round(perSecond / 1e3)} k`;
}
