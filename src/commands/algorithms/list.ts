import { PeerlabCommand } from '../../cli/base-command.js';
import { listAlgorithms, type AlgorithmEntry } from '../../plugins/catalog.js';

export default class AlgorithmsList extends PeerlabCommand {
  static override description = "List the algorithms a run can name (./algorithms first, then peerlab's own), with their parameters.";

  async run(): Promise<{ algorithms: AlgorithmEntry[] }> {
    const algorithms = await listAlgorithms();
    for (const entry of algorithms) {
      if (entry.error !== undefined) {
        this.log(`${entry.name.padEnd(18)} ✖ broken: ${entry.error}`);
        this.log(`${''.padEnd(18)} ${entry.file}`);
        continue;
      }
      this.log(`${entry.name.padEnd(18)} ${entry.description}${entry.oracle ? '' : ' (no check: its runs are UNCHECKED; export a `check` to judge them)'}`);
      this.log(`${''.padEnd(18)} ${entry.file}`);
      for (const [key, param] of Object.entries(entry.params)) {
        const fallback = param.default === undefined ? '' : ` = ${JSON.stringify(param.default)}`;
        this.log(`${''.padEnd(20)}--param ${key}: ${param.type}${fallback}${param.description ? `  ${param.description}` : ''}`);
      }
    }
    const broken = algorithms.filter((entry) => entry.error !== undefined);
    if (broken.length > 0) {
      this.warn(`${broken.length} algorithm file(s) do not load: ${broken.map((entry) => entry.file).join(', ')} (see above)`);
      process.exitCode = 1;
    }
    return { algorithms };
  }
}
