import { writeFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { PeerlabError } from '../../errors.js';
import { exportTopology, loadTopology } from '../../topology/index.js';
import TopologyShow from './show.js';

export default class TopologyGenerate extends PeerlabCommand {
  static override description =
    'Write a topology (generated, or converted from a file) as graphology JSON with weights and labels; loading that file gives back the same graph.';

  static override examples = [
    '<%= config.bin %> topology generate ba:n=100,m=2 --seed 7 --out ba100.json',
    '<%= config.bin %> topology generate topologies/zoo/Abilene.gml --weights geo > abilene.json',
  ];

  static override args = TopologyShow.args;

  static override flags = {
    ...TopologyShow.flags,
    out: Flags.string({ char: 'o', description: 'write the JSON to this file instead of stdout' }),
  };

  async run(): Promise<object> {
    const { args, flags } = await this.parse(TopologyGenerate);
    const loaded = await loadTopology(args.spec, {
      seed: flags.seed,
      weights: flags.weights,
      allowDisconnected: flags['allow-disconnected'],
    });
    for (const note of loaded.notes) this.note(`note: ${note}`);
    const exported = exportTopology(loaded.graph);
    if (flags.out === undefined) {
      // Under --json oclif prints the returned graph itself; printing it here too would give two objects.
      if (!this.jsonEnabled()) this.log(JSON.stringify(exported, null, 2));
      return exported;
    }
    try {
      await writeFile(flags.out, `${JSON.stringify(exported, null, 2)}\n`);
    } catch (error) {
      throw new PeerlabError(`cannot write ${flags.out}: ${(error as Error).message}`, {
        hint: 'check that its directory exists and is writable',
        cause: error,
      });
    }
    this.note(`wrote ${flags.out}: ${loaded.graph.order} nodes, ${loaded.graph.size} edges`);
    return { out: flags.out, nodes: loaded.graph.order, edges: loaded.graph.size, notes: loaded.notes };
  }
}
