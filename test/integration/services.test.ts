/**
 * The microservices example (experiments/services.yaml) on real Docker and a real etcd: 8 node containers in
 * four roles. The run's etcd is an external one here, so the test can watch the registry while the run goes:
 * each service instance is a key held by its node's lease, and the instance that stops is gone from etcd
 * while the others are still there. The example's own check must pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeys } from '../../src/coordination/keys.js';
import { nonLoopbackAddress, startEtcd, type EtcdProcess } from '../etcd-process.js';
import { leftovers } from './cli-helpers.js';
import { runDockerExperiment } from './experiment-helpers.js';

let etcd: EtcdProcess;
let resultsRoot: string;

beforeAll(async () => {
  etcd = await startEtcd(nonLoopbackAddress());
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-services-'));
});

afterAll(async () => {
  await etcd?.stop();
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('the services example on Docker', () => {
  it('registers the instances under their nodes’ leases, drops the stopped one from etcd, and passes its check', async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    const registered: string[] = [];
    /** The registry as it stood when the first instance left, and the leases involved. */
    let afterLeaving: Promise<{ left: string; weather: string[]; sameLease: boolean }> | undefined;
    const watcher = await client.watch().prefix('/peerlab/').create();
    watcher.on('put', (kv: IKeyValue) => {
      const key = kv.key.toString();
      if (key.includes('/services/')) registered.push(key.slice(key.indexOf('/services/') + '/services/'.length));
    });
    watcher.on('delete', (kv: IKeyValue) => {
      const key = kv.key.toString();
      if (!key.includes('/services/weather/') || afterLeaving) return;
      const runId = key.split('/')[2]!;
      const keys = runKeys(runId);
      afterLeaving = (async () => {
        const weather = await client.getAll().prefix(keys.servicePrefix('weather')).exec();
        const [node0, instance0] = await Promise.all([client.get(keys.node('0')).exec(), client.get(keys.service('weather', '0')).exec()]);
        return {
          left: key.slice(keys.servicesPrefix.length),
          weather: weather.kvs.map((entry) => entry.key.toString().slice(keys.servicePrefix('weather').length)),
          sameLease: node0.kvs[0] !== undefined && node0.kvs[0].lease !== '0' && node0.kvs[0].lease === instance0.kvs[0]?.lease,
        };
      })();
    });

    let runId = '';
    try {
      const outcome = await runDockerExperiment('experiments/services.yaml', { resultsRoot, base: { etcdEndpoints: [etcd.endpoint] }, onRunId: (id) => (runId = id) });
      expect(outcome?.runtime).toBe('docker');
      expect(outcome?.status, outcome?.verdict).toBe('passed');
      const verdict = /^4 clients found every live instance of weather and feed \(4 in all\) in the registry; (\d+) of (\d+) calls answered correctly; after weather on node 2 left, no client found or called it$/.exec(outcome?.verdict ?? '');
      expect(verdict, outcome?.verdict).not.toBeNull();
      const [answered, calls] = [Number(verdict![1]), Number(verdict![2])];
      expect(calls).toBe(4 * 24);
      // A client that found node 2's weather just before it left may call it and get no answer (the check fails
      // any other call without one): then it waits out the answer timeout and looks again, no longer finding it.
      // So at most one such call per client.
      expect(calls - answered).toBeLessThanOrEqual(4);
      console.log(`verdict: ${outcome?.verdict}`);
    } finally {
      await watcher.cancel();
    }

    expect(registered.slice(0, 4).sort()).toEqual(['feed/3', 'weather/0', 'weather/1', 'weather/2']);
    expect(afterLeaving, 'no weather instance left the registry during the run').toBeDefined();
    expect(await afterLeaving).toEqual({ left: 'weather/2', weather: ['0', '1'], sameLease: true });
    expect(await client.getAll().prefix(runKeys(runId).prefix).keys()).toEqual([]);
    client.close();
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});
