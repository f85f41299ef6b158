import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { clusterStatus, type ClusterStatus } from '../../cluster/index.js';

export default class ClusterStatusCommand extends PeerlabCommand {
  static override description = "Show the local cluster: each engine's socket, Swarm role, containers and images, and the Swarm's nodes.";

  static override flags = {
    name: Flags.string({ description: 'the cluster name (default: the only one)' }),
  };

  async run(): Promise<ClusterStatus> {
    const { flags } = await this.parse(ClusterStatusCommand);
    const status = await clusterStatus({ name: flags.name });
    const nodes = status.nodes ? `${status.nodes.ready}/${status.nodes.total} nodes Ready` : 'no Swarm manager answers';
    this.log(`cluster ${status.name}: ${status.up ? 'up' : 'NOT fully up'}, ${nodes}, link ${status.linkSubnet}, overlay pool ${status.addressPool}, data-path port ${status.dataPathPort}`);
    for (const engine of status.engines) {
      const what = engine.objects
        ? `${engine.objects.containers} container(s), ${engine.objects.services} service(s), ${engine.objects.networks} network(s), ${engine.objects.volumes} volume(s); images ${engine.images.join(' ') || 'none'}${engine.missingImages.length > 0 ? `, MISSING ${engine.missingImages.join(' ')}` : ''}`
        : `not answering: ${engine.error ?? ''}`;
      this.log(`  ${engine.name}  ${engine.role.padEnd(7)}  ${engine.address.padEnd(15)}  ${engine.socketPath}  ${what}`);
    }
    if (!status.up) process.exitCode = 1;
    return status;
  }
}
