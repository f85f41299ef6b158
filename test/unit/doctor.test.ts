import { describe, expect, it } from 'vitest';
import { arpEntriesNeeded } from '../../src/doctor/arp.js';
import {
  HOST_LIMITS,
  MEMORY_ESTIMATE,
  compareVersions,
  inotifyNeeded,
  memoryNeeded,
  openFilesNeeded,
  runChecks,
  type Check,
  type DoctorFacts,
} from '../../src/doctor/checks.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A healthy machine: the one peerlab is developed on, with nothing built yet. */
function facts(overrides: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    docker: { reachable: true, endpoint: '/var/run/docker.sock', version: '20.10.24+dfsg1', apiVersion: '1.41', arch: 'amd64', cgroupVersion: '2' },
    images: { node: [], nodeBase: [], etcd: [], defaultNodeBase: false, defaultEtcd: false },
    defaults: { nodeBase: 'node:20-bookworm-slim', etcd: 'quay.io/coreos/etcd:v3.5.17' },
    hostNode: { path: '/usr/bin/node', version: 'v20.20.2', platform: 'linux', arch: 'x64' },
    ldd: true,
    hostEtcd: { path: '/usr/bin/etcd', version: '3.4.23' },
    memAvailableBytes: 23 * GiB,
    openFiles: { soft: 20000, hard: 20000 },
    inotify: { maxUserInstances: 8192, maxUserWatches: 524288 },
    hostCgroupVersion: '2',
    arpLimit: 1024,
    packetLinks: { netem: false, htb: true, u32: true, statistic: true, root: true, tools: true, source: '/proc/config.gz' },
    ...overrides,
  };
}

