import { Args } from '@oclif/core';
import { PeerlabCommand } from '../cli/base-command.js';
import { deploymentFlags } from '../cli/run-flags.js';
import { runRequestFrom } from '../cli/run-request.js';
import { bringUp } from '../run/run.js';

export default class Up extends PeerlabCommand {
  static override description =
    'Bring up a topology of node containers with etcd and leave it standing (on Docker, or with --runtime swarm on the local cluster): nodes registered, channels connected, waiting to start. See `peerlab status` and `peerlab down`.';

  static override examples = ['<%= config.bin %> up --topology ba:n=500,m=2'];

  static override args = {
    algorithm: Args.string({ default: 'flood', description: 'the algorithm the nodes load (they wait before running it)' }),
  };

  static override flags = deploymentFlags;

  async run(): Promise<{ runId: string; nodes: number; edges: number; timings: Record<string, number> }> {
    const { args, flags } = await this.parse(Up);
    const { request, during } = runRequestFrom(flags, {
      algorithm: args.algorithm,
      timeoutMs: 0,
      resultsRoot: 'results',
      json: this.jsonEnabled(),
      note: (line) => this.note(line),
    });
    const up = await during(bringUp(request));
    // The run stays up without this process: nothing is watched or waited for any more.
    up.deployment.watch.stop();
    await up.deployment.controller.close();
    up.deployment.etcd.close();
    const { graph } = up.topology;
    const timings = { ...up.deployment.timings };
    this.log(`✔ ${up.runId}: ${graph.order} nodes, ${graph.size} edges, all connected after ${(timings.allReadyMs / 1000).toFixed(1)} s`);
    this.log(`  peerlab status ${up.runId}   ·   peerlab down ${up.runId}`);
    return { runId: up.runId, nodes: graph.order, edges: graph.size, timings };
  }
}
