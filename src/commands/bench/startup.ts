import os from 'node:os';
import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchStartup, type StartupSample } from '../../bench/startup.js';
import { PeerlabError } from '../../errors.js';
import { peerlabVersion } from '../../util/version.js';

export default class BenchStartup extends PeerlabCommand {
  static override description =
    'Measure node start-up: time until every node is registered and connected, per-node latency, host memory per node and teardown, against plain `docker run -d` of the same image in the same invocation.';

  static override examples = ['<%= config.bin %> bench startup --nodes 25,50,100,200 --json'];

  static override flags = {
    nodes: Flags.string({ default: '25,50,100,200', description: 'comma-separated node counts' }),
    m: Flags.integer({ default: 2, description: 'Barabási–Albert attachment: topology ba:n=N,m=M' }),
    seed: Flags.integer({ default: 1 }),
  };

  async run(): Promise<{ schema: string; peerlab: typeof peerlabVersion; host: Record<string, unknown>; samples: StartupSample[] }> {
    const { flags } = await this.parse(BenchStartup);
    const counts = flags.nodes.split(',').map((value) => Number(value.trim()));
    if (counts.some((n) => !Number.isInteger(n) || n <= flags.m)) {
      throw new PeerlabError(`--nodes "${flags.nodes}" must list whole numbers above m=${flags.m}`, { hint: 'e.g. --nodes 25,50,100' });
    }
    const samples: StartupSample[] = [];
    for (const nodes of counts) {
      const sample = await benchStartup({ nodes, model: (n) => `ba:n=${n},m=${flags.m}`, seed: flags.seed, onProgress: (line) => this.note(line) });
      samples.push(sample);
      this.log(
        `N=${String(nodes).padStart(4)}  peerlab ${(sample.peerlab.allConnectedMs / 1000).toFixed(1)} s  docker run ${(sample.baseline.dockerRunMs / 1000).toFixed(1)} s  ratio ${sample.ratio.toFixed(2)}  ` +
          `host ${(sample.memory.hostBytesPerNode / 2 ** 20).toFixed(1)} MiB/node  teardown ${(sample.peerlab.teardownMs / 1000).toFixed(1)} s`,
      );
    }
    return {
      schema: 'peerlab.bench.startup/1',
      peerlab: peerlabVersion,
      host: { cpus: os.cpus().length, memoryBytes: os.totalmem(), platform: `${os.platform()} ${os.release()}`, node: process.version },
      samples,
    };
  }
}
