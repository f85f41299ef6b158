import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../dashboard/browser.js';
import { dashboardObserver } from '../dashboard/observe.js';
import { LIVE_STEP_LAG_MS } from '../dashboard/live-redraw.js';
import type { Dashboard } from '../dashboard/server.js';
import { runAlgorithm, type RunRequest } from '../run/run.js';
import { describeRun, medianOf, type ConvergenceRun, type ConvergenceSample } from './convergence.js';
import { descendantsCpuMs } from './host-usage.js';
import { percentiles, type Percentiles } from './percentiles.js';
import { meterRun, type RunCost } from './run-cost.js';
import { growthPercent, inTurns, type Turn } from './turns.js';

/** The issue's budget: with the dashboard open, bring-up and algorithm time grow by at most this much. */
export const DASHBOARD_OVERHEAD_TARGET_PERCENT = 5;

/** What the page had shown by the end of a run with the dashboard open. */
export interface PageSeen {
  readonly frames: number;
  readonly framesApplied: number;
  /** Nodes the page showed as done at the end: all of them, or the page did not follow the run. */
  readonly nodesDone: number;
  readonly applyMs: Percentiles;
  readonly renderMs: Percentiles;
  /** Each live redraw as the browser saw it, until the frame that showed it (software WebGL included). */
  readonly redrawMs: Percentiles;
  /** CPU time the browser's processes spent during the run (the page's scripts, its software WebGL, the compositor). */
  readonly browserCpuMs: number;
}

/** One side of one repetition: the run, and who spent what (absent where cgroups cannot be read). */
export type MeteredRun = ConvergenceRun & { readonly cost?: RunCost };

/**
 * The with side: what the page showed (absent when the bench left the page out, `leaveOut: 'page'`), and the
 * nodes' live reports that reached the dashboard as datagrams (a Docker run's; a Swarm's go through etcd).
 */
export type DashboardRepetition = Turn<MeteredRun, MeteredRun & { readonly page?: PageSeen; readonly liveDatagrams?: number }>;

/**
 * A part of the dashboard the with side may leave out, to split its cost (a bench-only ablation; `peerlab run
 * --ui` always has all of them): `page`, no browser opens the page (the server and the nodes' live reports stay);
 * `live-reports`, the nodes write no live reports (the page and the etcd watch stay, without traffic).
 */
export const DASHBOARD_PARTS = ['page', 'live-reports'] as const;
export type DashboardPart = (typeof DASHBOARD_PARTS)[number];

/** One N of `peerlab bench dashboard`. Medians over the repetitions; growth is with ÷ without − 1, in percent. */
export interface DashboardOverheadSample extends Pick<ConvergenceSample, 'algorithm' | 'runtime' | 'topology' | 'nodes' | 'edges' | 'replay'> {
  readonly without: { readonly allConnectedMs?: number; readonly algorithmMs: number };
  readonly with: { readonly allConnectedMs?: number; readonly algorithmMs: number };
  readonly growthPercent: { readonly allConnected?: number; readonly algorithm: number };
  /** The part of the dashboard the with side left out, if any: then this sample measures the rest. */
  readonly leftOut?: DashboardPart;
  /** Both growths within DASHBOARD_OVERHEAD_TARGET_PERCENT. */
  readonly withinTarget: boolean;
  /** Each repetition, as measured: which side went first alternates, so drift in the machine's load favours neither. */
  readonly repetitions: DashboardRepetition[];
}

/**
 * Runs the request `repetitions` times without the dashboard and as often with it, in turns, through `peerlab
 * run`'s pipeline. With it means what a user has: `--ui`'s server fed by the etcd watch and the nodes' live
 * reports, and the page open in headless Chromium from before the first node starts until the run is over.
 */
export async function benchDashboardOverhead(options: BenchOptions): Promise<DashboardOverheadSample> {
  // One browser for the bench, started before anything is timed: without a page it idles during the other side.
  const browser = await launchChromium();
  try {
    return await measureInTurns(browser, options);
  } finally {
    await browser.close();
  }
}

interface BenchOptions {
  readonly request: RunRequest;
  readonly repetitions: number;
  readonly leaveOut?: DashboardPart;
  readonly onProgress?: (line: string) => void;
}

