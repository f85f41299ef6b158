import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { findResult } from '../../results/catalog.js';
import { compareResults, type Comparison } from '../../results/compare.js';
import { comparisonPageFile, writeComparisonPage } from '../../results/compare-page.js';
import { formatComparison } from '../../results/show.js';

export default class ResultsCompare extends PeerlabCommand {
  static override description =
    'Compare two runs (metrics and timings side by side) or two experiments (cell by cell: mean metrics side by side), with the ratio b/a.';

  static override examples = [
    '<%= config.bin %> results compare flood-20250101-120000-ab12 flood-20250101-120500-cd34',
    '<%= config.bin %> results compare quickstart/20250101-120000 quickstart/20250102-090000',
    '<%= config.bin %> results compare flood-20250101-120000-ab12 flood-20250101-120500-cd34 --html compare.html   # a Docker run against the simulator, node by node',
  ];

  static override args = {
    a: Args.string({ required: true, description: 'the first run or experiment (as for `results show`)' }),
    b: Args.string({ required: true, description: 'the second run or experiment' }),
  };

  static override flags = {
    results: Flags.string({ default: 'results', description: 'the results folder' }),
    html: Flags.string({ description: 'also write the comparison to this HTML file, with a plot per field of the nodes\' results (a against b, node by node)' }),
  };

  async run(): Promise<Comparison> {
    const { args, flags } = await this.parse(ResultsCompare);
    const page = flags.html === undefined ? undefined : comparisonPageFile(flags.html);
    const [a, b] = await Promise.all([findResult(flags.results, args.a), findResult(flags.results, args.b)]);
    const comparison = await compareResults(a, b);
    this.log(formatComparison(comparison));
    if (page) {
      await writeComparisonPage(comparison, page);
      this.log(`page: ${page}`);
    }
    return comparison;
  }
}
