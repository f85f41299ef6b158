/**
 * The dashboard and the run report in a real browser: Debian's Chromium, driven by playwright-core. The page
 * must refuse requests without its token, draw every node, and show node states changing as the run goes; the
 * report of a traced run must draw one arrow per message. One run on Docker (live) and one in the simulator
 * (replayed). Then the two benches of the page: its overhead on a Docker run, and its frame time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardOverheadSample } from '../../src/bench/dashboard.js';
import type { FrameTimeSample } from '../../src/bench/frame-time.js';
import { launchChromium } from '../../src/dashboard/browser.js';
import { DashboardFeed } from '../../src/dashboard/feed.js';
import { LIVE_FINISHED_STEP_MS, LIVE_REDRAW_SHARE, LIVE_STEP_LAG_MS } from '../../src/dashboard/live-redraw.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { loadTopology } from '../../src/topology/index.js';
import { packageRoot } from '../../src/util/paths.js';
import { bin, leftBehind, peerlabIn } from './cli-helpers.js';

const ABILENE = path.join(packageRoot, 'test', 'fixtures', 'abilene.graphml');

let browser: Browser;
let results: string;

beforeAll(async () => {
  browser = await launchChromium();
  results = await mkdtemp(path.join(tmpdir(), 'peerlab-dashboard-'));
});

afterAll(async () => {
  await browser?.close();
  await rm(results, { recursive: true, force: true });
});

/** Starts `peerlab run … --ui` and resolves with the dashboard's URL once it is printed. */
function runWithDashboard(...args: string[]): {
  url: Promise<string>;
  /** Resolves once the run is over and its results written (the page stays up until SIGINT). */
  finished: Promise<void>;
  child: ChildProcess;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [bin, 'run', ...args, '--ui', '--results', results], { cwd: packageRoot });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`peerlab exited before printing a dashboard URL:\n${stderr}`)));
  });
  url.catch(() => {});
  const finished = new Promise<void>((resolve) => child.stderr!.on('data', () => stderr.includes('still serving') && resolve()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { url, finished, child, exited };
}

/** Node states as the page shows them, by polling what it exposes for tests. */
async function watchStates(url: string, until: (states: Record<string, string>) => boolean, timeoutMs: number): Promise<Array<Record<string, string>>> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    const seen: Array<Record<string, string>> = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await page.evaluate(() => (window as unknown as { peerlab: { states: Record<string, string> } }).peerlab.states);
      if (JSON.stringify(states) !== JSON.stringify(seen.at(-1))) seen.push(states);
      if (until(states)) return seen;
      await page.waitForTimeout(100);
    }
    throw new Error(`the page never reached the expected states; last: ${JSON.stringify(seen.at(-1))}`);
  } finally {
    await page.close();
  }
}

/** From now on the page records, every 5 ms, the set of states its nodes are drawn in when it changed: `window.seenStates`. */
async function sampleShownStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const window_ = window as unknown as { peerlab: { states: Record<string, string> }; seenStates: string[] };
    window_.seenStates = [];
    setInterval(() => {
      const shown = [...new Set(Object.values(window_.peerlab.states))].sort().join(',');
      if (shown && window_.seenStates.at(-1) !== shown) window_.seenStates.push(shown);
    }, 5);
  });
}

async function countArrows(report: string): Promise<number> {
  const page = await browser.newPage();
  try {
    await page.goto(`file://${report}`);
    return await page.locator('.space-time line.msg').count();
  } finally {
    await page.close();
  }
}

