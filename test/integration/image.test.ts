/**
 * The images on a real Docker engine, offline: the node base made FROM scratch out of the host's Node.js, the
 * node image on it from a throw-away agent, and the etcd image (pulled, or made from the host's etcd-server).
 * Every container carries peerlab.run=test-<random> and is removed, even when a test fails.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, IMAGE_LABEL, ROLE_LABEL, RUN_LABEL } from '../../src/docker/engine.js';
import { ensureEtcdImage } from '../../src/image/etcd.js';
import { ensureNodeBaseImage, nodeBaseTag } from '../../src/image/node-base.js';
import { ensureNodeImage } from '../../src/image/node.js';
import { buildAgentBundle } from '../../src/node/bundle.js';

const runId = `test-${randomBytes(4).toString('hex')}`;
let docker: Docker;
let agentDir: string;
/** A base of this test's own, so the build runs every time and the shared peerlab/node-base is left alone. */
const testBase = `peerlab/node-base:${runId}`;
const builtImages = new Set<string>([testBase]);
const log: string[] = [];
const onLog = (line: string) => log.push(line);

/** A trivial agent: reports where it runs, reads a .proto from a subfolder like the real one, and exits. */
const AGENT = `// ${runId}
const fs = require('node:fs');
const path = require('node:path');
fs.writeFileSync('/tmp/probe', 'ok');
let rootWritable = true;
try { fs.writeFileSync('/peerlab/probe', 'x'); } catch { rootWritable = false; }
console.log('peerlab-agent ' + JSON.stringify({
  node: process.version,
  uid: process.getuid(),
  user: require('node:os').userInfo().username,
  execArgv: process.execArgv,
  greeting: process.env.PEERLAB_GREETING,
  proto: fs.readFileSync(path.join(__dirname, '../proto/test/hello.proto'), 'utf8').trim(),
  tmp: fs.readFileSync('/tmp/probe', 'utf8'),
  rootWritable,
}));
`;

beforeAll(async () => {
  docker = await connectDocker();
  agentDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-agent-'));
  await mkdir(path.join(agentDir, 'bin'));
  await mkdir(path.join(agentDir, 'proto', 'test'), { recursive: true });
  await writeFile(path.join(agentDir, 'bin', 'agent.cjs'), AGENT);
  // The real entry point, which runs agent.cjs from the code cache the image build makes.
  const bundled = await buildAgentBundle(await mkdtemp(path.join(os.tmpdir(), 'peerlab-agent-bundle-')));
  await copyFile(path.join(bundled, 'bin', 'start.cjs'), path.join(agentDir, 'bin', 'start.cjs'));
  await rm(bundled, { recursive: true, force: true });
  await writeFile(path.join(agentDir, 'proto', 'test', 'hello.proto'), 'syntax = "proto3";\n');
});

afterAll(async () => {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).toHaveLength(0);
  // This test's base and the node images of its throw-away agents are of no use to anyone.
  for (const tag of [...builtImages].reverse()) await docker.getImage(tag).remove({ force: true }).catch(() => {});
  if (agentDir) await rm(agentDir, { recursive: true, force: true });
});

