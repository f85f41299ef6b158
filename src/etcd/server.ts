import { createServer, type AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import { ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { enableRunAuth, type RunCredentials } from './auth.js';

export interface EtcdEndpoints {
  /** Where the CLI reaches etcd (published on 127.0.0.1 only). */
  readonly host: string;
  /** Where nodes on the run network reach it. */
  readonly nodes: string;
}

/** A run's own etcd: where it is, and the logins its authentication takes (see auth.ts). */
export interface RunEtcd extends EtcdEndpoints {
  readonly credentials: RunCredentials;
}

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_CPU_SHARES = 262_144;
/** Its data (the tmpfs, up to 1 GiB) counts against it too; a thousand-node run uses a few hundred MiB in all. */
export const ETCD_MEMORY = 2 * 1024 ** 3;
/** Go's runtime threads count as pids: etcd under load uses a few dozen. */
export const ETCD_PIDS = 256;
/** An unprivileged user and group (nobody) that own the data tmpfs: etcd needs no root. */
const ETCD_UID = 65534;

export function etcdContainerName(runId: string): string {
  return `peerlab-${runId}-etcd`;
}

/** etcd as a run's coordinator, advertised under `name` on the run network. */
function etcdArguments(name: string): string[] {
  return [
    '--name', 'peerlab',
    '--data-dir', '/var/lib/etcd/data',
    '--listen-client-urls', `http://0.0.0.0:${ETCD_CLIENT_PORT}`,
    '--advertise-client-urls', `http://${name}:${ETCD_CLIENT_PORT}`,
    '--listen-peer-urls', 'http://127.0.0.1:2380',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
    '--initial-cluster', 'peerlab=http://127.0.0.1:2380',
    '--max-txn-ops', '10000',
    '--quota-backend-bytes', String(2 * 1024 ** 3),
    // The run's passwords are random (auth.ts): bcrypt's cost protects guessable ones, and at the default (10)
    // a thousand node logins would cost etcd a minute of CPU during bring-up.
    '--bcrypt-cost', '4',
    // etcd3's watch stream keeps the token it was opened with: once that token expires (300 s unused by default),
    // a watch created later on the stream is canceled "invalid auth token", and the run with it (seen at 500 nodes,
    // whose bring-up outlasts it). The token dies with the run's own etcd anyway.
    '--auth-token-ttl', String(24 * 3600),
  ];
}

/**
 * Starts the run's etcd as a Swarm service pinned to the manager (the host's engine), on the run's overlay. Nodes
 * reach it by its service name (dnsrr: the task's overlay address); the CLI through a port published in host mode
 * on the manager, since the host cannot route into an overlay. Swarm binds that port on every address of the
 * manager, not only 127.0.0.1 as the Docker runtime does: etcd's authentication (auth.ts) is what keeps others out.
 */
export async function startEtcdService(
  manager: Docker,
  options: { runId: string; network: string; image: string; hostPort: number },
): Promise<RunEtcd> {
  const name = etcdContainerName(options.runId);
  const hostPort = options.hostPort || (await freePort());
  const spec = {
    Name: name,
    Labels: { [RUN_LABEL]: options.runId, [ROLE_LABEL]: 'etcd' },
    TaskTemplate: {
      ContainerSpec: {
        Image: options.image,
        Command: ['/usr/local/bin/etcd'],
        Args: etcdArguments(name),
        Labels: { [RUN_LABEL]: options.runId, [ROLE_LABEL]: 'etcd' },
        // Swarm's tmpfs takes no owner, and etcd as nobody fails on a root-owned one even with mode 1777 ("error
        // listing data dir", tried): it runs as root here, with every capability dropped and a read-only root.
        ReadOnly: true,
        Mounts: [{ Type: 'tmpfs', Target: '/var/lib/etcd', TmpfsOptions: { SizeBytes: 1024 ** 3 } }],
        CapabilityDrop: ['ALL'],
      },
      Resources: { Limits: { MemoryBytes: ETCD_MEMORY, Pids: ETCD_PIDS } },
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: ['node.role==manager'] },
      Networks: [{ Target: options.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: ETCD_CLIENT_PORT, PublishedPort: hostPort, PublishMode: 'host' }] },
  };
  await manager.createService(spec as unknown as Docker.CreateServiceOptions);
  const endpoints = { host: `http://127.0.0.1:${hostPort}`, nodes: `http://${name}:${ETCD_CLIENT_PORT}` };
  await waitUntilServing(endpoints.host, name, 60_000);
  await weighAboveNodes(manager, options.runId);
  const client = new Etcd3({ hosts: endpoints.host, dialTimeout: 1000 });
  try {
    return { ...endpoints, credentials: await enableRunAuth(client, options.runId) };
  } finally {
    client.close();
  }
}

/**
 * Gives the etcd task's container the CPU weight the Docker runtime gives its etcd (ETCD_CPU_SHARES), so that the
 * coordinator keeps up when the nodes are busy on either runtime. A service spec has no CPU shares, so its task
 * starts at the default weight, the nodes' own. An engine updates a Swarm task's container like any other, and
 * Swarm leaves the weight alone. (It did not save a 754-node start on two cores: see the README's Swarm section.)
 */
async function weighAboveNodes(manager: Docker, runId: string): Promise<void> {
  const [task] = await manager.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, `${ROLE_LABEL}=etcd`] } });
  if (!task) throw new PeerlabError(`the run's etcd answers, but the manager's engine lists no container of it`, { hint: 'see `docker service ps` of its etcd service' });
  await manager.getContainer(task.Id).update({ CpuShares: ETCD_CPU_SHARES });
}

