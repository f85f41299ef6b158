/** A real etcd server as a child process, for tests that need etcd without Docker (`etcd` must be on the PATH). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';

export interface EtcdProcess {
  /** The client URL, e.g. http://10.0.0.5:23790. */
  readonly endpoint: string;
  /** Kills etcd and starts it again on the same port and data: its clients' connections and streams break. */
  restart(): Promise<void>;
  /** Kills etcd, keeping its data: its clients' connections and streams break, and new ones fail until `start()`. */
  kill(): Promise<void>;
  /** Starts etcd again after `kill()`, on the same port and data, and waits until it answers. */
  start(): Promise<void>;
  /** Stops etcd (SIGSTOP) for `ms` and lets it go on: it answers nothing meanwhile, as on a starved host. */
  freeze(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts etcd listening on every interface (so containers can reach it at `host`) and waits until it answers.
 * `extraArgs` go to etcd as they are (e.g. a short --auth-token-ttl).
 */
export async function startEtcd(host = '127.0.0.1', extraArgs: readonly string[] = []): Promise<EtcdProcess> {
  const port = await freePort();
  const peerPort = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-etcd-'));
  const endpoint = `http://${host}:${port}`;
  const args = [
    '--data-dir', dataDir,
    '--listen-client-urls', `http://0.0.0.0:${port}`,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
    ...extraArgs,
  ];
  let child: ChildProcess = spawn('etcd', args, { stdio: 'ignore' });
  await answering(endpoint);
  const kill = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill();
    });
  const start = async () => {
    child = spawn('etcd', args, { stdio: 'ignore' });
    await answering(endpoint);
  };
  return {
    endpoint,
    restart: async () => {
      await kill();
      await start();
    },
    kill,
    start,
    freeze: async (ms) => {
      child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ms));
      child.kill('SIGCONT');
    },
    stop: async () => {
      child.kill('SIGCONT');
      child.kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function answering(endpoint: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.maintenance.status();
        return;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
}

/** This host's address that containers can reach (not loopback, not a Docker bridge). */
export function nonLoopbackAddress(): string {
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (name.startsWith('docker') || name.startsWith('br-') || name.startsWith('veth')) continue;
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error('no non-loopback IPv4 address for the external etcd');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