async function measureInTurns(browser: Browser, options: BenchOptions): Promise<DashboardOverheadSample> {
  const say = options.onProgress ?? (() => {});
  let summary: Awaited<ReturnType<typeof runAlgorithm>> | undefined;
  const repetitions: DashboardRepetition[] = await inTurns(options.repetitions, {
    async without(index) {
      say(`without the dashboard (repetition ${index + 1})`);
      // The browser is counted on this side too, idle: the sides then read the same counters at the same moments.
      const meter = meterRun(undefined, { browserCpuMs });
      summary = await runAlgorithm({ ...options.request, observer: meter.observer });
      const side = { ...describeRun(summary), cost: meter.cost() };
      say(`  ${describeSide(side)}`);
      return side;
    },
    async with(index) {
      say(`with the dashboard ${options.leaveOut ? `but not its ${options.leaveOut}` : 'open in Chromium'} (repetition ${index + 1})`);
      const side = await runWithDashboard(browser, options.request, options.leaveOut);
      say(`  ${describeSide(side)}`);
      return side;
    },
  });
  const side = (pick: (repetition: DashboardRepetition) => ConvergenceRun) => ({
    allConnectedMs: medianOf(repetitions.map((repetition) => pick(repetition).allConnectedMs)),
    algorithmMs: medianOf(repetitions.map((repetition) => pick(repetition).algorithmMs))!,
  });
  const without = side((repetition) => repetition.without);
  const withDashboard = side((repetition) => repetition.with);
  const growth = {
    allConnected: growthPercent(without.allConnectedMs, withDashboard.allConnectedMs),
    algorithm: growthPercent(without.algorithmMs, withDashboard.algorithmMs)!,
  };
  return {
    algorithm: summary!.algorithm,
    runtime: summary!.runtime,
    topology: options.request.topology,
    nodes: summary!.nodes,
    edges: summary!.edges,
    replay: summary!.replay,
    without,
    with: withDashboard,
    growthPercent: growth,
    ...(options.leaveOut && { leftOut: options.leaveOut }),
    withinTarget: Object.values(growth).every((percent) => percent === undefined || percent <= DASHBOARD_OVERHEAD_TARGET_PERCENT),
    repetitions,
  };
}

async function runWithDashboard(browser: Browser, request: RunRequest, leaveOut: DashboardPart | undefined): Promise<DashboardRepetition['with']> {
  const dashboard = dashboardObserver({ onOpen: () => {} });
  let page: Page | undefined;
  let server: Dashboard | undefined;
  let browserCpuBefore = 0;
  // The page is loaded and its frame stream open before the run goes on to start anything.
  const meter = meterRun(
    {
      ...dashboard,
      ...(leaveOut === 'live-reports' && { liveReports: undefined }),
      async prepared(run, runtime) {
        await dashboard.prepared!(run, runtime);
        server = await dashboard.dashboard;
        if (leaveOut !== 'page') page = await openPage(browser, server.url);
        browserCpuBefore = await browserCpuMs();
      },
    },
    { browserCpuMs },
  );
  try {
    const summary = await runAlgorithm({ ...request, observer: meter.observer });
    const spent = (await browserCpuMs()) - browserCpuBefore;
    return {
      ...describeRun(summary),
      cost: meter.cost(),
      ...(page && { page: { ...(await pageSeen(page, summary.nodes)), browserCpuMs: spent } }),
      liveDatagrams: dashboard.liveDatagrams().reports,
    };
  } finally {
    await page?.close();
    await server?.close();
  }
}

/** CPU time the bench's browser has spent so far, all its processes (the page's, the GPU's, the browser's own). */
const browserCpuMs = () => descendantsCpuMs(/chrom/i);

const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);

/** One side of one repetition in a line: its times, and who spent what CPU over the run and during the algorithm. */
export function describeSide(side: DashboardRepetition['with']): string {
  const times = `bring-up ${seconds(side.allConnectedMs)}, algorithm ${seconds(side.algorithmMs)}${side.outcome === 'pass' ? '' : ` (${side.outcome})`}`;
  const { cost } = side;
  if (!cost) return `${times}; CPU not counted`;
  const run = `CLI ${seconds(cost.cliCpuMs)}${side.liveDatagrams ? ` with ${side.liveDatagrams} live reports` : ''}, etcd ${seconds(cost.etcdCpuMs)} for ${cost.etcdWrites} writes, nodes ${seconds(cost.nodesCpuMs)}${side.page ? `, browser ${seconds(side.page.browserCpuMs)}` : ''}`;
  const phase = cost.algorithm;
  const during = phase
    ? `CLI ${seconds(phase.cliCpuMs)}, etcd ${seconds(phase.etcdCpuMs)} for ${phase.etcdWrites} writes, nodes ${seconds(phase.nodesCpuMs)}${Object.entries(phase.also)
        .map(([name, ms]) => `, ${name.replace(/CpuMs$/, '')} ${seconds(ms)}`)
        .join('')}`
    : 'not counted';
  return `${times}; CPU over the run: ${run}; during the algorithm: ${during}`;
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('#status:has-text("live")');
  return page;
}

/**
 * Waits for the page to show every node done, then reads what it showed and what drawing cost. A page that
 * followed the run shows the end within LIVE_STEP_LAG_MS and a redraw of the run's end (see live-redraw.ts).
 */
async function pageSeen(page: Page, nodes: number): Promise<Omit<PageSeen, 'browserCpuMs'>> {
  const read = () =>
    page.evaluate(() => {
      const stats = (window as unknown as { peerlab: { frames: number; framesApplied: number; applyMs: number[]; renderMs: number[]; redrawMs: number[]; states: Record<string, string> } }).peerlab;
      return { ...stats, nodesDone: Object.values(stats.states).filter((state) => state === 'done').length };
    });
  await page.waitForFunction((count) => Object.values((window as unknown as { peerlab: { states: Record<string, string> } }).peerlab.states).filter((state) => state === 'done').length >= count, nodes, { timeout: 2 * LIVE_STEP_LAG_MS }).catch(() => {});
  const stats = await read();
  return { frames: stats.frames, framesApplied: stats.framesApplied, nodesDone: stats.nodesDone, applyMs: percentiles(stats.applyMs), renderMs: percentiles(stats.renderMs), redrawMs: percentiles(stats.redrawMs) };
}
