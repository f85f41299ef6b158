import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../dashboard/browser.js';
import { dashboardObserver } from '../dashboard/observe.js';
import { runAlgorithm, type RunRequest } from '../run/run.js';
import { percentiles, type Percentiles } from './percentiles.js';

/** One run of `peerlab bench frame-time`: the dashboard replaying a simulator run in headless Chromium. */
export interface FrameTimeSample {
  readonly algorithm: string;
  readonly topology: string;
  readonly nodes: number;
  readonly edges: number;
  readonly replay: string;
  readonly resultsDir: string;
  /** Frames the page received (the feed aggregates messages per edge and step) and the messages in them. */
  readonly frames: number;
  readonly messages: number;
  /** Replay speed asked of the page, in frames per second. */
  readonly fps: number;
  readonly playbackMs: number;
  /** Messages the page drew per second of playback (wall time), and the highest rate it showed in the run's own time. */
  readonly messagesPerSecond: { readonly playback: number; readonly peakShown: number };
  /** Frames drawn during playback: fewer than `frames` when drawing is slower than the speed asked (the rest are skipped). */
  readonly framesShown: number;
  /** Intervals between the browser's animation frames during playback: 16.7 ms is a page that keeps up at 60 Hz. */
  readonly frameTimeMs: Percentiles & { readonly count: number; readonly over50ms: number };
  /** The same with the page loaded and idle, measured just before: the browser's and the machine's floor. */
  readonly idleFrameTimeMs: Percentiles;
  /** What applying one frame to the page cost (states folded, edges restyled, charts drawn), and one sigma.js render. */
  readonly applyMs: Percentiles;
  readonly renderMs: Percentiles;
}

interface PageStats {
  frames: number;
  messages: number;
  peakRate: number;
  loaded: boolean;
  playing: boolean;
  framesApplied: number;
  applyMs: number[];
  renderMs: number[];
}

/** Records the intervals between animation frames in the page itself, so they are the browser's, not a round trip's. */
function startRecordingFrames(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { frameIntervals: number[]; stopFrames: boolean };
    w.frameIntervals = [];
    w.stopFrames = false;
    let last = performance.now();
    const tick = (now: number) => {
      w.frameIntervals.push(now - last);
      last = now;
      if (!w.stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

function stopRecordingFrames(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { frameIntervals: number[]; stopFrames: boolean };
    w.stopFrames = true;
    return w.frameIntervals.slice(1);
  });
}

const IDLE_MS = 3000;

/**
 * Runs the request in the simulator with the dashboard, opens the page in the system's Chromium, plays the
 * replay at `fps` and records every animation frame's interval until the last frame is shown.
 */
export async function benchFrameTime(options: { request: RunRequest; fps: number; viewport?: { width: number; height: number } }): Promise<FrameTimeSample> {
  const browser = await launchChromium();
  try {
    const observer = dashboardObserver({ onOpen: () => {} });
    const summary = await runAlgorithm({ ...options.request, runtime: 'sim', observer });
    const dashboard = await observer.dashboard;
    try {
      const measured = await playAndMeasure(browser, dashboard.url, options);
      return {
        algorithm: summary.algorithm,
        topology: options.request.topology,
        nodes: summary.nodes,
        edges: summary.edges,
        replay: summary.replay,
        resultsDir: summary.resultsDir,
        ...measured,
      };
    } finally {
      await dashboard.close();
    }
  } finally {
    await browser.close();
  }
}

async function playAndMeasure(browser: Browser, url: string, options: { fps: number; viewport?: { width: number; height: number } }) {
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1400, height: 900 } });
  try {
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { peerlab: PageStats }).peerlab.loaded, undefined, { timeout: 120_000 });
    const loaded = await stats(page);
    await page.selectOption('#speed', String(options.fps));
    await startRecordingFrames(page);
    await page.waitForTimeout(IDLE_MS);
    const idle = await stopRecordingFrames(page);
    // Only playback's costs: those of loading the replay are dropped.
    await page.evaluate(() => {
      const costs = (window as unknown as { peerlab: PageStats }).peerlab;
      costs.applyMs.length = 0;
      costs.renderMs.length = 0;
    });
    const appliedBefore = (await stats(page)).framesApplied;
    await startRecordingFrames(page);
    const began = Date.now();
    await page.click('#play');
    const expectedMs = (loaded.frames / options.fps) * 1000;
    await page.waitForFunction(() => !(window as unknown as { peerlab: PageStats }).peerlab.playing, undefined, { timeout: expectedMs * 4 + 60_000, polling: 100 });
    const playbackMs = Date.now() - began;
    const intervals = await stopRecordingFrames(page);
    const after = await stats(page);
    return {
      frames: loaded.frames,
      messages: loaded.messages,
      fps: options.fps,
      playbackMs,
      messagesPerSecond: { playback: loaded.messages / (playbackMs / 1000), peakShown: loaded.peakRate },
      framesShown: after.framesApplied - appliedBefore,
      frameTimeMs: { ...percentiles(intervals), count: intervals.length, over50ms: intervals.filter((ms) => ms > 50).length },
      idleFrameTimeMs: percentiles(idle),
      applyMs: percentiles(after.applyMs),
      renderMs: percentiles(after.renderMs),
    };
  } finally {
    await page.close();
  }
}

function stats(page: Page): Promise<PageStats> {
  return page.evaluate(() => (window as unknown as { peerlab: PageStats }).peerlab);
}
