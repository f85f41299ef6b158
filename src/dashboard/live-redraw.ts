/**
 * The share of the time a live dashboard page may spend redrawing its graph (the page's redrawLive; the browser
 * tests read it too): a twentieth of one core while nodes change state (bring-up, the start, results coming in),
 * a two-hundredth while frames carry only traffic and metrics (the algorithm's own time). On a 2-core host every
 * CPU-second the browser spends during the algorithm is one its nodes lose, and a redraw's cost as the page
 * measures it is about what all the browser's processes spend on it (its GPU process rasterises in software).
 */
export const LIVE_REDRAW_SHARE = { states: 0.05, traffic: 0.005 } as const;

/**
 * How far behind the latest frame, in the run's time, a live page may show a frame that changed states before it
 * skips to the latest: it shows each change of a small, quick run, and trails a large one by at most this.
 */
export const LIVE_STEP_LAG_MS = 10_000;
