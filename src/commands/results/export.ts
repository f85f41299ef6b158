import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { PeerlabError } from '../../errors.js';
import { findResult } from '../../results/catalog.js';
import { exportShiviz } from '../../results/export.js';

export default class ResultsExport extends PeerlabCommand {
  static override description = "Export a traced run's messages for another tool: ShiViz's log format (open the file at https://bestchai.bitbucket.io/shiviz/).";

  static override examples = ['<%= config.bin %> results export ghs-20250101-120000-ab12 --format shiviz', '<%= config.bin %> results export ghs-20250101 --format shiviz --out ghs.log'];

  static override args = {
    id: Args.string({ required: true, description: 'a run id, a unique prefix, or a folder' }),
  };

  static override flags = {
    format: Flags.string({ required: true, options: ['shiviz'], description: 'the format to write' }),
    out: Flags.string({ char: 'o', description: 'the file to write (default: shiviz.log in the run folder)' }),
    results: Flags.string({ default: 'results', description: 'the results folder' }),
  };

  async run(): Promise<{ file: string; events: number }> {
    const { args, flags } = await this.parse(ResultsExport);
    const entry = await findResult(flags.results, args.id);
    if (entry.kind !== 'run') throw new PeerlabError(`${args.id} is an experiment; export one of its runs`, { hint: 'list its runs with peerlab results show ' + args.id });
    const written = await exportShiviz(entry.dir, flags.out);
    this.log(`wrote ${written.events} events to ${written.file}`);
    return written;
  }
}
