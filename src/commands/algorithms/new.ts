import path from 'node:path';
import { Args } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { scaffoldAlgorithm } from '../../plugins/scaffold.js';

export default class AlgorithmsNew extends PeerlabCommand {
  static override description = 'Write algorithms/<name>.ts: a commented template that runs as it is.';

  static override args = { name: Args.string({ required: true, description: 'lowercase, e.g. echo-wave' }) };

  async run(): Promise<{ file: string }> {
    const { args } = await this.parse(AlgorithmsNew);
    const file = await scaffoldAlgorithm(args.name);
    this.log(`✔ wrote ${path.relative(process.cwd(), file)}; try: npx peerlab run ${args.name} --topology ring:n=10 --runtime sim`);
    return { file };
  }
}
