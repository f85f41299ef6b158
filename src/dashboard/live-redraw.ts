/**
 * The share of the time a live dashboard page may spend redrawing its graph (the page's redrawLive; the browser
 * tests read it too): a twentieth of one core while nodes change state (bring-up, the start, results coming in),
 * a two-hundredth while frames carry only traffic and metrics (the algorithm's own time). On a 2-core host every
 * CPU-second the browser spends during the algorithm is one its nodes lose, and a redraw's cost as the page
 * measures it is about what all the browser's processes spend on it (its GPU process rasterises in software).
 */
export const LIVE_REDRAW_SHARE = { states: 0.05, traffic: 0.005 } as const;

/**
 * Once the run has finished the page takes CPU from no node: it shows each state change it has yet to show for
 * this long, or for as long as drawing it took if that is longer, and then the end. Long enough to be seen, by a
 * user and by a test that looks every 100 ms (at half the time, a local CI run's page showed GHS's running too
 * briefly for the live Docker test to see it).
 */
export const LIVE_FINISHED_STEP_MS = 1000;

/**
 * How long ago, in the page's time, a frame that changed states may have reached a live page for the page still
 * to show it before it skips to the latest: it shows each change of a small, quick run, and trails a large one
 * (or any run on a machine too busy to draw) by about this and one redraw at most.
 */
export const LIVE_STEP_LAG_MS = 10_000;
