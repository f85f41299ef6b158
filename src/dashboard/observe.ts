import type { RunObserver } from '../run/observer.js';
import type { TraceEvent } from '../runtime/sim/index.js';
import { DashboardFeed } from './feed.js';
import { startDashboard, type Dashboard } from './server.js';
import { feedFromEtcd, feedFromSimulator } from './sources.js';

/** How often Docker nodes report traffic and metrics while the dashboard is open. */
export const LIVE_REPORT_MS = 1000;

/**
 * `peerlab run --ui`: a run observer that serves the dashboard from the moment the run is prepared. Docker runs
 * are shown live; simulator runs (over in moments) are recorded in virtual time and replayed in the page.
 */
export function dashboardObserver(options: { port?: number; onOpen: (url: string) => void }): RunObserver & { readonly dashboard: Promise<Dashboard> } {
  let feed: DashboardFeed | undefined;
  let onSimulatorEvent: ((event: TraceEvent) => void) | undefined;
  let lastVirtualTime = 0;
  let opened: (dashboard: Dashboard) => void = () => {};
  const dashboard = new Promise<Dashboard>((resolve) => (opened = resolve));
  return {
    liveReportMs: LIVE_REPORT_MS,
    dashboard,
    async prepared(run, runtime) {
      feed = new DashboardFeed(run.topology.graph.nodes());
      onSimulatorEvent = feedFromSimulator(feed);
      const server = await startDashboard({
        runId: run.runId,
        graph: run.topology.graph,
        feed,
        mode: runtime === 'sim' ? 'replay' : 'live',
        timeUnit: runtime === 'sim' ? 'virtual ms' : 'ms',
        port: options.port,
      });
      options.onOpen(server.url);
      opened(server);
    },
    followEtcd: (etcd, keys) => feedFromEtcd(etcd, keys, feed!),
    fault(applied) {
      const on = applied.nodes.length > 0 ? ` node ${applied.nodes.join(', ')}` : applied.edges.map(([from, to]) => ` ${from}>${to}`).join(',');
      feed?.fault(applied.action, applied.error === undefined ? applied.nodes : [], `${applied.action}${on} (${applied.spec})${applied.error === undefined ? '' : `: not applied, ${applied.error}`}`);
    },
    simulatorEvent(event) {
      lastVirtualTime = event.time;
      onSimulatorEvent!(event);
    },
    finished() {
      // Docker feeds finish when their watch stops; the simulator's when its last event is in.
      feed?.finish(lastVirtualTime);
    },
  };
}
