import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { listResults, type ResultEntry } from '../../results/catalog.js';
import { formatList } from '../../results/show.js';

export default class ResultsList extends PeerlabCommand {
  static override description = 'List the runs (results/<run-id>/) and experiments (results/<name>/<timestamp>/) under the results folder, newest first.';

  static override examples = ['<%= config.bin %> results list', '<%= config.bin %> results list --json'];

  static override flags = {
    results: Flags.string({ default: 'results', description: 'the results folder' }),
    kind: Flags.string({ options: ['run', 'experiment'], description: 'only runs, or only experiments' }),
  };

  async run(): Promise<{ results: ResultEntry[] }> {
    const { flags } = await this.parse(ResultsList);
    const results = (await listResults(flags.results)).filter((entry) => !flags.kind || entry.kind === flags.kind);
    this.log(formatList(results));
    return { results };
  }
}
