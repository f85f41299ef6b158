import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExperiment, type ExperimentResult } from '../../src/experiment/experiment.js';
import { findResult, listResults, readRunEntry, type ExperimentEntry, type RunEntry } from '../../src/results/catalog.js';
import { compareResults } from '../../src/results/compare.js';
import { formatComparison, formatList, formatShown, showResult } from '../../src/results/show.js';
import { fakeRunner, prepared, tempDir } from './experiment-helpers.js';

const experiment = (name: string, algorithm: string, sizes: string) =>
  `name: ${name}\ntopology: { model: ba, n: ${sizes}, m: 2 }\nalgorithm: ${algorithm}\nrepetitions: 2\n`;

describe('results list, show and compare (on synthetic result folders)', () => {
  const root = tempDir();
  let flood: ExperimentResult;
  let other: ExperimentResult;
  let runs: RunEntry[];

  beforeAll(async () => {
    flood = await runExperiment({ prepared: prepared(experiment('flood-ba', 'flood', '[20, 40]')), resultsRoot: root, resume: false, runner: fakeRunner().runner, render: async () => [] });
    // Another algorithm on the same sizes plus one more; it sends 2 more messages per run, and one run fails.
    const fake = fakeRunner({ fail: (_request, index) => (index === 5 ? 'fail' : undefined) });
    other = await runExperiment({
      prepared: prepared(experiment('echo-ba', 'echo', '[20, 40, 60]')),
      resultsRoot: root,
      resume: false,
      render: async () => [],
      runner: async (request) => {
        const summary = await fake.runner(request);
        return { ...summary, metrics: { ...summary.metrics, messages: summary.metrics.messages! + 2 } };
      },
    });
    // A stray folder that is neither a run nor an experiment is ignored.
    mkdirSync(path.join(root, 'scratch'));
    writeFileSync(path.join(root, 'scratch', 'notes.txt'), 'x');
    runs = (await listResults(root)).filter((entry): entry is RunEntry => entry.kind === 'run');
  });

  it('lists runs and experiments', async () => {
    const all = await listResults(root);
    const experiments = all.filter((entry): entry is ExperimentEntry => entry.kind === 'experiment');
    expect(experiments.map((entry) => entry.name).sort()).toEqual(['echo-ba', 'flood-ba']);
    expect(runs).toHaveLength(4 + 6);
    const echo = experiments.find((entry) => entry.name === 'echo-ba')!;
    expect(echo).toMatchObject({ algorithm: 'echo', nodes: '20–60', cells: 3, planned: 6, recorded: 6, passed: 5, failed: 1, errors: 0, verdict: '5 passed, 1 failed' });
    expect(experiments.find((entry) => entry.name === 'flood-ba')).toMatchObject({ verdict: 'all 4 runs passed', nodes: '20–40' });
    expect(runs.filter((run) => run.algorithm === 'flood' && run.outcome === 'pass')).toHaveLength(4);
    expect(runs.filter((run) => run.algorithm === 'echo' && run.outcome === 'fail')).toHaveLength(1);
    const text = formatList(all);
    expect(text.split('\n')[0]).toMatch(/^id\s+kind\s+algorithm\s+nodes\s+verdict\s+started\s+time$/);
    expect(text).toContain('flood-ba/');
    expect(text).toContain('✖ 5 passed, 1 failed');
  });

  it('finds a result by id, by experiment name, by prefix or by folder', async () => {
    expect((await findResult(root, 'flood-ba')).dir).toBe(flood.folder);
    expect((await findResult(root, `echo-ba/${path.basename(other.folder)}`)).dir).toBe(other.folder);
    expect((await findResult(root, other.folder)).kind).toBe('experiment');
    expect((await findResult(root, runs[0]!.id)).id).toBe(runs[0]!.id);
    expect((await findResult(root, runs[0]!.id.slice(0, -2))).id).toBe(runs[0]!.id);
    await expect(findResult(root, 'flood-2025')).rejects.toThrow(/matches \d+ results/);
    await expect(findResult(root, 'nothing-like-it')).rejects.toThrow(/no run or experiment "nothing-like-it"/);
  });

  it('shows a run and an experiment', async () => {
    const run = await showResult(runs.find((entry) => entry.algorithm === 'flood')!);
    expect(run).toMatchObject({ kind: 'run', verify: { passed: true } });
    expect(formatShown(run)).toMatch(/^✔ PASS {2}flood-/);
    // The files as they are named in the folder: a large nodes.csv would show as nodes.csv.gz.
    writeFileSync(path.join(run.entry.dir, 'nodes.csv.gz'), '');
    expect(formatShown(await showResult(run.entry as RunEntry))).toContain('  files     nodes.csv.gz, run.json, verify.json');
    const shown = await showResult(await findResult(root, 'echo-ba'));
    if (shown.kind !== 'experiment') throw new Error('expected an experiment');
    expect(shown.cells.map((cell) => [cell.label, cell.nodes, cell.passed, cell.runs])).toEqual([
      ['n=20', 20, 2, 2],
      ['n=40', 40, 2, 2],
      ['n=60', 60, 1, 2],
    ]);
    expect(shown.report).toBe(path.join(other.folder, 'report.html'));
    expect(formatShown(shown)).toContain('n=60');
  });

  it('compares two experiments cell by cell, matching on what varies', async () => {
    const comparison = await compareResults(await findResult(root, 'flood-ba'), await findResult(root, 'echo-ba'));
    expect(comparison.differences).toEqual(['algorithm: flood → echo']);
    expect(comparison.unmatched).toEqual({ a: [], b: ['n=60'] });
    const messages = comparison.values.filter((value) => value.metric === 'messages');
    // The fake sends 2E − N + 1 + seed messages (E = 2N − 3): 55.5 on average at N = 20 over seeds 1 and 2.
    expect(messages.map((value) => [value.cell, value.a, value.b])).toEqual([
      ['n=20', 56.5, 58.5],
      ['n=40', 116.5, 118.5],
    ]);
    expect(messages[0]!.ratio).toBeCloseTo(58.5 / 56.5);
    const text = formatComparison(comparison);
    expect(text).toContain('algorithm: flood → echo');
    expect(text).toMatch(/n=20\s+messages\s+56\.50\s+58\.50\s+×1\.035/);
    expect(text).toContain('only in b: n=60');
  });

  it('compares two runs metric by metric', async () => {
    const a = runs.find((run) => run.nodes === 20 && run.seed === 1)!;
    const b = runs.find((run) => run.nodes === 40 && run.seed === 1)!;
    const comparison = await compareResults(a, b);
    expect(comparison.differences).toContain('topology: ba:n=20,m=2 → ba:n=40,m=2');
    expect(comparison.values.find((value) => value.metric === 'nodes')).toMatchObject({ a: 20, b: 40, ratio: 2 });
    expect(comparison.values.find((value) => value.metric === 'timing.algorithmMs')).toMatchObject({ a: 200, b: 400, ratio: 2 });
  });

  it('refuses to compare a run with an experiment', async () => {
    await expect(compareResults(runs[0]!, await findResult(root, 'flood-ba'))).rejects.toThrow(/^cannot compare run .* with experiment flood-ba\//);
  });

  it("lists a run by the verdict in brief its run.json holds, without reading verify.json; an older folder's from verify.json", async () => {
    const folder = (name: string, record: object, verify: string): string => {
      const dir = path.join(tempDir(), name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ runId: name, ...record }));
      writeFileSync(path.join(dir, 'verify.json'), verify);
      return dir;
    };
    // verify.json unreadable: had it been read, the run would be listed as having none.
    const brief = await readRunEntry(folder('new', { verdict: { outcome: 'fail', summary: 'GHS found a spanning tree 3 heavier than the MST' } }, '{'));
    expect(brief).toMatchObject({ outcome: 'fail', verdict: 'GHS found a spanning tree 3 heavier than the MST' });
    const older = await readRunEntry(folder('old', {}, JSON.stringify({ passed: true, summary: 'all 20 nodes received the flood', outcome: 'pass' })));
    expect(older).toMatchObject({ outcome: 'pass', verdict: 'all 20 nodes received the flood' });
  });
});
