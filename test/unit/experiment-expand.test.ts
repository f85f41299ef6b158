import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { estimatePlan, estimateRun, ESTIMATE, remainingSeconds } from '../../src/experiment/estimate.js';
import { describeStage, requestFor } from '../../src/experiment/execute.js';
import { dryRun } from '../../src/experiment/experiment.js';
import { expandExperiment, paramAssignments, resolvedExperiment } from '../../src/experiment/expand.js';
import { experimentFileResolver, parseExperiment } from '../../src/experiment/load.js';
import { preflight } from '../../src/experiment/preflight.js';
import { FULL, prepared, tempDir } from './experiment-helpers.js';

const plan = (text: string) => expandExperiment(parseExperiment(text, 'x.yaml'));

describe('expansion: lists make cells, cells × seeds make runs', () => {
  it('sweeps the thesis sizes with repetitions', () => {
    const p = plan('name: t\ntopology: { model: ba, n: [20, 40, 60, 80, 100, 120], m: 2 }\nalgorithm: flood\nrepetitions: 5\n');
    expect(p.cells.map((cell) => cell.topology)).toEqual(['ba:n=20,m=2', 'ba:n=40,m=2', 'ba:n=60,m=2', 'ba:n=80,m=2', 'ba:n=100,m=2', 'ba:n=120,m=2']);
    expect(p.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(p.runs).toHaveLength(30);
    // Repetition-major: every cell once before any cell twice.
    expect(p.runs.slice(0, 7).map((run) => run.key)).toEqual(['c1-r1', 'c2-r1', 'c3-r1', 'c4-r1', 'c5-r1', 'c6-r1', 'c1-r2']);
    expect(p.runs[6]!.seed).toBe(2);
    expect(p.cells[0]!.label).toBe('n=20');
    expect(p.axes.filter((axis) => axis.swept).map((axis) => axis.column)).toEqual(['topology.n']);
  });

  it('takes the cross product of every list, first list outermost', () => {
    const { plan: p } = prepared(FULL);
    // n (6) × weights (2) × root (2); `fanout: [[1, 2]]` is a one-element list: a literal list, not a sweep.
    expect(p.cells).toHaveLength(24);
    expect(p.runs).toHaveLength(24 * 5);
    expect(p.seeds).toEqual([11, 12, 13, 14, 15]);
    expect(p.cells[0]!.params).toEqual({ root: '0', budget: 3, fanout: [1, 2] });
    expect(p.cells[1]!.inputs).toMatchObject({ 'topology.n': 20, weights: 'unique', 'param.root': '5' });
    expect(p.cells[2]!.inputs).toMatchObject({ 'topology.n': 20, weights: 'uniform:1..10', 'param.root': '0' });
    expect(p.cells[4]!.inputs).toMatchObject({ 'topology.n': 40 });
    expect(p.cells[1]!.label).toBe('n=20 · weights=unique · root=5');
    expect(paramAssignments(p.cells[0]!.params)).toEqual(['root=0', 'budget=3', 'fanout=[1,2]']);
    expect(p.runtime).toBe('auto');
    expect(p.timeoutS).toBe(120);
    expect(p.groups).toHaveLength(2);
    expect(p.faults).toHaveLength(4);
  });

  it('counts seeds given as a list, as { from, count }, or not at all', () => {
    const base = 'name: t\ntopology: { model: ring, n: 10 }\nalgorithm: flood\n';
    expect(plan(base).seeds).toEqual([1]);
    expect(plan(`${base}repetitions: 3\n`).seeds).toEqual([1, 2, 3]);
    expect(plan(`${base}seeds: [7, 3]\n`).seeds).toEqual([7, 3]);
    expect(plan(`${base}seeds: { from: 100, count: 2 }\n`).seeds).toEqual([100, 101]);
    expect(plan(`${base}repetitions: 2\nseeds: { from: 5 }\n`).seeds).toEqual([5, 6]);
  });

  it('sweeps topology files and specs', () => {
    const files = expandExperiment(parseExperiment('name: t\ntopology: { file: [a.gml, b.gml] }\nalgorithm: flood\n', 'x.yaml'), {
      resolveFile: (file) => `/abs/${file}`,
    });
    expect(files.cells.map((cell) => [cell.topology, cell.inputs.topology])).toEqual([
      ['/abs/a.gml', 'a.gml'],
      ['/abs/b.gml', 'b.gml'],
    ]);
    const specs = plan('name: t\ntopology: { spec: ["ring:n=10", "ba:n=10,m=2"] }\nalgorithm: flood\n');
    expect(specs.cells.map((cell) => cell.topology)).toEqual(['ring:n=10', 'ba:n=10,m=2']);
  });

  it('fingerprints the runs, not the plots', () => {
    const base = 'name: t\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: flood\nrepetitions: 2\n';
    const a = plan(base);
    expect(plan(`${base}plots: [{ x: nodes, y: messages }]\n`).fingerprint).toBe(a.fingerprint);
    expect(plan(base.replace('[20, 40]', '[20, 60]')).fingerprint).not.toBe(a.fingerprint);
    expect(plan(base.replace('repetitions: 2', 'repetitions: 3')).fingerprint).not.toBe(a.fingerprint);
  });

  it('writes the resolved file with the cells and the seeds listed', () => {
    const resolved = resolvedExperiment(prepared(FULL).plan, { source: 'full.yaml' });
    expect(resolved).toMatchObject({ name: 'thesis-high-risk', source: 'full.yaml', repetitions: 5, seeds: [11, 12, 13, 14, 15], runs: 120 });
    expect((resolved.cells as unknown[]).length).toBe(24);
    expect(resolved.groups).toHaveLength(2);
    expect(resolved.faults).toHaveLength(4);
    expect(resolved.swept).toEqual(['topology.n', 'weights', 'param.root']);
  });
});

describe('the request of each run', () => {
  it('carries the cell, the seed, the runtime and the delay model', () => {
    const { plan: p } = prepared('name: t\nruntime: sim\ntopology: { model: ba, n: [20, 40], m: 2 }\nweights: geo\ndelay: exp:2\nalgorithm: { name: flood, params: { root: "3" } }\nseeds: [9]\ntimeout: 30\nnodeMemory: 32\n');
    const request = requestFor(p, p.runs[1]!, { resultsRoot: '/r', concurrency: 4 });
    expect(request).toMatchObject({
      algorithm: 'flood',
      topology: 'ba:n=40,m=2',
      seed: 9,
      weights: 'geo',
      params: ['root=3'],
      timeoutMs: 30_000,
      resultsRoot: '/r',
      concurrency: 4,
      nodeMemoryLimit: 32 * 1024 * 1024,
      runtime: 'sim',
      delay: 'exp:2',
      allowDisconnected: false,
    });
    expect(p.cells[0]!.inputs.delay).toBe('exp:2');
  });

  it('gives every run the hosts of the file, as --hosts with --host-cpus would', () => {
    const { plan: p } = prepared('name: t\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\nhosts: "big=4,small=1"\nhostCpus: 2\n');
    expect(requestFor(p, p.runs[0]!, { resultsRoot: '/r' }).hosts).toEqual({
      given: 'big=4,small=1',
      list: [
        { name: 'big', capacity: 4, priority: 1, central: false, cpus: 2 },
        { name: 'small', capacity: 1, priority: 1, central: false, cpus: 0.5 },
      ],
      cpusGiven: true,
    });
    expect(requestFor(prepared('name: t\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\n').plan, p.runs[0]!, { resultsRoot: '/r' })).not.toHaveProperty('hosts');
    expect(p.fingerprint).not.toBe(prepared('name: t\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\nhosts: "big=4,small=2"\nhostCpus: 2\n').plan.fingerprint);
  });

  it('maps the run stages to the progress line', () => {
    expect(['images', 'network', 'etcd', 'starting', 'registering', 'running', 'collecting', 'tearing down'].map((stage) => describeStage(stage as never))).toEqual([
      'creating',
      'creating',
      'creating',
      'starting',
      'registered',
      'running',
      'verifying',
      'tearing down',
    ]);
  });
});

describe('estimates', () => {
  it('uses the constants: Docker start-up per node plus memory per node', () => {
    const run = estimateRun('docker', 100, 300);
    const c = ESTIMATE.docker;
    expect(run.seconds).toBeCloseTo(c.fixedS + 100 * c.perNodeS + Math.max(c.minAlgorithmS, 100 * c.algorithmPerNodeS));
    expect(run.worstSeconds).toBeCloseTo(c.fixedS + 100 * c.perNodeS + 300);
    expect(run.memoryMiB).toBe(c.memoryFixedMiB + 100 * c.memoryPerNodeMiB);
    expect(estimateRun('sim', 100, 300).seconds).toBeLessThan(run.seconds / 10);
    expect(estimateRun('auto', 100, 300)).toEqual(run);
    expect(estimatePlan([run, estimateRun('docker', 20, 300)])).toMatchObject({ peakMemoryMiB: run.memoryMiB });
  });

  it('promises no worst case for a simulated run, whose timeout is virtual time', () => {
    const sim = estimateRun('sim', 10 ** 6, 1);
    const c = ESTIMATE.sim;
    expect(sim.seconds).toBeCloseTo(c.fixedS + 10 ** 6 * (c.perNodeS + c.algorithmPerNodeS));
    expect(sim.worstSeconds).toBeUndefined();
    expect(estimatePlan([estimateRun('docker', 20, 300), sim]).worstSeconds).toBeUndefined();
    expect(estimatePlan([estimateRun('docker', 20, 300)]).worstSeconds).toBeCloseTo(ESTIMATE.docker.fixedS + 20 * ESTIMATE.docker.perNodeS + 300);
  });

  it('scales the ETA by how the finished runs compared with their estimates', () => {
    expect(remainingSeconds([], [10, 20])).toBe(30);
    expect(remainingSeconds([{ estimated: 10, actual: 20 }], [10, 20])).toBe(60);
  });

  it('lists the cells of a dry run with sizes and an estimate', () => {
    const { plan: p, facts } = prepared('name: t\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: flood\nrepetitions: 2\nfaults: ["at=1s kill ids:1"]\n');
    const dry = dryRun(p, facts);
    expect(dry.cells.map((cell) => [cell.cell, cell.label, cell.nodes, cell.runs])).toEqual([
      ['c1', 'n=20', 20, 2],
      ['c2', 'n=40', 40, 2],
    ]);
    expect(dry.runs).toBe(4);
    expect(dry.estimate.seconds).toBeCloseTo(2 * (estimateRun('docker', 20, 300).seconds + estimateRun('docker', 40, 300).seconds));
    expect(dry.notes.join(' ')).not.toMatch(/fault/);
  });
});

describe('preflight: checks before anything starts', () => {
  const check = async (text: string, dir = tempDir()) => {
    const file = path.join(dir, 'x.yaml');
    writeFileSync(file, text);
    const loaded = parseExperiment(text, 'x.yaml', file);
    const p = expandExperiment(loaded, { resolveFile: experimentFileResolver(file) });
    return preflight(loaded, p);
  };
  const failure = (text: string) => check(text).then(
    () => 'no error',
    (error: unknown) => (error instanceof PeerlabError ? error.line : String(error)),
  );

  it('builds every topology once and reports the sizes', async () => {
    const facts = await check('name: t\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: flood\n');
    expect([...facts.values()]).toEqual([
      { nodes: 20, edges: 36 },
      { nodes: 40, edges: 76 },
    ]);
  });

  it('points at the topology line when a generator rejects its parameters', async () => {
    expect(await failure('name: t\ntopology:\n  model: ba\n  n: [20, 3]\n  m: 3\nalgorithm: flood\n')).toMatch(/^x\.yaml line 4: topology\.n\[1\]: ba needs m < n/);
    expect(await failure('name: t\ntopology:\n  model: ba\n  n: 20\n  k: 3\nalgorithm: flood\n')).toMatch(/^x\.yaml line 5: topology\.k: ba has no parameter "k"/);
  });

  it('points at a missing topology file', async () => {
    expect(await failure('name: t\ntopology:\n  file: [nowhere.graphml]\nalgorithm: flood\n')).toMatch(/^x\.yaml line 3: topology\.file\[0\]: /);
  });

  it('finds a topology file next to the experiment file', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'g.txt'), '0 1\n1 2\n2 0\n');
    const facts = await check('name: t\ntopology: { file: g.txt }\nalgorithm: flood\n', dir);
    expect([...facts.values()]).toEqual([{ nodes: 3, edges: 3 }]);
  });

  it('checks that the groups cover the nodes, and resolves every cell\'s faults on its graph', async () => {
    const groups = 'groups:\n  - { role: server, count: 1, service: weather }\n  - { role: client, count: 8, algorithm: flood }\n';
    expect(await failure(`name: t\ntopology: { model: ring, n: [10, 9] }\n${groups}`)).toMatch(/^x\.yaml line 3: groups: the roles add up to 9 node\(s\), but a topology of the experiment has 10/);
    expect(await failure(`name: t\ntopology: { model: ring, n: 9 }\n${groups}`)).toBe('no error');
    const rest = 'groups:\n  - { role: server, count: 1, service: weather }\n  - { role: client, algorithm: flood }\n';
    expect(await failure(`name: t\ntopology: { model: ring, n: [10, 20, 40] }\n${rest}`)).toBe('no error');
    const base = 'name: t\ntopology: { model: ring, n: [10, 20] }\nalgorithm: flood\ntimeout: 60\nfaults:\n';
    expect(await failure(`${base}  - "at=5s kill ids:3,12"\n`)).toMatch(/^x\.yaml line 6: faults\[0\]: in cell n=10: fault 1 "at=5s kill ids:3,12": no node 12 in the graph — nodes are 0 … 9/);
    expect(await failure(`${base}  - "at=5s kill ids:3"\n  - "at=5s pause role:client"\n`)).toMatch(/^x\.yaml line 7: faults\[1\]: in cell n=10: fault 2 "at=5s pause role:client": role:client needs a run with groups/);
    expect(await failure(`${base}  - "at=60s kill ids:3"\n`)).toMatch(/^x\.yaml line 6: faults\[0\]: in cell n=10: fault 1 "at=60s kill ids:3": at=60s is past the run's timeout \(60s\) — make it earlier, or raise timeout:/);
    expect(await failure(`name: t\ntopology: { model: ring, n: 10 }\nalgorithm: flood\nfaults:\n  schedule: ["at=1s kill top-degree:{k}"]\n  k: [0, 5, 11]\n`)).toMatch(
      /^x\.yaml line 5: faults\.schedule\[0\]: in cell k=11: fault 1 "at=1s kill top-degree:11": top-degree:11 asks for 11 nodes, but the graph has 10/,
    );
    expect(await failure(`${base}  - "at=5s partition mincut:2 for=10s"\n  - "every=10s kill random:1"\n`)).toBe('no error');
    expect(await failure(`name: t\ntopology: { model: ring, n: 10 }\n${rest}faults: ["at=1s pause role:client for=1s"]\n`)).toBe('no error');
  });

  it('checks that each plot\'s x and series name a column before anything runs', async () => {
    const base = 'name: t\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: { name: flood, params: { root: ["0", "1"] } }\nplots:\n';
    expect(await failure(`${base}  - { x: n, y: messages }\n  - { x: nodes, y: traffic, aggregate: mean, series: root }\n  - { x: metric.messages, y: duration_s }\n`)).toBe('no error');
    expect(await failure(`${base}  - { x: n, y: messages }\n  - { x: nodez, y: messages }\n`)).toMatch(
      /^x\.yaml line 6: plots\[1\]\.x: no column "nodez" to plot against: this experiment's columns are topology, n, m, weights, algorithm, root, repetition, seed, runtime, nodes, edges, duration_s, status, passed/,
    );
    expect(await failure(`${base}  - { x: n, y: messages, series: rot }\n`)).toMatch(/^x\.yaml line 5: plots\[0\]\.series: no column "rot"/);
    expect(await failure(`${base}  - { x: n, y: traffic, aggregate: average }\n`)).toMatch(/^x\.yaml line 5: plots\[0\]\.aggregate: expected how to aggregate the per-node metric y over the nodes: mean, sum, min, max, median/);
  });

  it('accepts experiments/faults.yaml: killed hubs k × when, each cell with its own fault, every one resolvable', async () => {
    const file = path.resolve('experiments/faults.yaml');
    const loaded = parseExperiment(readFileSync(file, 'utf8'), 'faults.yaml', file);
    const p = expandExperiment(loaded, { source: 'faults.yaml' });
    expect(p.cells.map((cell) => cell.faults[0])).toEqual(
      [0, 1, 2, 5, 10].flatMap((k) => ['0s', '300ms'].map((at) => `at=${at} kill top-degree:${k}`)),
    );
    expect(p.cells.map((cell) => cell.inputs['faults.k'])).toEqual([0, 0, 1, 1, 2, 2, 5, 5, 10, 10]);
    await expect(preflight(loaded, p)).resolves.toBeDefined();
  });

  it('refuses a policy without hosts where every node has one place, and takes it on the Swarm, whose engines are its hosts', async () => {
    const text = (runtime: string) => `name: t\nruntime: ${runtime}\ntopology: { model: complete, n: 4 }\nalgorithm: flood\npolicy: equal\n`;
    const refusal = 'x.yaml line 5: policy: equal needs hosts: a policy places nodes on hosts — add hosts, e.g. hosts: "big=4,small=1", or take --runtime swarm, whose engines are its hosts';
    expect(await failure(text('docker'))).toBe(refusal);
    expect(await failure(text('sim'))).toBe(refusal);
    expect(await failure(text('swarm'))).toBe('no error');
  });

  it('refuses hosts on a runtime that cannot give them, and CPUs to hosts that have none, as the flags are refused', async () => {
    const text = (runtime: string, cpus = '') => `name: t\nruntime: ${runtime}\ntopology: { model: complete, n: 4 }\nalgorithm: flood\nhosts: "a=1,b=1"\n${cpus}`;
    expect(await failure(text('swarm'))).toBe(
      "x.yaml line 5: hosts: the swarm runtime cannot give nodes hosts of their own capacity — run it with --runtime docker or sim, or leave hosts out (a Swarm's hosts are its engines)",
    );
    expect(await failure(text('sim', 'hostCpus: 2\n'))).toBe(
      "x.yaml line 6: hostCpus: the sim runtime's hosts have no CPUs, only the capacity they declare — leave hostCpus out, or run it with --runtime docker",
    );
    expect(await failure(text('sim'))).toBe('no error');
    expect(await failure(text('docker', 'hostCpus: 2\n'))).toBe('no error');
  });

  it('refuses hosts far apart (latitude and longitude) on a runtime whose hosts share one network; the simulator takes them', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'sites.yaml'),
      'hosts:\n  - { name: oslo, capacity: 1, latitude: 59.91, longitude: 10.75 }\n  - { name: gjovik, capacity: 1, latitude: 60.80, longitude: 10.69 }\n',
    );
    const text = (runtime: string) => `name: t\nruntime: ${runtime}\ntopology: { model: complete, n: 4 }\nalgorithm: flood\nhosts: sites.yaml\n`;
    const outcome = (runtime: string) =>
      check(text(runtime), dir).then(
        () => 'no error',
        (error: unknown) => (error instanceof PeerlabError ? error.line : String(error)),
      );
    expect(await outcome('docker')).toBe(
      "x.yaml line 5: hosts: the docker runtime's hosts share one network, so their latitude and longitude would delay nothing — run it with --runtime sim, or give hosts without coordinates (links: shapes each edge on Docker)",
    );
    expect(await outcome('sim')).toBe('no error');
  });

  it("refuses a cell whose first placement puts more nodes on a host than its maxNodes, before any run, at the field", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'room.yaml'), 'hosts:\n  - { name: a, capacity: 2, maxNodes: 3 }\n  - { name: b, capacity: 1, maxNodes: 2 }\n');
    const text = (n: string, placement = '') => `name: t\nruntime: sim\ntopology: { model: complete, n: ${n} }\nalgorithm: flood\nhosts: room.yaml\n${placement}`;
    const outcome = (yaml: string) =>
      check(yaml, dir).then(
        () => 'no error',
        (error: unknown) => (error instanceof PeerlabError ? error.line : String(error)),
      );
    expect(await outcome(text('4', 'placement: first\n'))).toBe(
      "x.yaml line 6: placement: placement first would start host a with 4 nodes, over its maxNodes of 3 — raise a's maxNodes in the hosts file, place the nodes otherwise (placement: spread or placement: partition), or run fewer nodes",
    );
    // Spread: 5 nodes fit (3 and 2), 6 do not; without placement: the hosts are named, and the cell that does not fit.
    expect(await outcome(text('5'))).toBe('no error');
    expect(await outcome(text('[5, 6]'))).toBe(
      "x.yaml line 5: hosts: placement spread would start host b with 3 nodes in cell n=6, over its maxNodes of 2 — raise b's maxNodes in the hosts file, place the nodes otherwise (placement: partition or placement: first), or run fewer nodes",
    );
  });

  it('refuses a placement with one place for the nodes, as --placement is refused', async () => {
    const text = (runtime: string, hosts = '') => `name: t\nruntime: ${runtime}\ntopology: { model: complete, n: 4 }\nalgorithm: flood\n${hosts}placement: partition\n`;
    expect(await failure(text('docker'))).toBe(
      'x.yaml line 5: placement: a docker run without hosts has one place for its nodes, so there is nothing to place — add hosts (runtime docker or sim), run it with --runtime swarm, or leave placement out',
    );
    expect(await failure(text('sim'))).toMatch(/^x\.yaml line 5: placement: a sim run without hosts/);
    expect(await failure(text('docker', 'hosts: "a=1,b=1"\n'))).toBe('no error');
    expect(await failure(text('sim', 'hosts: "a=1,b=1"\n'))).toBe('no error');
    expect(await failure(text('swarm'))).toBe('no error');
  });

  it('takes a restart or migrate on every runtime: a Swarm moves nodes between its engines', async () => {
    const text = (runtime: string) => `name: t\nruntime: ${runtime}\ntopology: { model: complete, n: 4 }\nalgorithm: flood\nfaults:\n  - at=1s kill ids:2\n  - at=2s migrate ids:1\n  - at=3s restart ids:3\n`;
    for (const runtime of ['docker', 'swarm', 'sim']) expect(await failure(text(runtime))).toBe('no error');
  });

  it('checks the algorithm, service and parameters of every role, and the check', async () => {
    const base = 'name: t\ntopology: { model: complete, n: 4 }\n';
    const roles = (weather: string, client = 'algorithm: services/client') => `${base}groups:\n  - { role: weather, count: 1, ${weather} }\n  - { role: client, ${client} }\n`;
    expect(await failure(`${roles('service: weather')}check: service-discovery\n`)).toBe('no error');
    expect(await failure(roles('service: no-such-service'))).toMatch(/^x\.yaml line 4: groups\[0\]\.service: unknown algorithm "services\/no-such-service"/);
    expect(await failure(roles('service: weather', 'algorithm: nowhere.ts'))).toMatch(/^x\.yaml line 5: groups\[1\]\.algorithm: algorithm file .*nowhere\.ts does not exist/);
    expect(await failure(roles('service: weather, params: { stopAfterMs: soon }'))).toMatch(/^x\.yaml line 4: groups\[0\]\.params\.stopAfterMs: parameter stopAfterMs of weather: /);
    expect(await failure(`${roles('service: weather')}check: no-such-check\n`)).toMatch(/^x\.yaml line 6: check: unknown check "no-such-check" — use one of .*service-discovery/);
    expect(await failure(`${roles('service: weather')}algorithm: flood\n`)).toMatch(/^x\.yaml line 6: algorithm: give algorithm: or groups:, not both/);
    expect(await failure(`${base}algorithm: flood\ncheck: service-discovery\n`)).toMatch(/^x\.yaml line 4: check: check: names the oracle of a run with groups/);
  });

  it('points at an unknown algorithm and at a parameter it rejects', async () => {
    expect(await failure('name: t\ntopology: { model: ring, n: 5 }\nalgorithm:\n  name: no-such-algorithm\n')).toMatch(/^x\.yaml line 4: algorithm\.name: unknown algorithm "no-such-algorithm"/);
    const dir = tempDir();
    const source = path.join(dir, 'fanout.ts');
    writeFileSync(
      source,
      "import { defineAlgorithm, z } from 'peerlab';\nexport default defineAlgorithm({ name: 'fanout', params: z.object({ fanout: z.number().int().positive() }), init() {}, onMessage() {} });\n",
    );
    expect(await failure(`name: t\ntopology: { model: ring, n: 5 }\nalgorithm:\n  name: ${source}\n  params:\n    fanout: [2, many]\n`)).toMatch(
      /^x\.yaml line 6: algorithm\.params\.fanout\[1\]: parameter fanout of fanout: /,
    );
    expect(await failure(`name: t\ntopology: { model: ring, n: 5 }\nalgorithm:\n  name: ${source}\n  params: { fanout: 2 }\n`)).toBe('no error');
  });

  it('points at a misspelt parameter, and at a node-id parameter that names no node of a topology', async () => {
    expect(await failure('name: t\ntopology: { model: ring, n: 5 }\nalgorithm:\n  name: flood\n  params:\n    rot: "3"\n')).toMatch(
      /^x\.yaml line 6: algorithm\.params\.rot: parameter rot is not a parameter of flood — did you mean root\?/,
    );
    expect(await failure('name: t\ntopology: { model: ring, n: [5, 20] }\nalgorithm:\n  name: flood\n  params:\n    root: "12"\n')).toMatch(
      /^x\.yaml line 6: algorithm\.params\.root: parameter root=12 of flood: the topology has no node "12"/,
    );
  });
});