/** A port free on the host now: Swarm's host-mode publishing picks none by itself. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the run's etcd as a container on the run network. Its data lives in a tmpfs: a run's coordination
 * state is worth nothing after the run, and fsync on disk would be the bottleneck of a thousand registrations.
 * It comes up with authentication on (auth.ts): the credentials it returns are the only way in. Only `bench
 * startup --auth-cost` starts one without (`auth: false`), to measure what authentication costs.
 */
export async function startEtcdContainer(
  docker: Docker,
  options: { runId: string; network: string; image: string; hostPort: number; auth: boolean },
): Promise<RunEtcd | EtcdEndpoints> {
  const name = etcdContainerName(options.runId);
  const container = await docker.createContainer({
    name,
    Image: options.image,
    Entrypoint: ['/usr/local/bin/etcd'],
    Cmd: etcdArguments(name),
    Labels: { [RUN_LABEL]: options.runId, [ROLE_LABEL]: 'etcd' },
    ExposedPorts: { [`${ETCD_CLIENT_PORT}/tcp`]: {} },
    User: `${ETCD_UID}:${ETCD_UID}`,
    HostConfig: {
      NetworkMode: options.network,
      PortBindings: { [`${ETCD_CLIENT_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: options.hostPort ? String(options.hostPort) : '' }] },
      Tmpfs: { '/var/lib/etcd': `rw,size=1g,mode=0700,uid=${ETCD_UID},gid=${ETCD_UID}` },
      Memory: ETCD_MEMORY,
      MemorySwap: ETCD_MEMORY,
      PidsLimit: ETCD_PIDS,
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
  const client = new Etcd3({ hosts: endpoints.host, dialTimeout: 1000 });
  try {
    return options.auth ? { ...endpoints, credentials: await enableRunAuth(client, options.runId) } : endpoints;
  } finally {
    client.close();
  }
}

/**
 * Polls etcd's /health until it says healthy. Over plain HTTP, not the etcd3 client: that client's circuit
 * breaker opens on the first refused connection (etcd not listening yet) and then fails every call for 5 s, so
 * three bring-ups in four paid 5 s for a member that was serving after 1 (measured).
 */
async function waitUntilServing(endpoint: string, name: string, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let lastError: unknown;
  while (Date.now() <= deadline) {
    // A timer of our own, not AbortSignal.timeout: that one's timer does not keep the process alive, and a
    // connection docker-proxy accepted before etcd listens can then hang with nothing else pending (seen: the
    // process exited mid-await).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error('no answer within 1 s')), 1000);
    try {
      const response = await fetch(`${endpoint}/health`, { signal: abort.signal });
      const { health } = (await response.json()) as { health?: string };
      if (health === 'true') return;
      lastError = new Error(`/health says ${JSON.stringify(health)}`);
    } catch (error) {
      lastError = error;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new PeerlabError(`etcd in ${name} did not answer within ${withinMs / 1000} s`, { hint: `see \`docker logs ${name}\``, cause: lastError });
}
