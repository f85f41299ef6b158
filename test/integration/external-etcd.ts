/** Helpers of the integration tests: an etcd outside the run that a test can watch, and what a run left behind. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { connectDocker, RUN_LABEL } from '../../src/docker/engine.js';

/** Starts `etcd` from the PATH on free ports, reachable from containers at the host's address; resolves once it answers. */
export async function startExternalEtcd(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const peerPort = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-etcd-'));
  const endpoint = `http://${nonLoopbackAddress()}:${port}`;
  const etcd = spawn(
    'etcd',
    [
      '--data-dir', dataDir,
      '--listen-client-urls', `http://0.0.0.0:${port}`,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
    ],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    etcd.kill();
    await rm(dataDir, { recursive: true, force: true });
  };
  const client = new Etcd3({ hosts: endpoint });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.maintenance.status();
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.close();
  }
  return { endpoint, stop };
}

/** The containers and networks labelled with the run's id. */
export async function leftovers(runId: string): Promise<{ containers: number; networks: number }> {
  const docker = await connectDocker();
  const filters = { label: [`${RUN_LABEL}=${runId}`] };
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}

function nonLoopbackAddress(): string {
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