/** Runs a container of this test to completion and returns what it printed. */
async function runToCompletion(options: Docker.ContainerCreateOptions): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    ...options,
    Labels: { [RUN_LABEL]: runId, [ROLE_LABEL]: 'node', ...options.Labels },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { exitCode: StatusCode, output: demultiplex(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

const lockedDown: Docker.HostConfig = {
  NetworkMode: 'none',
  ReadonlyRootfs: true,
  CapDrop: ['ALL'],
  SecurityOpt: ['no-new-privileges'],
  Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
};

describe('node images', () => {
  it('builds the node base FROM scratch out of the host Node.js, and node runs in it', async () => {
    const began = Date.now();
    const base = await ensureNodeBaseImage(docker, { tag: testBase });
    console.log(`node base ${base.tag} built in ${Date.now() - began} ms`);
    expect(base).toMatchObject({ tag: testBase, built: true });
    expect(nodeBaseTag()).toBe(`peerlab/node-base:${process.version.slice(1)}`);
    expect(await ensureNodeBaseImage(docker, { tag: testBase })).toEqual({ ...base, built: false });
    const image = await docker.getImage(base.tag).inspect();
    expect(image.Config.Labels?.[IMAGE_LABEL]).toBe('node-base');
    expect(image.Config.Env).toContain(`NODE_VERSION=${process.version.slice(1)}`);

    const { exitCode, output } = await runToCompletion({
      Image: base.tag,
      User: '1000:1000',
      Cmd: ['node', '-e', 'console.log(process.version, require("os").userInfo().username, (require("fs").statSync("/tmp").mode & 0o7777).toString(8))'],
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'] },
    });
    expect(output.trim()).toBe(`${process.version} node 1777`);
    expect(exitCode).toBe(0);
  });

  it('builds the node image from an agent folder, runs it locked down, and reuses it while the agent is unchanged', async () => {
    const began = Date.now();
    const first = await ensureNodeImage({ agentDir, base: testBase, docker, onLog });
    builtImages.add(first.tag);
    console.log(`node image ${first.tag} built in ${Date.now() - began} ms`);
    expect(first).toMatchObject({ built: true, base: testBase });
    expect(first.tag).toMatch(/^peerlab\/node:[0-9a-f]{12}$/);
    const image = await docker.getImage(first.tag).inspect();
    expect(image.Id).toBe(first.id);
    expect(image.Config.Labels).toMatchObject({ [IMAGE_LABEL]: 'node', 'peerlab.base': testBase });
    expect(image.Config.User).toBe('1000:1000');

    const { exitCode, output } = await runToCompletion({ Image: first.tag, Env: ['PEERLAB_GREETING=hello'], HostConfig: lockedDown });
    expect(exitCode, output).toBe(0);
    const line = output.split('\n').find((l) => l.startsWith('peerlab-agent '));
    expect(line, output).toBeDefined();
    const report = JSON.parse(line!.slice('peerlab-agent '.length)) as Record<string, unknown>;
    expect(report).toMatchObject({
      node: process.version,
      uid: 1000,
      user: 'node',
      greeting: 'hello',
      proto: 'syntax = "proto3";',
      tmp: 'ok',
      rootWritable: false,
    });
    expect(report.execArgv).toEqual(['--max-semi-space-size=1', '--v8-pool-size=1', '--no-memory-reducer', '--single-threaded-gc']);

    // The agent's code cache was made under the entry point's flags, so V8 takes it rather than compiling afresh.
    const cacheCheck = await runToCompletion({
      Image: first.tag,
      Entrypoint: ['node', ...(report.execArgv as string[]), '-e'],
      Cmd: [
        `const fs = require('node:fs'); const file = '/peerlab/bin/agent.cjs';
        const script = new (require('node:vm').Script)(require('node:module').wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(file + '.cache') });
        console.log('rejected=' + script.cachedDataRejected);`,
      ],
      HostConfig: lockedDown,
    });
    expect(cacheCheck.output.trim(), cacheCheck.output).toBe('rejected=false');

    const again = await ensureNodeImage({ agentDir, base: testBase, docker, onLog });
    expect(again).toEqual({ ...first, built: false });

    await writeFile(path.join(agentDir, 'proto', 'test', 'hello.proto'), 'syntax = "proto3"; // changed\n');
    const changed = await ensureNodeImage({ agentDir, base: testBase, docker, onLog });
    builtImages.add(changed.tag);
    expect(changed.built).toBe(true);
    expect(changed.tag).not.toBe(first.tag);
  });

  it('without a base, falls back to a base made from the host Node.js when no registry answers', async () => {
    const lines: string[] = [];
    const hasDefault = await docker.getImage('node:20-bookworm-slim').inspect().then(() => true, () => false);
    const image = await ensureNodeImage({ agentDir, docker, onLog: (line) => lines.push(line) });
    builtImages.add(image.tag);
    if (hasDefault) expect(image.base).toBe('node:20-bookworm-slim');
    else expect(image.base).toBe(nodeBaseTag());
  });
});

describe('etcd image', () => {
  it('provides an etcd image that serves /health on a port published on 127.0.0.1', async () => {
    const lines: string[] = [];
    const began = Date.now();
    const etcd = await ensureEtcdImage({ docker, onLog: (line) => lines.push(line) });
    console.log(`etcd image ${etcd.tag} (${etcd.source}${etcd.built ? `, built in ${Date.now() - began} ms` : ''})`);
    if (etcd.source === 'host') {
      expect(etcd.tag).toMatch(/^peerlab\/etcd:\d+\.\d+\.\d+/);
      expect((await docker.getImage(etcd.tag).inspect()).Config.Labels?.[IMAGE_LABEL]).toBe('etcd');
    }

    const container = await docker.createContainer({
      Image: etcd.tag,
      Entrypoint: ['/usr/local/bin/etcd'],
      Cmd: [
        '--name', 'test',
        '--data-dir', '/var/lib/etcd/data',
        '--listen-client-urls', 'http://0.0.0.0:2379',
        '--advertise-client-urls', 'http://127.0.0.1:2379',
        '--listen-peer-urls', 'http://127.0.0.1:2380',
        '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
        '--initial-cluster', 'test=http://127.0.0.1:2380',
      ],
      Labels: { [RUN_LABEL]: runId, [ROLE_LABEL]: 'etcd' },
      ExposedPorts: { '2379/tcp': {} },
      HostConfig: {
        PortBindings: { '2379/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        // etcd preallocates its write-ahead log 64 MB a segment, and the next segment in the background: in a 64 MiB
        // tmpfs, that left the database 3 MB, and once (CI, 6 Dec 2026) the background allocation took them first and
        // etcd died with "no space left on device". Runs give it 1 GiB (src/etcd/server.ts).
        Tmpfs: { '/var/lib/etcd': 'rw,size=256m' },
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
      },
    });
    await container.start();
    const port = (await container.inspect()).NetworkSettings.Ports['2379/tcp']?.[0]?.HostPort;
    expect(port).toMatch(/^\d+$/);

    const deadline = Date.now() + 30_000;
    let health: unknown;
    while (Date.now() < deadline) {
      health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.json(),
        () => undefined,
      );
      if ((health as { health?: string } | undefined)?.health === 'true') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(health, demultiplex((await container.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer)).toMatchObject({ health: 'true' });
  });
});

/** Docker's log stream without a TTY: 8-byte frame headers before each chunk. */
function demultiplex(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