function check(checks: Check[], name: string): Check {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${checks.map((c) => c.name).join(', ')}`);
  return found;
}

describe('doctor checks', () => {
  it('passes every check on a healthy machine, and only failed checks carry a fix', () => {
    const checks = runChecks(facts(), 100);
    expect(checks.map((c) => c.name)).toEqual([
      'Docker engine',
      'Docker version',
      'node image',
      'etcd image',
      'Node.js',
      'memory',
      'bridge network',
      'open files',
      'inotify instances',
      'inotify watches',
      'ARP table',
      'link shaping',
    ]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(check(checks, 'link shaping').detail).toMatch(/rate yes \(htb, u32\), loss yes \(iptables statistic\), delay and jitter no \(netem\)/);
    expect(checks.every((c) => c.fix === undefined)).toBe(true);
    expect(check(checks, 'node image').detail).toContain('from the host Node.js (/usr/bin/node v20.20.2)');
    expect(check(checks, 'etcd image').detail).toContain('buildable offline from /usr/bin/etcd (etcd 3.4.23)');
  });

  it('an unreachable engine fails with its own hint, and the checks that need it say so', () => {
    const checks = runChecks(
      facts({
        docker: { reachable: false, endpoint: '/var/run/docker.sock', error: 'permission denied on /var/run/docker.sock', hint: 'add yourself to the docker group (sudo usermod -aG docker $USER) or run as root' },
        images: undefined,
      }),
      100,
    );
    expect(check(checks, 'Docker engine')).toEqual({
      name: 'Docker engine',
      ok: false,
      detail: 'permission denied on /var/run/docker.sock',
      fix: 'add yourself to the docker group (sudo usermod -aG docker $USER) or run as root',
    });
    for (const name of ['Docker version', 'node image', 'etcd image']) {
      expect(check(checks, name)).toMatchObject({ ok: false, fix: 'fix the Docker engine check first' });
    }
    expect(check(checks, 'Node.js').ok).toBe(true);
  });

  it('rejects engines older than Docker 20.10', () => {
    const old = check(runChecks(facts({ docker: { reachable: true, endpoint: 'x', version: '19.03.15', apiVersion: '1.40', arch: 'amd64' } }), 10), 'Docker version');
    expect(old.ok).toBe(false);
    expect(old.fix).toMatch(/Docker 20\.10/);
    expect(check(runChecks(facts({ docker: { reachable: true, endpoint: 'x', version: '27.1.0', apiVersion: '1.46', arch: 'amd64' } }), 10), 'Docker version').ok).toBe(true);
  });

  it('finds the node image present, buildable on a local base, or not buildable at all', () => {
    const base = facts().images!;
    expect(check(runChecks(facts({ images: { ...base, node: ['peerlab/node:abc', 'peerlab/node:old'] } }), 1), 'node image')).toMatchObject({ ok: true, detail: 'peerlab/node:abc present (and 1 older)' });
    expect(check(runChecks(facts({ images: { ...base, defaultNodeBase: true } }), 1), 'node image').detail).toContain('on node:20-bookworm-slim (local)');
    expect(check(runChecks(facts({ images: { ...base, nodeBase: ['peerlab/node-base:20.20.2'] } }), 1), 'node image').detail).toContain('peerlab/node-base:20.20.2');

    const mac = check(runChecks(facts({ hostNode: { path: '/opt/homebrew/bin/node', version: 'v20.1.0', platform: 'darwin', arch: 'arm64' } }), 1), 'node image');
    expect(mac.ok).toBe(false);
    expect(mac.fix).toContain('--base-image');
    const foreign = check(runChecks(facts({ hostNode: { ...facts().hostNode, arch: 'arm64' } }), 1), 'node image');
    expect(foreign.ok).toBe(false);
    expect(check(runChecks(facts({ ldd: false }), 1), 'node image').detail).toContain('no ldd');
  });

  it('finds the etcd image present or buildable, else says to install etcd-server', () => {
    const base = facts().images!;
    expect(check(runChecks(facts({ images: { ...base, defaultEtcd: true } }), 1), 'etcd image').detail).toBe('quay.io/coreos/etcd:v3.5.17 present');
    expect(check(runChecks(facts({ images: { ...base, etcd: ['peerlab/etcd:3.4.23'] }, hostEtcd: { path: '/usr/bin/etcd', version: undefined } }), 1), 'etcd image').ok).toBe(true);
    const missing = check(runChecks(facts({ hostEtcd: { path: '/usr/bin/etcd', version: undefined } }), 1), 'etcd image');
    expect(missing.ok).toBe(false);
    expect(missing.fix).toContain('apt-get install etcd-server');
  });

  it('wants Node.js 20 or newer', () => {
    expect(check(runChecks(facts({ hostNode: { ...facts().hostNode, version: 'v18.19.0' } }), 1), 'Node.js')).toMatchObject({ ok: false });
    expect(check(runChecks(facts({ hostNode: { ...facts().hostNode, version: 'v22.3.0' } }), 1), 'Node.js').ok).toBe(true);
  });

  it('compares MemAvailable with the per-node estimate and says how many nodes fit', () => {
    expect(memoryNeeded(100)).toBe(MEMORY_ESTIMATE.fixedBytes + 100 * MEMORY_ESTIMATE.perNodeBytes);
    expect(memoryNeeded(100)).toBe((200 + 2400) * MiB);
    const enough = check(runChecks(facts({ memAvailableBytes: memoryNeeded(100) }), 100), 'memory');
    expect(enough.ok).toBe(true);
    const short = check(runChecks(facts({ memAvailableBytes: 1 * GiB }), 100), 'memory');
    expect(short.ok).toBe(false);
    // (1024 − 200) / 24 = 34.3 nodes fit.
    expect(short.fix).toContain('run at most 34 nodes');
    expect(check(runChecks(facts({ memAvailableBytes: undefined }), 100), 'memory').ok).toBe(false);
  });

  it('holds a run to one bridge network: at most 1022 nodes besides etcd', () => {
    expect(check(runChecks(facts(), 1022), 'bridge network').ok).toBe(true);
    const over = check(runChecks(facts({ memAvailableBytes: 100 * GiB }), 1023), 'bridge network');
    expect(over.ok).toBe(false);
    expect(over.fix).toContain('1022');
  });

  it('checks the open-files limit, with ulimit when the hard limit allows it and limits.conf when not', () => {
    expect(openFilesNeeded(100)).toBe(HOST_LIMITS.openFilesFixed + 100 * HOST_LIMITS.openFilesPerNode);
    expect(check(runChecks(facts({ openFiles: { soft: 1024, hard: 1_048_576 } }), 100), 'open files').ok).toBe(true);
    const soft = check(runChecks(facts({ openFiles: { soft: 1024, hard: 1_048_576 } }), 1000), 'open files');
    expect(soft).toMatchObject({ ok: false, fix: `ulimit -n ${openFilesNeeded(1000)} in the shell before running peerlab` });
    const hard = check(runChecks(facts({ openFiles: { soft: 1024, hard: 1024 } }), 1000), 'open files');
    expect(hard.fix).toContain('/etc/security/limits.conf');
    expect(check(runChecks(facts({ openFiles: { soft: Infinity, hard: Infinity } }), 1000), 'open files')).toMatchObject({ ok: true, detail: expect.stringContaining('unlimited') });
  });

  it('checks inotify limits against one instance per container on cgroup v2, none on cgroup v1', () => {
    const defaults = { maxUserInstances: 128, maxUserWatches: 8192 };
    const v2 = runChecks(facts({ inotify: defaults }), 100);
    expect(check(v2, 'inotify instances')).toMatchObject({ ok: false, fix: expect.stringContaining('sysctl -w fs.inotify.max_user_instances=8192') });
    expect(check(v2, 'inotify watches')).toMatchObject({ ok: false, fix: expect.stringContaining('sysctl -w fs.inotify.max_user_watches=524288') });

    const v1 = runChecks(facts({ inotify: defaults, docker: { ...(facts().docker as { reachable: true; endpoint: string; version: string; apiVersion: string; arch: string }), cgroupVersion: '1' } }), 100);
    expect(check(v1, 'inotify instances').ok).toBe(true);
    expect(check(v1, 'inotify watches').ok).toBe(true);

    expect(inotifyNeeded(1000, '2')).toEqual({ instances: 1064, watches: 8192 + 2000 });
    expect(inotifyNeeded(1000, undefined)).toEqual(inotifyNeeded(1000, '2'));
    const big = check(runChecks(facts({ inotify: { maxUserInstances: 1024, maxUserWatches: 524288 } }), 1000), 'inotify instances');
    expect(big.ok).toBe(false);
    expect(check(runChecks(facts({ inotify: undefined }), 10), 'inotify')).toMatchObject({ ok: false });
  });

  it('checks the host-wide ARP table: the default 1024 entries hold 100 nodes but not 500', () => {
    expect(check(runChecks(facts(), 100), 'ARP table').ok).toBe(true);
    const short = check(runChecks(facts(), 500), 'ARP table');
    expect(short).toMatchObject({ ok: false, detail: expect.stringContaining('need about 2000 entries') });
    expect(short.fix).toContain('net.ipv4.neigh.default.gc_thresh3=16384');
    expect(check(runChecks(facts({ arpLimit: 16384 }), 1000), 'ARP table').ok).toBe(true);
    expect(check(runChecks(facts({ arpLimit: undefined }), 10), 'ARP table').ok).toBe(false);
    expect(arpEntriesNeeded(500, 996)).toBe(1996);
  });

  it('compares dotted versions numerically', () => {
    expect(compareVersions('1.41', '1.41')).toBe(0);
    expect(compareVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareVersions('1.100', '1.41')).toBeGreaterThan(0);
  });
});

describe('doctor swarm checks', () => {
  const swarm = {
    state: 'active',
    manager: true,
    nodes: { total: 3, ready: 3 },
    cluster: 'peerlab',
    dataPathPort: 4789,
    engines: [
      { name: 'engine-1', manager: true, listening: ['2377/tcp', '7946/tcp', '7946/udp'] },
      { name: 'engine-2', manager: false, listening: ['7946/tcp', '7946/udp', '4789/udp'] },
    ],
  };

  it('adds no check without a Swarm', () => {
    expect(runChecks(facts(), 10).some((c) => c.name.startsWith('Swarm'))).toBe(false);
  });

  it('passes a healthy cluster, and says the VXLAN port opens with the first overlay', () => {
    const checks = runChecks(facts({ swarm }), 10);
    expect(check(checks, 'Swarm')).toMatchObject({ ok: true });
    expect(check(checks, 'Swarm').detail).toContain('3/3 nodes Ready');
    expect(check(checks, 'Swarm').detail).toContain('ARP table shared');
    expect(check(checks, 'Swarm ports engine-1').detail).toContain('4789/udp opens with the first overlay network');
    expect(check(checks, 'Swarm ports engine-2')).toMatchObject({ ok: true });
  });

  it('fails a node that is not Ready, a missing manager port, and unreadable sockets, each with a fix', () => {
    const broken = {
      ...swarm,
      nodes: { total: 3, ready: 2 },
      engines: [
        { name: 'engine-1', manager: true, listening: ['7946/tcp', '7946/udp'] },
        { name: 'engine-2', manager: false, listening: undefined },
      ],
    };
    const checks = runChecks(facts({ swarm: broken }), 10);
    for (const name of ['Swarm', 'Swarm ports engine-1', 'Swarm ports engine-2']) {
      expect(check(checks, name).ok).toBe(false);
      expect(check(checks, name).fix).toBeTruthy();
    }
    expect(check(checks, 'Swarm ports engine-1').detail).toContain('missing 2377/tcp');
  });
});
