import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { describeTopology, loadTopology, type TopologyStats } from '../../topology/index.js';
import { formatTopologyReport } from '../../topology/report.js';
import { formatLinkTable, linkRows, type EdgeLinkRow } from '../../links/report.js';
import { exportGraph, type GraphFormat } from '../../topology/export-formats.js';
import { topologySvg } from '../../report/topology-svg.js';
import { writeFileAtomic } from '../../util/files.js';

export default class TopologyShow extends PeerlabCommand {
  static override description = 'Load or generate a topology and print its statistics, degree histogram and what was done to the input.';

  static override examples = [
    '<%= config.bin %> topology show ba:n=100,m=2 --seed 7',
    '<%= config.bin %> topology show topologies/zoo/GtsCe.graphml --weights geo',
    '<%= config.bin %> topology show topologies/zoo/Abilene.graphml --links geo',
    '<%= config.bin %> topology show topologies/zoo/Abilene.graphml --svg abilene.svg',
    '<%= config.bin %> topology show ba:n=100,m=2 --format gexf --out ba.gexf',
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
      description: "show what each directed edge gets under this --links spec (geo[:HOP], weight[:SCALE], delay=…,jitter=…,loss=…,rate=…); left out, the file's own link attributes (delay, latency, loss, rate, …; NAME_reverse for target → source)",
    }),
    svg: Flags.string({ description: "draw the graph with its weights into this SVG file (at the map's coordinates, else a layout)" }),
    format: Flags.string({ options: ['dot', 'graphml', 'gexf'], description: 'print the graph in this format instead of its statistics (or write it to --out)' }),
    out: Flags.string({ char: 'o', description: 'the file for --format (default: standard output)', dependsOn: ['format'] }),
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
    if (flags.svg) {
      await writeFileAtomic(flags.svg, topologySvg(loaded.graph, { weights: loaded.graph.size <= 300 }));
      this.note(`drew ${loaded.graph.order} nodes and ${loaded.graph.size} edges in ${flags.svg}`);
    }
    const links = linkRows(loaded.graph);
    if (flags.format && !flags.out) process.stdout.write(exportGraph(loaded.graph, flags.format as GraphFormat));
    else {
      if (flags.format && flags.out) {
        await writeFileAtomic(flags.out, exportGraph(loaded.graph, flags.format as GraphFormat));
        this.note(`wrote ${flags.format} to ${flags.out}`);
      }
      this.log(formatTopologyReport(loaded, stats));
      if (flags.links !== undefined || links.length > 0) this.log(`\n${formatLinkTable(links)}`);
    }
    return { spec: loaded.spec, kind: loaded.kind, notes: loaded.notes, stats, links };
  }
}
