import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { describeTopology, loadTopology, type TopologyStats } from '../../topology/index.js';
import { formatTopologyReport } from '../../topology/report.js';
import { formatLinkTable, linkRows, type EdgeLinkRow } from '../../links/report.js';

export default class TopologyShow extends PeerlabCommand {
  static override description = 'Load or generate a topology and print its statistics, degree histogram and what was done to the input.';

  static override examples = [
    '<%= config.bin %> topology show ba:n=100,m=2 --seed 7',
    '<%= config.bin %> topology show topologies/zoo/GtsCe.graphml --weights geo',
    '<%= config.bin %> topology show topologies/zoo/Abilene.graphml --links geo',
  ];

  static override args = {
    spec: Args.string({
      required: true,
      description: 'a generator spec (ba:n=100,m=2, er:n=50,p=0.1, ring:n=20, ...) or a GraphML, GML, JSON or edge-list file',
    }),
  };

  static override flags = {
    seed: Flags.integer({ char: 's', default: 1, description: 'seed of every random choice: topology and weights' }),
    weights: Flags.string({
      description: "edge weights: unique, uniform:a..b, geo or attr:NAME (default: the file's weight attribute, else unique)",
    }),
    'allow-disconnected': Flags.boolean({ default: false, description: 'accept a topology with more than one component' }),
    links: Flags.string({
      description: "show what each directed edge gets under this --links spec (geo[:HOP], weight[:SCALE], delay=…,jitter=…,loss=…,rate=…); left out, the file's own link attributes",
    }),
  };

  async run(): Promise<{ spec: string; kind: 'generated' | 'file'; notes: string[]; stats: TopologyStats; links: EdgeLinkRow[] }> {
    const { args, flags } = await this.parse(TopologyShow);
    const loaded = await loadTopology(args.spec, {
      seed: flags.seed,
      weights: flags.weights,
      links: flags.links,
      allowDisconnected: flags['allow-disconnected'],
    });
    const stats = describeTopology(loaded.graph);
    const links = linkRows(loaded.graph);
    this.log(formatTopologyReport(loaded, stats));
    if (flags.links !== undefined || links.length > 0) this.log(`\n${formatLinkTable(links)}`);
    return { spec: loaded.spec, kind: loaded.kind, notes: loaded.notes, stats, links };
  }
}
