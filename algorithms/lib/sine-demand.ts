/**
 * Seed 001's day of demand (§7.8.1, eq. 7.1) and where its self-placement rule holds, solved in closed form: the
 * ground truth of experiments/self-placement.yaml (algorithms/sine-users.ts, src/verify/sine-users.ts) and of
 * the policy's own unit test. Times in seconds.
 *
 * Site i sends C·(1 − a·cos(ω(x − tᵢ))) requests per second, ω = 2π/day, tᵢ its time-zone offset: its users'
 * day peaks at tᵢ + day/2. A node follows its users to site i when i's share of the requests is over p and i's
 * requests rise (policies/self-placement.ts), at zero noise and with the window's lag left aside.
 */

/** One site's users: their time-zone offset and how much their demand swings over a day (0 flat, 1 to zero at night). */
export interface DemandSite {
  readonly name: string;
  readonly offsetS: number;
  readonly amplitude: number;
}

/** A stretch of time in which the rule sends the node to `site`. */
export interface PlacementInterval {
  readonly site: string;
  readonly startS: number;
  readonly endS: number;
}

/** Requests per second from `site` at time `x`, for `perSecond` requests a second on average. */
export function demandRate(site: DemandSite, daySeconds: number, perSecond: number, x: number): number {
  return perSecond * (1 - site.amplitude * Math.cos(((2 * Math.PI) / daySeconds) * (x - site.offsetS)));
}

/** The requests from `site` in (0, x]: the integral of demandRate. */
export function demandSince0(site: DemandSite, daySeconds: number, perSecond: number, x: number): number {
  const omega = (2 * Math.PI) / daySeconds;
  return perSecond * (x - (site.amplitude / omega) * (Math.sin(omega * (x - site.offsetS)) + Math.sin(omega * site.offsetS)));
}

/**
 * Where the rule holds, from the curves themselves: site i's share is over p when Hitsᵢ − p·Σ Hitsⱼ > 0, i.e.
 * K + α·cos θ + β·sin θ > 0 with θ = ωx, an arc of the circle; its requests rise on θ − ωtᵢ ∈ (0, π) (eq. 7.4).
 * Each intersection of the two arcs within (0, spanS) is an interval, in time order.
 */
export function selfPlacementIntervals(sites: readonly DemandSite[], daySeconds: number, spanS: number, p = 0.6): PlacementInterval[] {
  const omega = (2 * Math.PI) / daySeconds;
  const intervals: PlacementInterval[] = [];
  const weighted = (trig: (angle: number) => number) => sites.reduce((sum, other) => sum + other.amplitude * trig(omega * other.offsetS), 0);
  for (const site of sites) {
    const K = 1 - p * sites.length;
    const alpha = -site.amplitude * Math.cos(omega * site.offsetS) + p * weighted(Math.cos);
    const beta = -site.amplitude * Math.sin(omega * site.offsetS) + p * weighted(Math.sin);
    const R = Math.hypot(alpha, beta);
    if (R <= -K) continue; // never over p
    const half = Math.acos(-K / R);
    const center = Math.atan2(beta, alpha);
    for (let k = -1; k <= spanS / daySeconds + 1; k++) {
      for (let m = -1; m <= spanS / daySeconds + 1; m++) {
        const over = [center - half + 2 * Math.PI * k, center + half + 2 * Math.PI * k] as const;
        const rising = [omega * site.offsetS + 2 * Math.PI * m, omega * site.offsetS + Math.PI + 2 * Math.PI * m] as const;
        const startS = Math.max(over[0], rising[0]) / omega;
        const endS = Math.min(over[1], rising[1]) / omega;
        if (startS < endS && endS > 0 && startS < spanS) intervals.push({ site: site.name, startS, endS });
      }
    }
  }
  return intervals.sort((a, b) => a.startS - b.startS);
}

/** The sites a node starting at `from` moves to, in order: one move per interval whose site it is not on. */
export function expectedMoves(intervals: readonly PlacementInterval[], from: string): string[] {
  const moves: string[] = [];
  for (const { site } of intervals) if (site !== (moves.at(-1) ?? from)) moves.push(site);
  return moves;
}
