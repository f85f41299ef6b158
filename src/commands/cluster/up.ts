import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { onInterrupt } from '../../cli/interrupt.js';
import { clusterUp, type ClusterUpResult } from '../../cluster/index.js';
import { DEFAULT_CLUSTER_NAME, DEFAULT_DATA_PATH_PORT, MAX_ENGINES, MIN_ENGINES } from '../../cluster/plan.js';

export default class ClusterUp extends PeerlabCommand {
  static override description =
    "Start a local multi-engine Docker Swarm: the host's engine as manager, and N-1 more dockerds in their own network namespaces as workers, with the node and etcd images on every engine. Needs root.";

  static override examples = ['<%= config.bin %> cluster up --engines 3'];

  static override flags = {
    engines: Flags.integer({ default: 3, min: MIN_ENGINES, max: MAX_ENGINES, description: "engines in the Swarm, the host's included" }),
    name: Flags.string({ default: DEFAULT_CLUSTER_NAME, description: 'the cluster name (1–8 lowercase letters or digits), in its labels, namespaces and state folder' }),
    'data-path-port': Flags.integer({ default: DEFAULT_DATA_PATH_PORT, description: 'the UDP port of Swarm\'s VXLAN traffic; change it when another VXLAN holds 4789' }),
    images: Flags.boolean({ default: true, allowNo: true, description: 'copy the node and etcd images to every engine' }),
  };

  async run(): Promise<ClusterUpResult> {
    const { flags } = await this.parse(ClusterUp);
    const abort = new AbortController();
    const up = clusterUp({
      name: flags.name,
      engines: flags.engines,
      dataPathPort: flags['data-path-port'],
      images: flags.images,
      signal: abort.signal,
      onProgress: (line) => this.note(line),
    });
    // Ctrl-C: up stops at its next step and takes down what it made; wait for that before exiting.
    const off = onInterrupt(async () => {
      abort.abort();
      await up.catch(() => undefined);
    });
    try {
      const result = await up;
      for (const engine of result.engines) this.log(`${engine.name}  ${engine.role.padEnd(7)}  ${engine.address.padEnd(15)}  ${engine.socketPath}`);
      const copy = result.images.length > 0 ? `; images ${result.images.join(', ')} copied (${(result.imageCopy.bytes / 2 ** 20).toFixed(0)} MiB) in ${seconds(result.imageCopy.ms)}` : '';
      this.log(
        `✔ cluster ${result.name} up in ${seconds(result.ms.total)}: ${result.engines.length} engines, Swarm ${result.swarmId.slice(0, 12)}, overlay pool ${result.addressPool} (/${result.overlaySubnetBits} each), data-path port ${result.dataPathPort}${copy}`,
      );
      return result;
    } catch (error) {
      // Interrupted: the handler has waited for the cleanup and exits 130; do not race it with an error exit.
      if (abort.signal.aborted) await new Promise(() => {});
      throw error;
    } finally {
      off();
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
