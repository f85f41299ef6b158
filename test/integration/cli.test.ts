/**
 * The built CLI as a user runs it: bad input gets one `error: … — fix` line and a non-zero exit, and leaves no
 * Docker object behind; good input in the simulator passes and replays bit for bit.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { interruptPast, leftBehind, peerlabIn, peerlabWithNodeFlags } from './cli-helpers.js';

let workDir: string;
const peerlab = (...args: string[]) => peerlabIn(workDir, ...args);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-cli-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('bad input', () => {
  const cases: Array<{ name: string; args: () => Promise<string[]>; message: RegExp }> = [
    { name: 'an unknown topology model', args: async () => ['run', 'flood', '--topology', 'bx:n=10'], message: /unknown topology model "bx"/ },
    { name: 'an unknown model parameter', args: async () => ['run', 'flood', '--topology', 'ba:n=10,q=2'], message: /ba.*q/ },
    {
      name: 'a malformed GML file',
      args: async () => {
        const file = path.join(workDir, 'broken.gml');
        await writeFile(file, 'graph [\n  node [ id 0 \n');
        return ['run', 'flood', '--topology', file];
      },
      message: /broken\.gml/,
    },
    { name: 'an unreadable file', args: async () => ['run', 'flood', '--topology', path.join(workDir, 'missing.graphml')], message: /missing\.graphml/ },
    {
      name: 'a disconnected graph',
      args: async () => {
        const file = path.join(workDir, 'two-parts.txt');
        await writeFile(file, '0 1\n2 3\n');
        return ['run', 'flood', '--topology', file];
      },
      message: /--allow-disconnected/,
    },
    { name: 'more nodes than a bridge takes', args: async () => ['run', 'flood', '--topology', 'ring:n=1100'], message: /1100 nodes do not fit on one Docker bridge/ },
    { name: 'an unknown algorithm', args: async () => ['run', 'no-such-algorithm', '--topology', 'ring:n=5'], message: /unknown algorithm "no-such-algorithm"/ },
    { name: 'a bad algorithm parameter', args: async () => ['run', 'ghs', '--topology', 'ring:n=5', '--param', 'wakeup=sometimes'], message: /--param wakeup/ },
  ];

  for (const { name, args, message } of cases) {
    it(`rejects ${name} with one line, a fix, a non-zero exit, and nothing left`, async () => {
      const { code, stderr } = await peerlab(...(await args()));
      expect(code).not.toBe(0);
      const lines = stderr.trim().split('\n').filter((line) => line.startsWith('error:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(' — ');
      expect(await leftBehind(stderr)).toBe(0);
    });
  }

  it("rejects a taken etcd port, naming it, and leaves nothing", async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const { code, stderr } = await peerlab('run', 'flood', '--topology', 'ring:n=4', '--etcd-port', String(port));
      expect(code).not.toBe(0);
      expect(stderr).toMatch(new RegExp(`error: etcd's port 127.0.0.1:${port} is already taken — `));
      expect(stderr).toMatch(/^run \S+$/m);
      expect(await leftBehind(stderr)).toBe(0);
    } finally {
      blocker.close();
    }
  });
});

describe('Ctrl-C', () => {
  it('during start-up removes everything created so far and exits 130', async () => {
    const { code, stderr, runId } = await interruptPast(workDir, ['run', 'flood', '--topology', 'ring:n=40'], 3, 180_000);
    expect(code).toBe(130);
    expect(stderr).toContain(`interrupted: stopping ${runId} and removing what it created`);
    expect(await leftBehind(stderr)).toBe(0);
  });

  it('during `peerlab up` does the same', async () => {
    const { code, stderr, runId } = await interruptPast(workDir, ['up', '--topology', 'ring:n=40'], 3, 180_000);
    expect(code).toBe(130);
    expect(stderr).toContain(`interrupted: stopping ${runId} and removing what it created`);
    expect(await leftBehind(stderr)).toBe(0);
  });
});

describe('the verdict line and exit code', () => {
  const relay = path.join(packageRoot, 'test', 'fixtures', 'async-relay.ts');

  it('says UNCHECKED and exits 0 for a run nothing checked; --require-check exits 1; --json has the outcome', async () => {
    const plain = await peerlab('run', relay, '--topology', 'ring:n=6', '--runtime', 'sim');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^\? UNCHECKED {2}async-relay on 6 nodes, 6 edges: no oracle for async-relay: results recorded, not checked$/m);
    expect(plain.stdout).not.toMatch(/PASS/);

    const required = await peerlab('run', relay, '--topology', 'ring:n=6', '--runtime', 'sim', '--require-check');
    expect(required.code).toBe(1);
    expect(required.stdout).toMatch(/^\? UNCHECKED .*\(--require-check: an unchecked run fails\)$/m);

    const json = await peerlab('run', relay, '--topology', 'ring:n=6', '--runtime', 'sim', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'unchecked', passed: false, failed: false, inFlight: expect.any(Number) });
  });

  it("says PASS or FAIL as the algorithm file's own check says", async () => {
    const withCheck = path.join(packageRoot, 'test', 'fixtures', 'max-with-check.ts');
    const good = await peerlab('run', withCheck, '--topology', 'ba:n=20,m=2', '--runtime', 'sim');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^✔ PASS {2}max-with-check on 20 nodes, 36 edges: every node knows the maximum 19$/m);
    const bad = await peerlab('run', withCheck, '--topology', 'ba:n=20,m=2', '--runtime', 'sim', '--param', 'lie=true');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^✖ FAIL {2}max-with-check on 20 nodes, 36 edges: 1 node\(s\) do not know the maximum$/m);
  });
});

describe('the simulator through the CLI', () => {
  it('passes GHS and replays it bit for bit from the printed command', async () => {
    const first = await peerlab('run', 'ghs', '--topology', 'ba:n=60,m=2', '--seed', '3', '--runtime', 'sim', '--trace', '--json');
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as { passed: boolean; replay: string; resultsDir: string };
    expect(summary.passed).toBe(true);
    const replayArgs = summary.replay.split(' ').slice(1);
    const second = await peerlab(...replayArgs, '--trace', '--json');
    const replayed = JSON.parse(second.stdout) as { resultsDir: string };
    for (const file of ['nodes.csv', 'edges.csv', 'verify.json', 'events.ndjson']) {
      const [a, b] = await Promise.all([readFile(path.join(summary.resultsDir, file), 'utf8'), readFile(path.join(replayed.resultsDir, file), 'utf8')]);
      expect(b, file).toBe(a);
    }
  });

  it("runs under Node.js's own V8 flags, as a user raising the heap for a large run starts it", async () => {
    // The simulation thread was once given execArgv, and a Worker given execArgv refuses V8 flags in it.
    const run = await peerlabWithNodeFlags(workDir, ['--max-old-space-size=4096'], 'run', 'flood', '--topology', 'ba:n=50,m=2', '--runtime', 'sim', '--json');
    expect(run.code, `${run.stderr}${run.stdout}`).toBe(0);
    expect((JSON.parse(run.stdout) as { passed: boolean }).passed).toBe(true);
  });
});
