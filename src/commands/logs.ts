import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../cli/base-command.js';
import { showNodeLog } from '../run/logs.js';

export default class Logs extends PeerlabCommand {
  static override description =
    "Show a node's log (what node.log() and console.* printed, and any uncaught error): from its container while a Docker run is up, else from results/<run>/logs/<node>.log.";

  static override examples = ['<%= config.bin %> logs flood-20261130-101500-ab12 7', '<%= config.bin %> logs flood-20261130-101500-ab12 7 -f'];

  static override args = {
    run: Args.string({ required: true, description: 'the run id' }),
    node: Args.string({ required: true, description: 'the node id' }),
  };

  static override flags = {
    follow: Flags.boolean({ char: 'f', default: false, description: 'keep printing until the run ends' }),
    results: Flags.string({ default: 'results', description: 'the results folder' }),
  };

  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    // Ctrl-C ends a follow as it ends any command: nothing was created, so there is nothing to clean up.
    await showNodeLog({ runId: args.run, nodeId: args.node, resultsRoot: flags.results, follow: flags.follow, write: (chunk) => process.stdout.write(chunk) });
  }
}