describe('dashboard and report in Chromium', () => {
  it('refuses requests without the token', async () => {
    const { url, child, exited } = runWithDashboard('ghs', '--topology', ABILENE, '--runtime', 'sim');
    const address = new URL(await url);
    try {
      for (const route of ['/', '/app.js', '/graph', '/frames', '/node?id=0']) {
        expect((await fetch(new URL(route, address.origin))).status).toBe(403);
        expect((await fetch(new URL(`${route}${route.includes('?') ? '&' : '?'}token=wrong`, address.origin))).status).toBe(403);
      }
      expect((await fetch(address)).status).toBe(200);
      expect(address.hostname).toBe('127.0.0.1');
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });

  it('replays a simulator run: 11 nodes on the map, running then done; its report has one arrow per message', async () => {
    const { url, finished, child, exited } = runWithDashboard('ghs', '--topology', ABILENE, '--runtime', 'sim', '--trace');
    const page = await browser.newPage();
    try {
      await page.goto(await url);
      await page.waitForFunction(() => (window as unknown as { peerlab: { framesApplied: number } }).peerlab.framesApplied > 0);
      const shown = await page.evaluate(() => {
        const renderer = (window as unknown as { peerlabRenderer: { getGraph(): { order: number; size: number } } }).peerlabRenderer;
        return { nodes: renderer.getGraph().order, edges: renderer.getGraph().size, positions: document.getElementById('positions')!.textContent };
      });
      expect(shown).toEqual({ nodes: 11, edges: 14, positions: 'placed by the map’s coordinates' });
      await page.waitForSelector('#status:has-text("replay")');
      await page.click('#play');
      const seen: string[] = [];
      await expect
        .poll(
          async () => {
            const states = Object.values(await page.evaluate(() => (window as unknown as { peerlab: { states: Record<string, string> } }).peerlab.states));
            seen.push([...new Set(states)].sort().join(','));
            return states.filter((state) => state === 'done').length;
          },
          { timeout: 60_000, interval: 50 },
        )
        .toBe(11);
      expect(seen).toContain('running');
      await finished;
    } finally {
      await page.close();
      child.kill('SIGINT');
    }
    const { stdout } = await exited;
    const runDir = /results in (\S+)/.exec(stdout)![1]!;
    const run = JSON.parse(await readFile(path.join(runDir, 'verify.json'), 'utf8')) as { metrics: { messages: number } };
    expect(await countArrows(path.join(runDir, 'report.html'))).toBe(run.metrics.messages);
  });

  it('follows a Docker run live: nodes go from starting through running to done; the traced report has one arrow per message', async () => {
    const { url, finished, child, exited } = runWithDashboard('ghs', '--topology', ABILENE, '--trace');
    try {
      const seen = await watchStates(await url, (states) => Object.values(states).filter((state) => state === 'done').length === 11, 300_000);
      await finished;
      const phases = seen.map((states) => new Set(Object.values(states)));
      expect(phases.some((states) => states.has('starting') || states.has('registered') || states.has('connected'))).toBe(true);
      // GHS is running for a tenth of a second here; the page still shows it.
      expect(phases.some((states) => states.has('running'))).toBe(true);
      expect(phases.at(-1)).toEqual(new Set(['done']));
      expect(Object.keys(seen.at(-1)!)).toHaveLength(11);
    } finally {
      child.kill('SIGINT');
    }
    const { stdout, stderr } = await exited;
    expect(await leftBehind(stderr)).toBe(0);
    const runDir = /results in (\S+)/.exec(stdout)![1]!;
    const run = JSON.parse(await readFile(path.join(runDir, 'verify.json'), 'utf8')) as { metrics: { messages: number } };
    expect(run.metrics.messages).toBeGreaterThan(0);
    expect(await countArrows(path.join(runDir, 'report.html'))).toBe(run.metrics.messages);
    // Every node's log, the silent ones' empty; the two core nodes logged their halt.
    const logs = await readdir(path.join(runDir, 'logs'));
    expect(logs).toHaveLength(11);
    const halts = (await Promise.all(logs.map((file) => readFile(path.join(runDir, 'logs', file), 'utf8')))).filter((log) => log.includes('halt: the MST is found'));
    expect(halts).toHaveLength(2);
  });
  it("shows a Docker run's traffic while it runs, from the nodes' live reports, before any node is done", async () => {
    // Each node pings its neighbours for 8 s and reports only then: traffic seen before that came from live reports
    // (datagrams to the CLI), not from the final reports written after the stop.
    const { url, finished, child, exited } = runWithDashboard(path.join(packageRoot, 'test', 'fixtures', 'ping-series.ts'), '--topology', 'ring:n=4', '--param', 'durationMs=8000', '--param', 'gapMs=50');
    const page = await browser.newPage();
    type Seen = { peerlab: { messages: number; states: Record<string, string> } };
    try {
      await page.goto(await url);
      // Whichever comes first: traffic on the page while every node runs, or a node done (then the test fails).
      const first = await page.waitForFunction(
        () => {
          const { messages, states } = (window as unknown as Seen).peerlab;
          const all = Object.values(states);
          if (all.some((state) => state === 'done' || state === 'failed')) return { trafficWhileRunning: 0 };
          return all.length === 4 && all.every((state) => state === 'running') && messages > 0 && { trafficWhileRunning: messages };
        },
        undefined,
        { timeout: 240_000, polling: 100 },
      );
      expect(((await first.jsonValue()) as { trafficWhileRunning: number }).trafficWhileRunning).toBeGreaterThan(0);
      await finished;
    } finally {
      await page.close();
      child.kill('SIGINT');
    }
    const { code, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(await leftBehind(stderr)).toBe(0);
  });

  it('a live page redraws for state changes, and for traffic alone at most LIVE_REDRAW_SHARE.traffic of the time', async () => {
    // A feed of our own instead of a run: frames at a pace of the test's choosing, so only the page's pacing is tested.
    const { graph } = await loadTopology('ba:n=300,m=2', { seed: 1 });
    const feed = new DashboardFeed(graph.nodes());
    const dashboard = await startDashboard({ runId: 'redraw-share', graph, feed, mode: 'live', timeUnit: 'ms' });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const began = Date.now();
    type Seen = { peerlab: { redrawMs: number[]; states: Record<string, string> } };
    const redraws = () => page.evaluate(() => [...(window as unknown as Seen).peerlab.redrawMs]);
    const showing = (state: string) => page.waitForFunction((wanted) => Object.values((window as unknown as Seen).peerlab.states).filter((s) => s === wanted).length === 300, state, { timeout: 30_000 });
    try {
      await page.goto(dashboard.url);
      await page.waitForSelector('#status:has-text("live")');
      for (const id of graph.nodes()) feed.state(id, 'running');
      feed.flush(Date.now() - began);
      await showing('running');
      // The states' redraw is measured (two animation frames later) before the traffic begins.
      await expect.poll(async () => (await redraws()).length, { timeout: 10_000 }).toBeGreaterThan(0);
      const before = (await redraws()).length;
      // Long enough for a redraw at the states' share (19 times its cost), not at the traffic's (199 times).
      const statesCost = (await redraws()).at(-1)!;
      const trafficFor = Math.min(60_000, Math.max(3000, 40 * statesCost));
      const trafficStarted = Date.now();
      for (let step = 1; Date.now() - trafficStarted < trafficFor; step++) {
        // Three messages on every edge each way per frame: running totals, as nodes report them.
        graph.forEachNode((id) => feed.sentTotals(id, Object.fromEntries(graph.neighbors(id).map((to) => [to, 3 * step]))));
        feed.flush(Date.now() - began);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const trafficMs = Date.now() - trafficStarted;
      // Each redraw of traffic alone waited (1 / share − 1) times the cost of the redraw before it, the states' first.
      const costs = (await redraws()).slice(before - 1);
      const waited = costs.slice(0, -1).reduce((sum, cost) => sum + cost, 0) * (1 / LIVE_REDRAW_SHARE.traffic - 1);
      expect(waited).toBeLessThanOrEqual(trafficMs + 500);
      // State changes are still followed as they come, without waiting for the run's end.
      for (const [index, id] of graph.nodes().entries()) {
        feed.state(id, 'done');
        if (index % 30 === 29) {
          feed.flush(Date.now() - began);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      await showing('done');
    } finally {
      await page.close();
      await dashboard.close();
    }
  });
  it('a live page shows every state of a quick run, though they come 50 ms apart and a redraw costs more', async () => {
    // A 300-node graph: its first redraw costs the page 100 ms or more, so at the states' share it would wait
    // seconds before the next, and the run is over by then (an 11-node GHS is running for a tenth of a second).
    const { graph } = await loadTopology('ba:n=300,m=2', { seed: 1 });
    const feed = new DashboardFeed(graph.nodes());
    const dashboard = await startDashboard({ runId: 'quick-states', graph, feed, mode: 'live', timeUnit: 'ms' });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    type Seen = { peerlab: { states: Record<string, string>; loaded: boolean }; seenStates: string[] };
    try {
      await page.goto(dashboard.url);
      await page.waitForSelector('#status:has-text("live")');
      await sampleShownStates(page);
      let t = 0;
      for (const state of ['connected', 'running', 'done'] as const) {
        for (const id of graph.nodes()) feed.state(id, state);
        feed.flush((t += 50));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      feed.finish(t);
      await page.waitForFunction(() => Object.values((window as unknown as Seen).peerlab.states).every((s) => s === 'done'), undefined, { timeout: 60_000 });
      expect(await page.evaluate(() => (window as unknown as Seen).seenStates)).toEqual(['connected', 'running', 'done']);
    } finally {
      await page.close();
      await dashboard.close();
    }
  });
  it('a live page on a browser too busy to draw keeps up: every state shown, the end within LIVE_STEP_LAG_MS of the last frame', async () => {
    // Chromium's own CPU throttling makes each redraw of a 300-node graph cost a second or more, as on a loaded CI
    // machine (where a page stepping by the run's clock fell minutes behind a 10-node run): at the states' share
    // the page then waits 19 s and more between redraws.
    const { graph } = await loadTopology('ba:n=300,m=2', { seed: 1 });
    const feed = new DashboardFeed(graph.nodes());
    const dashboard = await startDashboard({ runId: 'busy-page', graph, feed, mode: 'live', timeUnit: 'ms' });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    type Seen = { peerlab: { states: Record<string, string>; redrawMs: number[] }; seenStates: string[] };
    try {
      await page.goto(dashboard.url);
      await page.waitForSelector('#status:has-text("live")');
      await (await page.context().newCDPSession(page)).send('Emulation.setCPUThrottlingRate', { rate: 10 });
      await sampleShownStates(page);
      // Bring-up: 20 frames 200 ms apart, 15 nodes connecting in each; then all running, all done, and the end.
      const nodes = graph.nodes();
      let t = 0;
      for (let first = 0; first < nodes.length; first += 15) {
        for (const id of nodes.slice(first, first + 15)) feed.state(id, 'connected');
        feed.flush((t += 200));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      for (const state of ['running', 'done'] as const) {
        for (const id of nodes) feed.state(id, state);
        feed.flush((t += 200));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      feed.finish(t);
      const finished = Date.now();
      await page.waitForFunction(() => Object.values((window as unknown as Seen).peerlab.states).every((s) => s === 'done'), undefined, { timeout: 120_000 });
      const caughtUpMs = Date.now() - finished;
      const redrawMs = await page.evaluate(() => (window as unknown as Seen).peerlab.redrawMs);
      console.log(`busy page: ${redrawMs.length} redraws of ${Math.min(...redrawMs).toFixed(0)}–${Math.max(...redrawMs).toFixed(0)} ms; all done on the page ${caughtUpMs} ms after the run's end`);
      // Once frames are LIVE_STEP_LAG_MS old the page goes to the end: a step's wait and a redraw later, and the polling's slack.
      expect(caughtUpMs).toBeLessThanOrEqual(LIVE_STEP_LAG_MS + Math.max(LIVE_FINISHED_STEP_MS, 2 * Math.max(...redrawMs)) + 2000);
      // It showed the bring-up (some node connected) before it showed them all done.
      const seen = await page.evaluate(() => (window as unknown as Seen).seenStates);
      expect(seen.some((states) => states.split(',').includes('connected'))).toBe(true);
      expect(seen.at(-1)).toBe('done');
    } finally {
      await page.close();
      await dashboard.close();
    }
  });
});

describe('the benches of the dashboard', () => {
  it('bench dashboard: the same Docker run without and with the page open, in turns; the page followed it to the end', async () => {
    const { code, stdout, stderr } = await peerlabIn(results, 'bench', 'dashboard', '--algorithm', 'ghs', '--nodes', '10', '--repetitions', '1', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { schema: string; samples: DashboardOverheadSample[] };
    expect(report.schema).toBe('peerlab.bench.dashboard/1');
    const [sample] = report.samples;
    expect(sample).toMatchObject({ algorithm: 'ghs', runtime: 'docker', nodes: 10 });
    // One repetition, which CI can spare: the alternation of later ones is inTurns' (test/unit/bench-turns.test.ts).
    expect(sample!.repetitions.map((repetition) => repetition.first)).toEqual(['without']);
    for (const repetition of sample!.repetitions) {
      for (const side of [repetition.without, repetition.with]) {
        expect(side.outcome).toBe('pass');
        expect(side.allConnectedMs).toBeGreaterThan(0);
        expect(side.algorithmMs).toBeGreaterThan(0);
        // Who spent what, counted on both sides: every run registers its nodes in etcd and its nodes run.
        expect(side.cost?.etcdWrites).toBeGreaterThan(10);
        expect(side.cost?.nodesCpuMs).toBeGreaterThan(0);
        expect(side.cost?.cliCpuMs).toBeGreaterThan(0);
        // And during the algorithm alone: its nodes worked, and every node wrote its result then.
        expect(side.cost?.algorithm?.nodesCpuMs).toBeGreaterThan(0);
        expect(side.cost?.algorithm?.etcdWrites).toBeGreaterThanOrEqual(10);
      }
      // The page was open: it received frames, drew them, showed every node done, and its browser spent CPU.
      const page = repetition.with.page!;
      expect(page.frames).toBeGreaterThan(0);
      expect(page.framesApplied).toBeGreaterThan(0);
      expect(page.nodesDone).toBe(10);
      expect(page.browserCpuMs).toBeGreaterThan(0);
      expect(page.redrawMs.max).toBeGreaterThan(0);
    }
    expect(sample!.with.algorithmMs).toBe(sample!.repetitions[0]!.with.algorithmMs);
    expect(sample!.growthPercent.algorithm).toBeCloseTo((sample!.with.algorithmMs / sample!.without.algorithmMs - 1) * 100, 6);
    expect(sample!.withinTarget).toBe(sample!.growthPercent.algorithm <= 5 && sample!.growthPercent.allConnected! <= 5);
    expect(await leftBehind(stderr)).toBe(0);
  });

  it('bench dashboard --leave-out: the with side runs without the page, or without the nodes’ live reports', async () => {
    for (const part of ['page', 'live-reports'] as const) {
      const { code, stdout, stderr } = await peerlabIn(results, 'bench', 'dashboard', '--algorithm', 'ghs', '--nodes', '10', '--leave-out', part, '--json');
      expect(code, stderr).toBe(0);
      const [sample] = (JSON.parse(stdout) as { samples: DashboardOverheadSample[] }).samples;
      expect(sample!.leftOut).toBe(part);
      const { without, with: withSide } = sample!.repetitions[0]!;
      expect([without.outcome, withSide.outcome]).toEqual(['pass', 'pass']);
      // Counted on both sides at the same moments: the algorithm's CPU, with the browser's (idle without a page).
      for (const side of [without, withSide]) expect(Object.keys(side.cost?.algorithm?.also ?? {})).toEqual(['browserCpuMs']);
      if (part === 'page') expect(withSide.page).toBeUndefined();
      else expect(withSide.page?.nodesDone).toBe(10);
      expect(await leftBehind(stderr)).toBe(0);
    }
  });

  it('bench frame-time: plays a 300-node simulator replay in Chromium and times every animation frame', async () => {
    const { code, stdout, stderr } = await peerlabIn(results, 'bench', 'frame-time', '--nodes', '300', '--algorithm', 'push-sum', '--fps', '60', '--json');
    expect(code, stderr).toBe(0);
    const [sample] = (JSON.parse(stdout) as { samples: FrameTimeSample[] }).samples;
    const run = JSON.parse(await readFile(path.join(sample!.resultsDir, 'verify.json'), 'utf8')) as { metrics: { messages: number } };
    // Every message of the run reached the page, aggregated into frames.
    expect(sample!.messages).toBe(run.metrics.messages);
    expect(sample!.frames).toBeGreaterThan(10);
    expect(sample!.framesShown).toBeGreaterThan(0);
    expect(sample!.framesShown).toBeLessThanOrEqual(sample!.frames);
    expect(sample!.frameTimeMs.count).toBeGreaterThan(5);
    expect(sample!.frameTimeMs.p50).toBeGreaterThan(0);
    expect(sample!.frameTimeMs.p95).toBeGreaterThanOrEqual(sample!.frameTimeMs.p50);
    expect(sample!.idleFrameTimeMs.p50).toBeGreaterThan(0);
    expect(sample!.messagesPerSecond.playback).toBeCloseTo(sample!.messages / (sample!.playbackMs / 1000), 6);
  });
});
