import { Args, Flags } from '@oclif/core';
import { runIdArg } from '../cli/args.js';
import { PeerlabCommand } from '../cli/base-command.js';
import { onInterrupt } from '../cli/interrupt.js';
import { connectDocker } from '../docker/engine.js';
import { describeMove, migrateRunNode, type MoveOutcome } from '../migration/index.js';
import { LOCAL_HOST } from '../runtime/docker.js';

export default class Migrate extends PeerlabCommand {
  static override description =
    "Move one node of a running run to a new container, with its state, timers (through the algorithm's restore hook) and unhandled messages: no message is lost, duplicated or reordered. Prints the downtime, the snapshot's size and the messages carried and replayed.";

  static override examples = ['<%= config.bin %> migrate flood-20261130-101500-ab12 3', '<%= config.bin %> migrate flood-20261130-101500-ab12 3 --to outpost_pi   # a run started with --hosts',
    '<%= config.bin %> migrate flood-20261130-101500-ab12 3 --to engine-2     # a run on --runtime swarm',
  ];

  static override args = {
    run: runIdArg('the run id (see `peerlab status`)', true),
    node: Args.string({ required: true, description: 'the node id' }),
  };

  static override flags = {
    to: Flags.string({
      description: `the host to move to: one of the run's --hosts (default: the one with the fewest nodes per CPU, other than the node's own), an engine of a Swarm run (engine-2; default: the one with the fewest nodes), or ${LOCAL_HOST} for a run without hosts`,
    }),
  };

  async run(): Promise<MoveOutcome> {
    const { args, flags } = await this.parse(Migrate);
    const abort = new AbortController();
    let moving: Promise<unknown> = Promise.resolve();
    // Ctrl-C before the commit cancels (the node stays); after it, the move completes first (see migration/move.ts).
    const release = onInterrupt(async () => {
      abort.abort();
      await moving.catch(() => {});
    });
    try {
      const onWaiting = (holder: string): void => this.logToStderr(`waiting: run ${args.run!} is moving ${holder} (one move at a time)`);
      const move = migrateRunNode(await connectDocker(), { runId: args.run!, nodeId: args.node, to: flags.to, signal: abort.signal, onWaiting });
      moving = move;
      const record = await move;
      this.log(`✔ ${describeMove(record)}`);
      return record;
    } finally {
      release();
    }
  }
}
