/**
 * Issue 9 §5, "errors point at the user's code", as a student meets them in the simulator: each case is
 * what the student did, and what peerlab must say.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { timeoutMsFrom } from '../../src/cli/run-request.js';
import { PeerlabError } from '../../src/errors.js';
import { listAlgorithms } from '../../src/plugins/catalog.js';
import { listResults } from '../../src/results/catalog.js';
import { showNodeLog } from '../../src/run/logs.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { runStateDir } from '../../src/run/state.js';
import type { RunId } from '../../src/util/names.js';
import { packageRoot } from '../../src/util/paths.js';

let dir: string;
const fixture = (name: string) => path.join(packageRoot, 'test', 'fixtures', `${name}.ts`);
const sim = (request: Partial<RunRequest> & Pick<RunRequest, 'algorithm' | 'topology'>) =>
  runAlgorithm({ params: [], seed: 1, allowDisconnected: false, timeoutMs: 60_000, resultsRoot: path.join(dir, 'results'), runtime: 'sim', ...request });
const failure = async (work: Promise<unknown>): Promise<PeerlabError> => {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PeerlabError);
  return error as PeerlabError;
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-errors-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a node whose code throws', () => {
  it("is reported at the algorithm's .ts line, with a hint about the simulator's files, not docker logs", async () => {
    const error = await failure(sim({ algorithm: fixture('throw-on-node-7'), topology: 'ring:n=10' }));
    const where = path.relative(process.cwd(), fixture('throw-on-node-7'));
    expect(error.message).toBe(`node 7 failed at ${where}:14:32: fixture: node 7 fails on purpose`);
    expect(error.hint).not.toMatch(/docker/);
    expect(error.hint).toMatch(/logs\/7\.log/);
  });

  it('leaves a failed run: nodes.csv with what was collected, listed by results list as failed', async () => {
    await failure(sim({ algorithm: fixture('throw-on-node-7'), topology: 'ring:n=10' }));
    const [entry] = await listResults(path.join(dir, 'results'));
    expect(entry).toMatchObject({ kind: 'run', algorithm: 'throw-on-node-7', nodes: 10, outcome: 'fail' });
    expect(entry!.kind === 'run' && entry!.verdict).toMatch(/^failed: node 7 failed at .*throw-on-node-7\.ts:14/);
    const rows = (await readFile(path.join(entry!.dir, 'nodes.csv'), 'utf8')).trim().split('\n');
    expect(rows).toHaveLength(11);
    // The token reaches node 7 from 6 and 8 only after several other nodes have reported.
    const reported = rows.slice(1).filter((row) => row.split(',')[4] !== '');
    expect(reported.length).toBeGreaterThanOrEqual(5);
    expect(existsSync(path.join(entry!.dir, 'logs', '7.log'))).toBe(true);
  });

  it('leaves nothing in the state folder, run or failed', async () => {
    const runIds: RunId[] = [];
    await sim({ algorithm: 'flood', topology: 'ring:n=4', onRunId: (id) => runIds.push(id) });
    await failure(sim({ algorithm: fixture('throw-on-node-7'), topology: 'ring:n=10', onRunId: (id) => runIds.push(id) }));
    // Refused once bundled, before it ran: its parameter is misspelt.
    await failure(sim({ algorithm: 'flood', topology: 'ring:n=4', params: ['rot=3'], onRunId: (id) => runIds.push(id) }));
    expect(runIds).toHaveLength(3);
    for (const runId of runIds) expect(existsSync(runStateDir(runId)), runId).toBe(false);
  });
});

describe('parameters', () => {
  it('refuses a misspelt --param, suggesting the name it is closest to', async () => {
    const error = await failure(sim({ algorithm: 'flood', topology: 'ring:n=10', params: ['rot=3'] }));
    expect(error.message).toBe('--param rot is not a parameter of flood');
    expect(error.hint).toMatch(/did you mean root\?/);
    const far = await failure(sim({ algorithm: 'ghs', topology: 'ring:n=10', params: ['colour=red'] }));
    expect(far.hint).not.toMatch(/did you mean/);
    expect(far.hint).toMatch(/wakeup/);
  });

  it('refuses a node-id parameter that names no node of the topology, before any node starts', async () => {
    const error = await failure(sim({ algorithm: 'flood', topology: 'ring:n=10', params: ['root=500'] }));
    expect(error.message).toBe('--param root=500 of flood: the topology has no node "500"');
    expect(error.hint).toMatch(/10 nodes \(0, 1, 2, …, 9\)/);
    expect(existsSync(path.join(dir, 'results'))).toBe(false);
    const ghs = await failure(sim({ algorithm: 'ghs', topology: 'ring:n=10', params: ['wakeup=one', 'wakeupNode=x'] }));
    expect(ghs.message).toMatch(/--param wakeupNode=x of ghs: the topology has no node "x"/);
  });

  it('shows node-id parameters as such in the catalog', async () => {
    const flood = (await listAlgorithms(dir)).find((entry) => entry.name === 'flood');
    expect(flood?.params.root).toMatchObject({ type: 'node id', nodeId: true, default: '0' });
  });
});

describe('an algorithm file', () => {
  it('sending to a number is told that node ids are strings', async () => {
    const error = await failure(sim({ algorithm: fixture('numeric-send'), topology: 'ring:n=5' }));
    expect(error.message).toMatch(/node 0 failed at .*numeric-send\.ts:7:\d+: node 0 cannot send to 1: node ids are strings, not numbers/);
  });

  it('without onMessage or run is told what is missing, at its line', async () => {
    const error = await failure(sim({ algorithm: fixture('no-handler'), topology: 'ring:n=5' }));
    expect(error.message).not.toMatch(/does not export an algorithm/);
    expect(error.message).toMatch(/no-handler\.ts failed to load at .*no-handler\.ts:4:\d+: algorithm "no-handler" has neither onMessage nor run/);
  });

  it('that does not export an algorithm is told what its default export is', async () => {
    const file = path.join(dir, 'plain.ts');
    await writeFile(file, "export default { name: 'plain', onMessage() {} };\n");
    const error = await failure(sim({ algorithm: file, topology: 'ring:n=5' }));
    expect(error.message).toMatch(/plain\.ts does not export an algorithm: its default export is a plain object; wrap it in defineAlgorithm/);
  });

  it('that is broken is listed with its error, and does not hide the others', async () => {
    await mkdir(path.join(dir, 'algorithms'));
    await writeFile(path.join(dir, 'algorithms', 'draft.ts'), "import { defineAlgorithm } from 'peerlab';\nexport default defineAlgorithm({ name: 'draft', init( });\n");
    const entries = await listAlgorithms(dir);
    expect(entries.find((entry) => entry.name === 'draft')).toMatchObject({ file: 'algorithms/draft.ts', error: expect.stringMatching(/cannot compile algorithm .*draft\.ts:2/) });
    const flood = entries.find((entry) => entry.name === 'flood');
    expect(flood).toMatchObject({ oracle: true, params: { root: { type: 'node id' } } });
    expect(flood?.error).toBeUndefined();
  });
});

describe('logs', () => {
  it("keep each node's node.log lines and console output in results/<run>/logs/<id>.log", async () => {
    const summary = await sim({ algorithm: fixture('chatty'), topology: 'ring:n=5' });
    const logs = path.join(summary.resultsDir, 'logs');
    expect((await readdir(logs)).sort()).toEqual(['0.log', '1.log', '2.log', '3.log', '4.log']);
    expect(await readFile(path.join(logs, '2.log'), 'utf8')).toBe(
      "[node 2] hello from 2\nconsole.log from node 2\n{ from: '2', stream: 'stderr' }\n" +
        "┌─────────┬──────┐\n│ (index) │ node │\n├─────────┼──────┤\n│ 0       │ '2'  │\n└─────────┴──────┘\n" +
        '[node 2] done sleeping\n',
    );
    expect(await readFile(path.join(logs, '0.log'), 'utf8')).toBe('[node 0] hello from 0\n');
    let shown = '';
    await showNodeLog({ runId: summary.runId, nodeId: '2', resultsRoot: path.join(dir, 'results'), follow: true, write: (chunk) => (shown += chunk.toString()) });
    expect(shown).toContain('console.log from node 2');
  });

  it('refuses a run or node id that is not one, before it becomes a path', async () => {
    await expect(showNodeLog({ runId: '../../etc', nodeId: '1', resultsRoot: dir, follow: false, write: () => {} })).rejects.toThrow(/is not a run id/);
    await expect(showNodeLog({ runId: 'flood-1', nodeId: '../x', resultsRoot: dir, follow: false, write: () => {} })).rejects.toThrow(/is not a node id/);
  });
});

describe('the run line', () => {
  it('replay carries --allow-disconnected and --timeout, and the replay runs', async () => {
    const topology = path.join(dir, 'two-parts.txt');
    await writeFile(topology, '0 1\n1 2\n3 4\n');
    const summary = await sim({ algorithm: fixture('chatty'), topology, allowDisconnected: true, timeoutMs: 45_000 });
    expect(summary.replay).toContain(' --allow-disconnected');
    expect(summary.replay).toContain(' --timeout 45');
  });

  it('a --placement with one place for the nodes (one engine without --hosts, the simulator) is refused, not ignored', async () => {
    for (const runtime of ['docker', 'sim'] as const) {
      const refused = await failure(sim({ algorithm: 'flood', topology: 'ring:n=4', runtime, placement: 'first' }));
      expect(refused.message).toBe(`--placement first: a ${runtime} run without --hosts has one place for its nodes, so there is nothing to place`);
      expect(refused.hint).toBe('add --hosts (--runtime docker or sim), take --runtime swarm, or leave --placement out');
    }
    // The default is what every run without the flag gets.
    await expect(sim({ algorithm: 'flood', topology: 'ring:n=4', placement: 'spread' })).resolves.toMatchObject({ outcome: 'pass' });
  });

  it('--trace on a runtime whose nodes cannot write into this host (the Swarm) is refused before anything starts', async () => {
    const observer = { prepared: vi.fn() };
    const refused = await failure(sim({ algorithm: 'flood', topology: 'ring:n=4', runtime: 'swarm', trace: true, observer }));
    expect(refused.message).toMatch(/^--trace: the swarm runtime cannot trace messages/);
    expect(refused.hint).toBe('trace the run on --runtime docker or sim, or leave --trace out');
    // Before the run was prepared, so `--ui` has printed no dashboard URL and no cluster was looked for.
    expect(observer.prepared).not.toHaveBeenCalled();
  });

  it('a --policy without --hosts is refused where every node has one place, before anything starts', async () => {
    const livePlacement = { policy: 'equal', policySource: 'policies/equal.ts', everyMs: 1000, hold: [], settings: {} };
    for (const runtime of ['docker', 'sim'] as const) {
      const refused = await failure(sim({ algorithm: 'flood', topology: 'ring:n=4', runtime, livePlacement }));
      expect(refused.message).toBe('--policy equal needs --hosts: a policy places nodes on hosts');
      expect(refused.hint).toBe("add --hosts, e.g. --hosts 'big=4,small=1', or take --runtime swarm, whose engines are its hosts");
    }
  });

  it('--timeout is checked in seconds, its own unit', () => {
    expect(() => timeoutMsFrom(-1)).toThrow(/^--timeout -1 is not a positive number of seconds$/);
    expect(timeoutMsFrom(2)).toBe(2000);
  });
});
