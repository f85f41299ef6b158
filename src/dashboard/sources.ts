import type { Etcd3 } from 'etcd3';
import { followPrefix } from '../coordination/etcd.js';
import type { RunKeys } from '../coordination/keys.js';
import type { LiveReport, NodeFailure, NodeReport } from '../coordination/protocol.js';
import type { TraceEvent } from '../runtime/sim/index.js';
import type { Json } from '../sdk/types.js';
import type { DashboardFeed } from './feed.js';

/**
 * Feeds the dashboard from a Docker run's etcd keys: registry, readiness, start, results, failures, and the
 * nodes' live reports (traffic and metrics every few seconds, written only while a dashboard watches). One
 * prefix watch; frames close every `frameMs` of wall-clock time: the nodes' report interval, as traffic changes
 * no faster there. Returns how to stop.
 */
export async function feedFromEtcd(etcd: Etcd3, keys: RunKeys, feed: DashboardFeed, frameMs: number): Promise<() => Promise<void>> {
  const began = Date.now();
  const timer = setInterval(() => feed.flush(Date.now() - began), frameMs);
  feed.showsRunningBeforeDone(() => Date.now() - began);
  const stop = await followPrefix(etcd, keys.prefix, ({ type, name, value }) => {
    if (type !== 'put') return;
    const slash = name.indexOf('/');
    const [kind, id] = slash < 0 ? [name, ''] : [name.slice(0, slash), name.slice(slash + 1)];
    switch (kind) {
      case 'nodes':
        feed.state(id, 'registered');
        break;
      case 'ready':
        feed.state(id, 'connected');
        break;
      case 'control':
        if (id === 'start') for (const node of feed.nodeIds) feed.state(node, 'running');
        break;
      case 'results':
        feed.result(id, JSON.parse(value) as Json);
        break;
      case 'errors':
        feed.failure(id, (JSON.parse(value) as NodeFailure).message);
        break;
      case 'live': {
        const report = JSON.parse(value) as LiveReport;
        feed.sentTotals(id, report.sent);
        feed.metrics(id, report.metrics);
        break;
      }
      case 'reports': {
        const report = JSON.parse(value) as NodeReport;
        feed.sentTotals(id, Object.fromEntries(Object.entries(report.sent).map(([to, count]) => [to, count.messages])));
        feed.metrics(id, report.metrics);
        break;
      }
    }
  }, (lost) => feed.note(`the dashboard shows no more changes: ${lost.message}`));
  return async () => {
    clearInterval(timer);
    await stop();
    feed.finish(Date.now() - began);
  };
}

/** Feeds the dashboard from the simulator's events, in virtual time. */
export function feedFromSimulator(feed: DashboardFeed): (event: TraceEvent) => void {
  return (event) => {
    feed.advance(event.time);
    switch (event.type) {
      case 'start':
        feed.state(event.node, 'running');
        break;
      case 'send':
        feed.message(event.from, event.to);
        break;
      case 'result':
        feed.result(event.node, event.value);
        break;
      case 'failure':
        feed.failure(event.node, event.message);
        break;
      case 'log':
        feed.log(event.node, event.line);
        break;
      case 'drop':
        feed.note(`message ${event.from} → ${event.to} dropped: ${event.reason}`);
        break;
      case 'control':
        feed.fault(event.action, event.node === undefined ? [] : [event.node], `${event.action}${event.node === undefined ? '' : ` node ${event.node}`}`);
        break;
    }
  };
}
