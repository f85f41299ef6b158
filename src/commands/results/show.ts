import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { findResult } from '../../results/catalog.js';
import { formatShown, showResult, type Shown } from '../../results/show.js';

export default class ResultsShow extends PeerlabCommand {
  static override description =
    "Show one run (run.json and verify.json in short) or one experiment (its cells, verdicts and mean metrics, and where its report is).";

  static override examples = [
    '<%= config.bin %> results show flood-20250101-120000-ab12',
    '<%= config.bin %> results show quickstart',
    '<%= config.bin %> results show quickstart/20250101-120000 --json',
  ];

  static override args = {
    id: Args.string({ required: true, description: 'a run id, an experiment name (its newest folder), <name>/<timestamp>, a unique prefix, or its folder inside --results' }),
  };

  static override flags = {
    results: Flags.string({ default: 'results', description: 'the results folder' }),
  };

  async run(): Promise<Shown> {
    const { args, flags } = await this.parse(ResultsShow);
    const shown = await showResult(await findResult(flags.results, args.id));
    this.log(formatShown(shown));
    return shown;
  }
}
