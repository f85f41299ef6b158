import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { loadExperiment, parseExperiment } from '../../src/experiment/load.js';
import { errorOf, FULL, tempDir } from './experiment-helpers.js';

const BASE = 'name: x\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\n';

describe('experiment files: errors name the file, the line and the field', () => {
  it.each([
    ['a wrong type', 'name: x\ntopology:\n  model: ba\n  n: twenty\n  m: 2\nalgorithm: flood\n', 'bad.yaml line 4: topology.n: expected a number or a list of numbers, got "twenty"'],
    ['an unknown field', `${BASE}repetition: 3\n`, 'bad.yaml line 4: unknown field "repetition" — the fields here are name, description, runtime'],
    ['an unknown nested field', 'name: x\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm:\n  name: flood\n  parms: { root: "0" }\n', 'bad.yaml line 5: algorithm: unknown field "parms" — the fields here are name, params'],
    ['a bad list element', 'name: x\ntopology:\n  model: ba\n  n: [20, 40, "x"]\n  m: 2\nalgorithm: flood\n', 'bad.yaml line 4: topology.n[2]: expected a number, got "x"'],
    ['a bad list element on its own line', 'name: x\ntopology:\n  model: ba\n  n:\n    - 20\n    - 40\n    - forty\n  m: 2\nalgorithm: flood\n', 'bad.yaml line 7: topology.n[2]: expected a number, got "forty"'],
    ['an empty list', 'name: x\ntopology: { model: ba, n: [], m: 2 }\nalgorithm: flood\n', 'bad.yaml line 2: topology.n: a list must have at least one element'],
    ['a YAML syntax error', 'name: x\ntopology:\n  model: ba\n n: 20\nalgorithm: flood\n', 'bad.yaml line 4: YAML syntax error: All mapping items must start at the same column'],
    ['an unclosed flow list', 'name: x\ntopology: { model: ba, n: [20, 40 }\nalgorithm: flood\n', 'bad.yaml line 2: YAML syntax error:'],
    ['a duplicated key', 'name: x\nname: y\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\n', 'bad.yaml line 2: YAML syntax error: Map keys must be unique'],
    ['a missing field', 'name: x\nalgorithm: flood\n', 'bad.yaml line 1: topology is missing'],
    ['an unknown model', 'name: x\ntopology: { model: bb, n: 20, m: 2 }\nalgorithm: flood\n', 'bad.yaml line 2: topology.model: unknown model "bb": use one of ba, er'],
    ['a model and a file', 'name: x\ntopology:\n  model: ba\n  file: x.gml\nalgorithm: flood\n', 'bad.yaml line 4: topology.file: give only one of model, file'],
    ['a parameter with a file', 'name: x\ntopology:\n  file: x.gml\n  n: 3\nalgorithm: flood\n', 'bad.yaml line 4: topology.n: unknown field "n": parameters go with model:'],
    ['a bad runtime', `name: x\nruntime: kubernetes\n${BASE.slice(8)}`, 'bad.yaml line 2: runtime: expected one of docker, swarm, sim, auto, got "kubernetes"'],
    ['a fractional repetition count', `${BASE}repetitions: 2.5\n`, 'bad.yaml line 4: repetitions: expected a whole number of repetitions, got 2.5'],
    ['seeds that do not match repetitions', `${BASE}repetitions: 3\nseeds: [1, 2]\n`, 'bad.yaml line 5: seeds: 2 seed(s) for 3 repetition(s)'],
    ['a repeated seed', `${BASE}seeds: [1, 2, 1]\n`, 'bad.yaml line 4: seeds: a seed is listed twice'],
    ['bad seeds', `${BASE}seeds: { from: one }\n`, 'bad.yaml line 4: seeds.from: expected an integer seed, got "one"'],
    ['a fault that is not a spec', `${BASE}faults:\n  - { at: 5, action: kill }\n`, 'bad.yaml line 5: faults[0]: expected a fault spec, e.g. "at=2s kill top-degree:5", got a mapping'],
    ['a fault placeholder without values', `${BASE}faults:\n  - "at=1s kill top-degree:{k}"\n`, 'bad.yaml line 5: faults[0]: {k} has no values: give them beside the schedule'],
    ['a fault variable nobody uses', `${BASE}faults:\n  schedule: ["at=1s kill top-degree:{k}"]\n  k: [1, 2]\n  j: 3\n`, 'bad.yaml line 7: faults.j: j is not used'],
    ['a group with neither algorithm nor service', `${BASE}groups:\n  - { role: server, count: 1 }\n`, 'bad.yaml line 5: groups[0]: give exactly one of algorithm: or service:'],
    ['two groups without a count', `${BASE}groups:\n  - { role: a, service: kv }\n  - { role: b, service: kv }\n`, 'bad.yaml line 6: groups[1]: count is missing: only one role (here a) may take the remaining nodes'],
    ['a group role given twice', `${BASE}groups:\n  - { role: a, count: 1, service: kv }\n  - { role: a, count: 2, service: kv }\n`, 'bad.yaml line 6: groups[1].role: role "a" is given twice'],
    ['a bad reference point', `${BASE}plots:\n  - x: nodes\n    y: messages\n    reference:\n      - { x: 20, y: high }\n`, 'bad.yaml line 8: plots[0].reference[0].y: expected a number, got "high"'],
    ['a name that is not a folder name', 'name: my experiment\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\n', 'bad.yaml line 1: name: expected a name made of letters'],
    ['a list at the top', '- a\n- b\n', 'bad.yaml line 1: expected a mapping of fields'],
    ['an empty file', '', 'bad.yaml line 1: the file is empty'],
    ['a host that is not NAME=CAPACITY', `${BASE}hosts: "big=4,small"\n`, 'bad.yaml line 4: hosts: "small" is not NAME=CAPACITY'],
    ['a single host', `${BASE}hosts: "big=4"\n`, 'bad.yaml line 4: hosts: one host is the engine itself'],
    ['a host below the least CPU', `${BASE}hosts: "big=1000,tiny=1"\nhostCpus: 1\n`, 'bad.yaml line 4: hosts: host tiny would get 0.0010 CPUs, below the least'],
    ['hostCpus without hosts', `${BASE}hostCpus: 2\n`, 'bad.yaml line 4: hostCpus: needs hosts: it sets the CPUs of the largest host'],
    ['hostCpus that are not positive', `${BASE}hosts: "a=1,b=1"\nhostCpus: 0\n`, 'bad.yaml line 5: hostCpus: expected CPUs > 0'],
    ['a hosts spec that is not a file nor a spec', `${BASE}hosts: 12\n`, 'bad.yaml line 4: hosts: expected hosts as NAME=CAPACITY,… (two or more), or a placement input .yaml file'],
    ['a policy that does not exist', `${BASE}hosts: "a=1,b=1"\npolicy: equall\n`, 'bad.yaml line 5: policy: unknown policy "equall" — use one of: equal, prio'],
    ['a policy file that does not exist', `${BASE}hosts: "a=1,b=1"\npolicy: nowhere/mine.ts\n`, 'bad.yaml line 5: policy: policy file nowhere/mine.ts does not exist'],
    ['a listed policy that does not exist', `${BASE}hosts: "a=1,b=1"\npolicy:\n  - equal\n  - equall\n`, 'bad.yaml line 7: policy[1]: unknown policy "equall" — use one of: equal, prio'],
    ['a listed policy file that does not exist', `${BASE}hosts: "a=1,b=1"\npolicy: [prio, nowhere/mine.ts]\n`, 'bad.yaml line 5: policy[1]: policy file nowhere/mine.ts does not exist'],
    ['a listed policy that is not a name', `${BASE}hosts: "a=1,b=1"\npolicy: [equal, 3]\n`, 'bad.yaml line 5: policy[1]: expected a string, got 3'],
    ['an empty list of policies', `${BASE}hosts: "a=1,b=1"\npolicy: []\n`, 'bad.yaml line 5: policy: a list must have at least one element'],
    ['policyEvery without policy', `${BASE}hosts: "a=1,b=1"\npolicyEvery: 3\n`, 'bad.yaml line 5: policyEvery: needs policy: it goes with the placement policy of the runs'],
    ['hold without policy', `${BASE}hold: [1]\n`, 'bad.yaml line 4: hold: needs policy'],
    ['policySettings without policy', `${BASE}policySettings: { limit: 0.8 }\n`, 'bad.yaml line 4: policySettings: needs policy'],
    ['policyEvery that is not positive', `${BASE}hosts: "a=1,b=1"\npolicy: equal\npolicyEvery: 0\n`, 'bad.yaml line 6: policyEvery: expected seconds > 0'],
    ['a setting that is not a number', `${BASE}hosts: "a=1,b=1"\npolicy: prio\npolicySettings:\n  limit: high\n`, 'bad.yaml line 7: policySettings.limit: expected a number, got "high"'],
    ['a held node that is not an id', `${BASE}hosts: "a=1,b=1"\npolicy: equal\nhold: [{ id: 1 }]\n`, 'bad.yaml line 6: hold[0]: expected a node id'],
    ['a listed hold with a node that is not an id', `${BASE}hosts: "a=1,b=1"\npolicy: equal\nhold:\n  - []\n  - [1, { id: 2 }]\n`, 'bad.yaml line 8: hold[1][1]: expected a node id'],
    ['a hold that is not a list', `${BASE}hosts: "a=1,b=1"\npolicy: equal\nhold: 3\n`, 'bad.yaml line 6: hold: expected a list of node ids, e.g. [1, 2], or a list of such lists'],
    ['a placement that does not exist', `${BASE}hosts: "a=1,b=1"\nplacement: everywhere\n`, 'bad.yaml line 5: placement: expected one of spread, partition, first, got "everywhere"'],
  ])('%s', (_what, text, expected) => {
    const line = errorOf(text);
    expect(line.startsWith(expected), line).toBe(true);
    expect(line).not.toContain('\n');
  });

  it('reports the first problem in reading order and counts the rest', () => {
    const line = errorOf('name: x\ntopology: { model: ba, n: twenty, m: 2 }\nalgorithm: flood\ntimeout: -1\nbogus: 1\n');
    expect(line).toMatch(/^bad\.yaml line 2: topology\.n: .* \(and 2 more problems\)/);
  });

  it('names the file as given when it cannot be read', async () => {
    await expect(loadExperiment('experiments/nope.yaml')).rejects.toThrow(/cannot read experiment file experiments\/nope\.yaml: no such file/);
  });

  it('names the file relative to the current folder', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: flood\ntimeout: soon\n');
    const error = await loadExperiment(file, dir).catch((e: unknown) => e as PeerlabError);
    expect((error as PeerlabError).line).toMatch(/^bad\.yaml line 4: timeout: expected seconds per run, got "soon"/);
  });
});

