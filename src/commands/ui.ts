import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../cli/base-command.js';
import { loadReplay } from '../dashboard/replay.js';
import { serveUntilInterrupted } from '../dashboard/serve.js';
import { startDashboard } from '../dashboard/server.js';
import { PeerlabError } from '../errors.js';
import { findResult } from '../results/catalog.js';

export default class Ui extends PeerlabCommand {
  static override description =
    'Replay a finished run in the dashboard (scrub through it; message traffic needs a run made with --trace). For a run as it happens, use peerlab run --ui.';

  static override examples = ['<%= config.bin %> ui ghs-20250101-120000-ab12', '<%= config.bin %> ui ghs-2025 --port 8080'];

  static override args = {
    run: Args.string({ required: true, description: 'a run id, a unique prefix, or a folder' }),
  };

  static override flags = {
    results: Flags.string({ default: 'results', description: 'the results folder' }),
    port: Flags.integer({ default: 0, description: 'port on 127.0.0.1 (0: any free port)' }),
  };

  async run(): Promise<{ url: string }> {
    const { args, flags } = await this.parse(Ui);
    const entry = await findResult(flags.results, args.run);
    if (entry.kind !== 'run') throw new PeerlabError(`${args.run} is an experiment, not a run`, { hint: `open one of its runs: peerlab results show ${args.run}` });
    const replay = await loadReplay(entry.dir);
    if (!replay.traced) this.note(`${replay.runId} was not traced: the page shows how it ended, without its messages (rerun with --trace for those)`);
    const dashboard = await startDashboard({ runId: replay.runId, graph: replay.graph, feed: replay.feed, mode: 'replay', timeUnit: replay.timeUnit, port: flags.port });
    this.note(`dashboard: ${dashboard.url}`);
    await serveUntilInterrupted(dashboard, (line) => this.note(line));
    return { url: dashboard.url };
  }
}
