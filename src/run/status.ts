import type Docker from 'dockerode';
import { runKeys } from '../coordination/keys.js';
import { networkName } from '../runtime/docker.js';
import type { NodeInfo } from '../runtime/types.js';
import { attachRunNodes } from './attach.js';
import { connectRunEtcd, runEtcdContainer } from './run-etcd.js';

export interface RunStatus {
  readonly runId: string;
  readonly ageSeconds: number;
  readonly nodes: NodeInfo[];
  readonly states: Record<string, number>;
  readonly memory: { totalBytes: number; perNodeBytes: number };
  readonly etcd: { state: string; endpoint: string | undefined; registered: number | undefined; ready: number | undefined };
}

/** What `peerlab status` shows: read from Docker labels and the run's etcd, so it needs no local state. */
export async function runStatus(docker: Docker, runId: string): Promise<RunStatus> {
  // A Swarm run's nodes are tasks on the local cluster's engines, each shown with its engine.
  const nodes = await (await attachRunNodes(docker, runId)).listNodes({ memory: true });
  const states: Record<string, number> = {};
  for (const node of nodes) states[node.state] = (states[node.state] ?? 0) + 1;
  const totalBytes = nodes.reduce((total, node) => total + (node.memoryBytes ?? 0), 0);

  const network = await docker.getNetwork(networkName(runId)).inspect().catch(() => undefined) as { Created?: string } | undefined;
  const created = network?.Created ? Date.parse(network.Created) : Math.min(...nodes.map((n) => n.startedAt?.getTime() ?? Date.now()));

  const etcdContainer = await runEtcdContainer(docker, runId);
  let registered: number | undefined;
  let ready: number | undefined;
  const etcd = await connectRunEtcd(docker, runId);
  if (etcd) {
    try {
      const keys = runKeys(runId);
      [registered, ready] = await Promise.all([etcd.getAll().prefix(keys.nodesPrefix).count(), etcd.getAll().prefix(keys.readyPrefix).count()]);
    } finally {
      etcd.close();
    }
  }
  return {
    runId,
    ageSeconds: Math.round((Date.now() - created) / 1000),
    nodes,
    states,
    memory: { totalBytes, perNodeBytes: nodes.length ? totalBytes / nodes.length : 0 },
    etcd: { state: etcdContainer?.state ?? 'none (external or removed)', endpoint: etcdContainer?.endpoint, registered, ready },
  };
}
