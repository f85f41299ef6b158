import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { clusterDown, type ClusterDownResult } from '../../cluster/index.js';
import { DEFAULT_CLUSTER_NAME } from '../../cluster/plan.js';

export default class ClusterDown extends PeerlabCommand {
  static override description =
    "Remove the local cluster: every engine emptied and out of the Swarm, the extra dockerds stopped, their namespaces, veths and state removed, and the host's engine back to how it was. Safe to repeat, and after a failed up.";

  static override flags = {
    name: Flags.string({ default: DEFAULT_CLUSTER_NAME, description: 'the cluster name' }),
  };

  async run(): Promise<ClusterDownResult> {
    const { flags } = await this.parse(ClusterDown);
    const result = await clusterDown({ name: flags.name, onProgress: (line) => this.note(line) });
    if (!result.found) {
      this.log(`nothing to remove: no cluster ${result.name}`);
      return result;
    }
    const { services, containers, networks, volumes } = result.removed;
    this.log(
      `✔ cluster ${result.name} down: ${result.engines} engine(s); removed ${services} service(s), ${containers} container(s), ${networks} network(s), ${volumes} volume(s)${result.hostLeftSwarm ? "; the host's engine left the Swarm" : ''}`,
    );
    return result;
  }
}
