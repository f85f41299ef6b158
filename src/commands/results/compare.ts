import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { findResult } from '../../results/catalog.js';
import { compareResults, type Comparison } from '../../results/compare.js';
import { formatComparison } from '../../results/show.js';

export default class ResultsCompare extends PeerlabCommand {
  static override description =
    'Compare two runs (metrics and timings side by side) or two experiments (cell by cell: mean metrics side by side), with the ratio b/a.';

  static override examples = [
    '<%= config.bin %> results compare flood-20250101-120000-ab12 flood-20250101-120500-cd34',
    '<%= config.bin %> results compare quickstart/20250101-120000 quickstart/20250102-090000',
  ];

  static override args = {
    a: Args.string({ required: true, description: 'the first run or experiment (as for `results show`)' }),
    b: Args.string({ required: true, description: 'the second run or experiment' }),
  };

  static override flags = {
    results: Flags.string({ default: 'results', description: 'the results folder' }),
  };

  async run(): Promise<Comparison> {
    const { args, flags } = await this.parse(ResultsCompare);
    const [a, b] = await Promise.all([findResult(flags.results, args.a), findResult(flags.results, args.b)]);
    const comparison = await compareResults(a, b);
    this.log(formatComparison(comparison));
    return comparison;
  }
}