describe('experiment files: valid ones', () => {
  it('accepts every field', () => {
    const { experiment } = parseExperiment(FULL, 'full.yaml');
    expect(experiment.runtime).toBe('auto');
    expect(experiment.groups).toHaveLength(2);
    expect(experiment.faults).toHaveLength(4);
    expect(experiment.plots?.[0]?.reference).toHaveLength(2);
  });

  it('accepts the shipped quickstart', () => {
    const file = path.resolve('experiments/quickstart.yaml');
    const { experiment } = parseExperiment(readFileSync(file, 'utf8'), 'quickstart.yaml', file);
    expect(experiment.name).toBe('quickstart');
  });

  it('accepts a topology file list, a spec list and a plain algorithm name', () => {
    expect(() => parseExperiment('name: x\ntopology: { file: [a.gml, b.graphml] }\nalgorithm: flood\n', 'ok.yaml')).not.toThrow();
    expect(() => parseExperiment('name: x\ntopology: { spec: ["ring:n=10", "ba:n=10,m=2"] }\nalgorithm: flood\n', 'ok.yaml')).not.toThrow();
  });

  it('gives a line for any field afterwards (for the checks that need the topology or the algorithm)', () => {
    const loaded = parseExperiment('name: x\ntopology:\n  model: ba\n  n: [20, 40]\n  m: 2\nalgorithm:\n  name: flood\n  params: { root: "0" }\n', 'ok.yaml');
    expect(loaded.lineOf(['topology', 'n', 1])).toBe(4);
    expect(loaded.lineOf(['algorithm', 'params', 'root'])).toBe(8);
    expect(loaded.lineOf(['groups'])).toBe(1);
    expect(loaded.error(['algorithm', 'name'], 'unknown algorithm "x"', 'use flood').line).toBe('ok.yaml line 7: algorithm.name: unknown algorithm "x" — use flood');
  });
});
