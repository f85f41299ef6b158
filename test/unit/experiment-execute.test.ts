import { existsSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PeerlabError } from '../../src/errors.js';
import { runExperiment } from '../../src/experiment/experiment.js';
import type { Plot } from '../../src/experiment/plots.js';
import { ExperimentFolder, readOutcomes } from '../../src/experiment/store.js';
import { fakeRunner, prepared, tempDir } from './experiment-helpers.js';

const SWEEP = 'name: sweep\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: { name: flood, params: { root: "0" } }\nrepetitions: 2\ntimeout: 30\n';

const run = (text: string, options: Partial<Parameters<typeof runExperiment>[0]> & { runner: Parameters<typeof runExperiment>[0]['runner'] }) =>
  runExperiment({ prepared: prepared(text), resultsRoot: options.resultsRoot ?? tempDir(), resume: false, render: noPlots, ...options });

// The report test draws plots; here they would only slow the sweep logic down.
const noPlots = async (plots: readonly Plot[]) => plots.map((plot) => ({ ...plot, svg: '<svg/>' }));

describe('running an experiment (with a fake runner)', () => {
  it('runs every cell once per seed and writes the folder', async () => {
    const root = tempDir();
    const fake = fakeRunner();
    const stages: string[] = [];
    const result = await run(SWEEP, { runner: fake.runner, resultsRoot: root, hooks: { onStage: (_run, stage) => stages.push(stage) } });
    expect(result).toMatchObject({ experiment: 'sweep', cells: 2, runs: 4, executed: 4, skipped: 0, passed: 4, failed: 0, errors: 0, notRun: 0 });
    expect(fake.requests.map((request) => [request.topology, request.seed])).toEqual([
      ['ba:n=20,m=2', 1],
      ['ba:n=40,m=2', 1],
      ['ba:n=20,m=2', 2],
      ['ba:n=40,m=2', 2],
    ]);
    expect(fake.requests[0]).toMatchObject({ params: ['root=0'], timeoutMs: 30_000, resultsRoot: root, runtime: 'docker' });
    expect(new Set(stages)).toEqual(new Set(['creating', 'starting', 'registered', 'running', 'verifying', 'tearing down']));

    expect(path.dirname(path.dirname(result.folder))).toBe(root);
    expect(path.basename(path.dirname(result.folder))).toBe('sweep');
    expect(path.basename(result.folder)).toMatch(/^\d{8}-\d{6}$/);
    expect(readdirSync(result.folder).sort()).toEqual(['experiment.yaml', 'plots', 'report.html', 'runs.ndjson', 'summary.csv']);

    const resolved = parseYaml(readFileSync(path.join(result.folder, 'experiment.yaml'), 'utf8')) as Record<string, unknown>;
    expect(resolved).toMatchObject({ name: 'sweep', repetitions: 2, seeds: [1, 2], runs: 4 });
    expect((resolved.cells as Array<{ topology: string; nodes: number }>).map((cell) => [cell.topology, cell.nodes])).toEqual([
      ['ba:n=20,m=2', 20],
      ['ba:n=40,m=2', 40],
    ]);

    const csv = readFileSync(path.join(result.folder, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]).toBe(
      'key,cell,label,repetition,seed,topology,topology.n,topology.m,weights,algorithm,param.root,runtime,nodes,edges,status,passed,verdict,duration_s,' +
        'metric.bytes,metric.eccentricity,metric.messages,metric.reached,timing.allReadyMs,timing.algorithmMs,timing.totalMs,' +
        'node.hops.mean,node.hops.sum,node.hops.min,node.hops.max,node.hops.median,run_id,results_dir,replay',
    );
    // Rows in cell order, then repetition.
    expect(csv.slice(1).map((line) => line.split(',')[0])).toEqual(['c1-r1', 'c1-r2', 'c2-r1', 'c2-r2']);
    expect(csv[1]).toContain(',passed,true,');
    expect((await readOutcomes(result.folder)).map((outcome) => outcome.status)).toEqual(['passed', 'passed', 'passed', 'passed']);
  });

  it('records a run that throws as an error and goes on', async () => {
    const fake = fakeRunner({ fail: (_request, index) => (index === 1 ? 'throw' : index === 2 ? 'fail' : undefined) });
    const result = await run(SWEEP, { runner: fake.runner });
    expect(result).toMatchObject({ executed: 4, passed: 2, failed: 1, errors: 1 });
    const outcomes = await readOutcomes(result.folder);
    expect(outcomes[1]).toMatchObject({ key: 'c2-r1', status: 'error', verdict: 'node 3 exited during the run — see its logs' });
    expect(outcomes[1]!.runId).toMatch(/^flood-/);
    expect(outcomes[2]).toMatchObject({ key: 'c1-r2', status: 'failed' });
  });

  it('counts an unchecked run as unchecked, never as passed, in the result, summary.csv and report.html', async () => {
    const fake = fakeRunner({ fail: (_request, index) => (index === 1 ? 'unchecked' : undefined) });
    const result = await run(SWEEP, { runner: fake.runner });
    expect(result).toMatchObject({ executed: 4, passed: 3, failed: 0, unchecked: 1, errors: 0 });
    const outcomes = await readOutcomes(result.folder);
    expect(outcomes[1]).toMatchObject({ key: 'c2-r1', status: 'unchecked' });
    const csv = readFileSync(path.join(result.folder, 'summary.csv'), 'utf8');
    expect(csv).toContain(',unchecked,false,"no oracle for echo: results recorded, not checked",');
    const html = readFileSync(result.files.report, 'utf8');
    expect(html).not.toContain('all 4 runs passed');
    expect(html).toContain('3 passed · 1 unchecked');
    expect(html).toContain('? unchecked');
  });

  it('fails an unchecked run when the experiment has requireCheck: true', async () => {
    const fake = fakeRunner({ fail: (_request, index) => (index === 1 ? 'unchecked' : undefined) });
    const result = await run(`${SWEEP}requireCheck: true\n`, { runner: fake.runner });
    expect(fake.requests.every((request) => request.requireCheck === true)).toBe(true);
    expect(result).toMatchObject({ passed: 3, failed: 1, unchecked: 0 });
    const outcomes = await readOutcomes(result.folder);
    expect(outcomes[1]).toMatchObject({ status: 'failed', verdict: 'unchecked, and the experiment has requireCheck: no oracle for echo: results recorded, not checked' });
    const resolved = parseYaml(readFileSync(path.join(result.folder, 'experiment.yaml'), 'utf8')) as Record<string, unknown>;
    expect(resolved.requireCheck).toBe(true);
  });

  it('marks the run in progress, and a resume removes a run cut short before it starts anything', async () => {
    const root = tempDir();
    const marked: boolean[] = [];
    const fake = fakeRunner();
    const watching: typeof fake.runner = async (request) => {
      const summary = await fake.runner(request);
      // The run has not returned yet: its mark must be on disk (written as soon as its id is known).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const mark = JSON.parse(readFileSync(path.join(folderOf(root), 'in-flight.json'), 'utf8')) as { runId: string };
      marked.push(mark.runId === summary.runId);
      return summary;
    };
    let started = 0;
    const partial = await run(SWEEP, { runner: watching, resultsRoot: root, shouldStop: () => started >= 2, hooks: { onRunStart: () => started++ } });
    expect(partial).toMatchObject({ executed: 2, stopped: true });
    expect(marked).toEqual([true, true]);
    expect(existsSync(path.join(partial.folder, 'in-flight.json'))).toBe(false);

    // What a kill -9 in the third run leaves: its mark.
    writeFileSync(path.join(partial.folder, 'in-flight.json'), JSON.stringify({ key: 'c2-r1', runId: 'flood-20250101-999999-dead' }));
    const removed: string[] = [];
    const notes: string[] = [];
    const resumed = await run(SWEEP, {
      runner: fakeRunner().runner,
      resultsRoot: root,
      resume: true,
      removeRun: async (runId) => {
        removed.push(runId);
        return 11;
      },
      note: (line) => notes.push(line),
    });
    expect(removed).toEqual(['flood-20250101-999999-dead']);
    expect(notes).toContain('note: run c2-r1 (flood-20250101-999999-dead) was cut short; removed the 11 container(s) it left');
    expect(resumed).toMatchObject({ executed: 2, skipped: 2, passed: 4 });
    expect(existsSync(path.join(resumed.folder, 'in-flight.json'))).toBe(false);
  });

  it('resumes: skips the finished runs and runs the rest and the ones that did not finish', async () => {
    const root = tempDir();
    let started = 0;
    const first = fakeRunner({ fail: (_request, index) => (index === 1 ? 'throw' : undefined) });
    const partial = await run(SWEEP, { runner: first.runner, resultsRoot: root, shouldStop: () => started >= 3, hooks: { onRunStart: () => started++ } });
    expect(partial).toMatchObject({ executed: 3, stopped: true, notRun: 1, passed: 2, errors: 1 });

    const second = fakeRunner();
    const skipped: string[] = [];
    const resumed = await run(SWEEP, { runner: second.runner, resultsRoot: root, resume: true, hooks: { onSkip: (r) => skipped.push(r.key) } });
    expect(resumed.folder).toBe(partial.folder);
    expect(skipped).toEqual(['c1-r1', 'c1-r2']);
    expect(second.requests.map((request) => [request.topology, request.seed])).toEqual([
      ['ba:n=40,m=2', 1],
      ['ba:n=40,m=2', 2],
    ]);
    expect(resumed).toMatchObject({ executed: 2, skipped: 2, passed: 4, errors: 0, notRun: 0 });
    const csv = readFileSync(path.join(resumed.folder, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    const resolved = parseYaml(readFileSync(path.join(resumed.folder, 'experiment.yaml'), 'utf8')) as { resumedAt?: string[] };
    expect(resolved.resumedAt).toHaveLength(1);

    // Nothing left: a second resume runs nothing.
    const third = fakeRunner();
    expect(await run(SWEEP, { runner: third.runner, resultsRoot: root, resume: true })).toMatchObject({ executed: 0, skipped: 4 });
    expect(third.requests).toHaveLength(0);
  });

  it('resumes the newest folder, or the one given with --into', async () => {
    const root = tempDir();
    const stopAfterOne = () => {
      let n = 0;
      return { shouldStop: () => n >= 1, hooks: { onRunStart: () => void n++ } };
    };
    const older = await run(SWEEP, { runner: fakeRunner().runner, resultsRoot: root, ...stopAfterOne() });
    const newer = await run(SWEEP, { runner: fakeRunner().runner, resultsRoot: root, ...stopAfterOne() });
    expect(newer.folder).not.toBe(older.folder);
    expect((await run(SWEEP, { runner: fakeRunner().runner, resultsRoot: root, resume: true })).folder).toBe(newer.folder);
    const into = await run(SWEEP, { runner: fakeRunner().runner, resultsRoot: root, resume: true, into: older.folder });
    expect(into).toMatchObject({ folder: older.folder, skipped: 1, executed: 3 });
  });

  it('refuses to resume from a changed file, or with nothing to resume', async () => {
    const root = tempDir();
    await run(SWEEP, { runner: fakeRunner().runner, resultsRoot: root });
    const changed = SWEEP.replace('[20, 40]', '[20, 60]');
    await expect(run(changed, { runner: fakeRunner().runner, resultsRoot: root, resume: true })).rejects.toThrow(/was started from a different experiment file/);
    await expect(run(SWEEP, { runner: fakeRunner().runner, resultsRoot: tempDir(), resume: true })).rejects.toThrow(/no earlier run of experiment sweep/);
  });

  it('refuses to start in a non-empty --into folder', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'something'), 'x');
    await expect(run(SWEEP, { runner: fakeRunner().runner, into: dir })).rejects.toThrow(/--into .* is not empty/);
  });

  it('skips a line of the progress log that was cut short', async () => {
    const result = await run(SWEEP, { runner: fakeRunner().runner });
    appendFileSync(path.join(result.folder, 'runs.ndjson'), '{"key":"c1-r1","status":"err');
    expect(await readOutcomes(result.folder)).toHaveLength(4);
    const folder = await ExperimentFolder.at(result.folder);
    expect([...folder.recorded().keys()].sort()).toEqual(['c1-r1', 'c1-r2', 'c2-r1', 'c2-r2']);
  });

  it('gives every run of an experiment with groups its roles, its check, and a replay through the experiment', async () => {
    const fake = fakeRunner();
    const text = 'name: svc\ntopology: { model: complete, n: 6 }\ngroups:\n  - { role: weather, count: 2, service: weather, params: { stopAfterMs: 100 } }\n  - { role: client, algorithm: services/client }\ncheck: service-discovery\n';
    const result = await run(text, { runner: fake.runner });
    expect(result.passed).toBe(1);
    expect(fake.requests[0]).toMatchObject({
      name: 'svc',
      check: 'service-discovery',
      groups: [
        { role: 'weather', count: 2, algorithm: 'services/weather', params: ['stopAfterMs=100'] },
        { role: 'client', count: undefined, algorithm: 'services/client', params: [] },
      ],
    });
    expect(fake.requests[0]!.replay).toBe('peerlab experiment run test.yaml --runtime docker');
  });

  it("hands each run its cell's faults, resolved on its graph and seed, and records the schedule", async () => {
    const notes: string[] = [];
    const text = `${SWEEP}faults:\n  schedule: ["at=1s kill top-degree:{k}"]\n  k: [0, 2]\n`;
    const fake = fakeRunner();
    const result = await run(text, { runner: fake.runner, note: (line) => notes.push(line) });
    expect(notes.join('\n')).not.toMatch(/fault/);
    const faultsOf = (request: object) => (request as { faults: Array<{ action: string; nodes: string[] }> }).faults;
    const { loadTopology } = await import('../../src/topology/index.js');
    for (const request of fake.requests) {
      const { graph } = await loadTopology(request.topology, { seed: request.seed });
      const hubs = graph.nodes().sort((a, b) => graph.degree(b) - graph.degree(a) || Number(a) - Number(b));
      const k = faultsOf(request).length === 0 ? 0 : faultsOf(request)[0]!.nodes.length;
      expect(faultsOf(request)).toEqual(k === 0 ? [] : [expect.objectContaining({ atMs: 1000, action: 'kill', nodes: hubs.slice(0, 2) })]);
    }
    expect(fake.requests.map((request) => faultsOf(request).length).sort()).toEqual([0, 0, 0, 0, 1, 1, 1, 1].slice(0, fake.requests.length).sort());
    const resolved = parseYaml(readFileSync(path.join(result.folder, 'experiment.yaml'), 'utf8')) as { faults: unknown; cells: Array<{ faults?: string[] }> };
    expect(resolved.faults).toEqual({ schedule: ['at=1s kill top-degree:{k}'], k: [0, 2] });
    expect(resolved.cells.map((cell) => cell.faults)).toContainEqual(['at=1s kill top-degree:2']);
  });
});

function folderOf(root: string): string {
  const [stamp] = readdirSync(path.join(root, 'sweep'));
  return path.join(root, 'sweep', stamp!);
}
