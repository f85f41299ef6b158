import type Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import { ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';

export interface EtcdEndpoints {
  /** Where the CLI reaches etcd (published on 127.0.0.1 only). */
  readonly host: string;
  /** Where nodes on the run network reach it. */
  readonly nodes: string;
}

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_CPU_SHARES = 262_144;

export function etcdContainerName(runId: string): string {
  return `peerlab-${runId}-etcd`;
}

/**
 * Starts the run's etcd as a container on the run network. Its data lives in a tmpfs: a run's coordination
 * state is worth nothing after the run, and fsync on disk would be the bottleneck of a thousand registrations.
 */
export async function startEtcdContainer(
  docker: Docker,
  options: { runId: string; network: string; image: string; hostPort: number },
): Promise<EtcdEndpoints> {
  const name = etcdContainerName(options.runId);
  const container = await docker.createContainer({
    name,
    Image: options.image,
    Entrypoint: ['/usr/local/bin/etcd'],
    Cmd: [
      '--name', 'peerlab',
      '--data-dir', '/var/lib/etcd/data',
      '--listen-client-urls', `http://0.0.0.0:${ETCD_CLIENT_PORT}`,
      '--advertise-client-urls', `http://${name}:${ETCD_CLIENT_PORT}`,
      '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'peerlab=http://127.0.0.1:2380',
      '--max-txn-ops', '10000',
      '--quota-backend-bytes', String(2 * 1024 ** 3),
    ],
    Labels: { [RUN_LABEL]: options.runId, [ROLE_LABEL]: 'etcd' },
    ExposedPorts: { [`${ETCD_CLIENT_PORT}/tcp`]: {} },
    HostConfig: {
      NetworkMode: options.network,
      PortBindings: { [`${ETCD_CLIENT_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: options.hostPort ? String(options.hostPort) : '' }] },
      Tmpfs: { '/var/lib/etcd': 'rw,size=1g' },
      // Hundreds of starting nodes must not starve the coordinator: CPU shares are relative among all
      // containers, so 500 nodes at 256 (NODE_CPU_SHARES) leave etcd, at the maximum, two thirds of a busy host.
      CpuShares: ETCD_CPU_SHARES,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '1' } },
    },
  });
  try {
    await container.start();
  } catch (error) {
    const message = String((error as { json?: { message?: string } }).json?.message ?? error);
    if (/already allocated|address already in use/i.test(message)) {
      throw new PeerlabError(`etcd's port 127.0.0.1:${options.hostPort} is already taken`, {
        hint: 'pass another --etcd-port, or 0 to let peerlab pick a free one',
      });
    }
    throw error;
  }
  const info = await container.inspect();
  const published = info.NetworkSettings.Ports[`${ETCD_CLIENT_PORT}/tcp`]?.[0]?.HostPort;
  const address = info.NetworkSettings.Networks[options.network]?.IPAddress;
  if (!published || !address) throw new PeerlabError(`etcd container ${name} has no published port or address`, { hint: 'see `docker logs ' + name + '`' });
  const endpoints = { host: `http://127.0.0.1:${published}`, nodes: `http://${address}:${ETCD_CLIENT_PORT}` };
  await waitUntilServing(endpoints.host, name);
  return endpoints;
}

async function waitUntilServing(endpoint: string, name: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoint, dialTimeout: 1000 });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      try {
        await client.maintenance.status();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new PeerlabError(`etcd in ${name} did not answer within 30 s`, { hint: `see \`docker logs ${name}\``, cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
}
