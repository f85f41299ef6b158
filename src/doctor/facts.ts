/** Gathers what `peerlab doctor` judges: the engine, local images, host binaries and kernel limits. */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { connectDocker, dockerEndpoint, engineInfo, IMAGE_LABEL, localImage } from '../docker/engine.js';
import { DEFAULT_ETCD_IMAGE, HOST_ETCD, hostEtcdVersion } from '../image/etcd.js';
import { DEFAULT_NODE_BASE } from '../image/node.js';
import { readArpLimit } from './arp.js';
import { gatherSwarmFacts } from './swarm.js';
import { packetSupport } from '../links/packet.js';
import type { DoctorFacts } from './checks.js';

const run = promisify(execFile);

export async function gatherFacts(): Promise<DoctorFacts> {
  const [docker, ldd, etcdVersion, memAvailableBytes, openFiles, inotify, hostCgroupVersion, arpLimit, packetLinks] = await Promise.all([
    dockerFacts(),
    run('ldd', ['--version']).then(
      () => true,
      () => false,
    ),
    hostEtcdVersion(HOST_ETCD),
    readMemAvailable(),
    readOpenFiles(),
    readInotify(),
    readCgroupVersion(),
    readArpLimit(),
    packetSupport().catch(() => undefined),
  ]);
  return {
    docker: docker.facts,
    images: docker.client ? await imageFacts(docker.client) : undefined,
    defaults: { nodeBase: DEFAULT_NODE_BASE, etcd: DEFAULT_ETCD_IMAGE },
    hostNode: { path: process.execPath, version: process.version, platform: process.platform, arch: process.arch },
    ldd,
    hostEtcd: { path: HOST_ETCD, version: etcdVersion },
    memAvailableBytes,
    openFiles,
    inotify,
    hostCgroupVersion,
    arpLimit,
    packetLinks,
    swarm: docker.client ? await gatherSwarmFacts(docker.client).catch(() => undefined) : undefined,
  };
}

async function dockerFacts(): Promise<{ facts: DoctorFacts['docker']; client?: Docker }> {
  try {
    const client = await connectDocker();
    const [endpoint, info] = await Promise.all([dockerEndpoint(client), engineInfo(client)]);
    return {
      facts: { reachable: true, endpoint, version: info.version, apiVersion: info.apiVersion, arch: info.arch, cgroupVersion: info.cgroupVersion },
      client,
    };
  } catch (error) {
    if (!(error instanceof PeerlabError)) throw error;
    return { facts: { reachable: false, endpoint: process.env.DOCKER_HOST ?? '/var/run/docker.sock', error: error.message, hint: error.hint } };
  }
}

async function imageFacts(docker: Docker): Promise<NonNullable<DoctorFacts['images']>> {
  const byKind = async (kind: string) => {
    const images = await docker.listImages({ filters: { label: [`${IMAGE_LABEL}=${kind}`] } });
    return images
      .sort((a, b) => b.Created - a.Created)
      .flatMap((image) => (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'));
  };
  const [node, nodeBase, etcd, defaultNodeBase, defaultEtcd] = await Promise.all([
    byKind('node'),
    byKind('node-base'),
    byKind('etcd'),
    localImage(docker, DEFAULT_NODE_BASE).then(Boolean),
    localImage(docker, DEFAULT_ETCD_IMAGE).then(Boolean),
  ]);
  return { node, nodeBase, etcd, defaultNodeBase, defaultEtcd };
}

async function readMemAvailable(): Promise<number | undefined> {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/** The soft and hard open-files limits of this process (what `ulimit -n` shows). */
async function readOpenFiles(): Promise<DoctorFacts['openFiles']> {
  const text = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const value = (field: string) => (field === 'unlimited' ? Infinity : Number(field));
  return { soft: value(match[1]!), hard: value(match[2]!) };
}

async function readInotify(): Promise<DoctorFacts['inotify']> {
  const read = (name: string) => readFile(`/proc/sys/fs/inotify/${name}`, 'utf8').then((text) => Number(text.trim()));
  try {
    const [maxUserInstances, maxUserWatches] = await Promise.all([read('max_user_instances'), read('max_user_watches')]);
    return { maxUserInstances, maxUserWatches };
  } catch {
    return undefined;
  }
}

/** cgroup v2 has /sys/fs/cgroup/cgroup.controllers at its root. */
async function readCgroupVersion(): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  return stat('/sys/fs/cgroup/cgroup.controllers').then(
    () => '2',
    () => '1',
  );
}
