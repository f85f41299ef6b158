import type { RunObserver } from '../run/observer.js';
import type { TraceEvent } from '../runtime/sim/index.js';
import { DashboardFeed } from './feed.js';
import { startDashboard, type Dashboard } from './server.js';
import { feedFromEtcd, feedFromSimulator } from './sources.js';
import { LiveReceiver } from './live-receiver.js';

/**
 * The most live reports a second the nodes of a run send together. They start with the algorithm, so all of their
 * cost lands in it, and on a 2-core host that CPU is the algorithm's. Through etcd (a Swarm's nodes) each is a put,
 * a raft entry and a watch event: `peerlab bench dashboard` at 150 nodes counted about 6 ms of CPU per report
 * during the algorithm, nodes, etcd and the CLI together. As a datagram to the CLI (a Docker run's nodes) a report
 * is a JSON string and a send, made when a message wakes the node anyway (see README, "Seeing a run").
 */
export const LIVE_REPORTS_PER_SECOND = 100;

/** How often each node of an N-node run reports while the dashboard is open: every second, or less often so that all of them together stay within LIVE_REPORTS_PER_SECOND. */
export function liveReportMs(nodes: number): number {
  return Math.max(1, Math.ceil(nodes / LIVE_REPORTS_PER_SECOND)) * 1000;
}

/**
 * `peerlab run --ui`: a run observer that serves the dashboard from the moment the run is prepared. Docker runs
 * are shown live; simulator runs (over in moments) are recorded in virtual time and replayed in the page.
 */
export function dashboardObserver(options: { port?: number; onOpen: (url: string) => void }): RunObserver & {
  readonly dashboard: Promise<Dashboard>;
  /** The live reports that came as datagrams and were counted, and those refused (see LiveReceiver). */
  liveDatagrams(): { reports: number; refused: number };
} {
  let feed: DashboardFeed | undefined;
  let onSimulatorEvent: ((event: TraceEvent) => void) | undefined;
  let lastVirtualTime = 0;
  let nodes = 0;
  let receiver: LiveReceiver | undefined;
  let received = { reports: 0, refused: 0 };
  let opened: (dashboard: Dashboard) => void = () => {};
  const dashboard = new Promise<Dashboard>((resolve) => (opened = resolve));
  return {
    async liveReports(order, nodesReachCliAtGateway) {
      if (!nodesReachCliAtGateway) return { everyMs: liveReportMs(order), to: 'etcd' };
      receiver ??= await LiveReceiver.open();
      received = receiver.counts;
      return receiver.target(liveReportMs(order));
    },
    liveDatagrams: () => ({ ...received }),
    dashboard,
    async prepared(run, runtime) {
      feed = new DashboardFeed(run.topology.graph.nodes());
      receiver?.deliverTo(feed);
      nodes = run.topology.graph.order;
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
    // A frame per report interval: each node's traffic then lands in one frame per interval, so rates stay true.
    followEtcd: (etcd, keys) => feedFromEtcd(etcd, keys, feed!, liveReportMs(nodes)),
    fault(applied) {
      const on = applied.nodes.length > 0 ? ` node ${applied.nodes.join(', ')}` : applied.edges.map(([from, to]) => ` ${from}>${to}`).join(',');
      feed?.fault(applied.action, applied.error === undefined ? applied.nodes : [], `${applied.action}${on} (${applied.spec})${applied.error === undefined ? '' : `: not applied, ${applied.error}`}`);
    },
    simulatorEvent(event) {
      lastVirtualTime = event.time;
      onSimulatorEvent!(event);
    },
    finished() {
      receiver?.close();
      receiver = undefined;
      // Docker feeds finish when their watch stops; the simulator's when its last event is in.
      feed?.finish(lastVirtualTime);
    },
  };
}
