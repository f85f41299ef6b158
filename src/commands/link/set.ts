import { Args, Flags } from '@oclif/core';
import { runIdArg } from '../../cli/args.js';
import { PeerlabCommand } from '../../cli/base-command.js';
import { connectDocker } from '../../docker/engine.js';
import { describeLinkSet, setRunLink, type LinkSetOutcome } from '../../run/link-set.js';

export default class LinkSet extends PeerlabCommand {
  static override description =
    "Change one overlay edge of a run that is up: its delay, jitter, loss or rate (the rest stay as the run gave them), or take it down and up. Both directions unless --oneway. The same mechanism as a 'degrade' or 'cut' fault.";

  static override examples = [
    '<%= config.bin %> link set flood-20261130-101500-ab12 3-7 --delay 100ms',
    '<%= config.bin %> link set flood-20261130-101500-ab12 3-7 --loss 1% --rate 1mbit --oneway',
    '<%= config.bin %> link set flood-20261130-101500-ab12 3-7 --down',
    '<%= config.bin %> link set flood-20261130-101500-ab12 3-7 --reset --up',
  ];

  static override args = {
    run: runIdArg('the run id (see `peerlab status`)', true),
    edge: Args.string({ required: true, description: 'the edge, as u-v' }),
  };

  static override flags = {
    delay: Flags.string({ description: 'one-way delay, e.g. 100ms' }),
    jitter: Flags.string({ description: 'jitter, e.g. 5ms (uniform in ±5 ms) or exp:5ms' }),
    loss: Flags.string({ description: 'packet loss, e.g. 1% (as --links: the retransmission time it costs)' }),
    rate: Flags.string({ description: 'bandwidth, e.g. 10mbit' }),
    down: Flags.boolean({ default: false, description: 'take the link down: what is sent on it is lost' }),
    up: Flags.boolean({ default: false, description: 'bring the link up again' }),
    reset: Flags.boolean({ default: false, description: 'give the edge back the link the run gave it' }),
    oneway: Flags.boolean({ default: false, description: 'change only the direction u → v' }),
  };

  async run(): Promise<LinkSetOutcome> {
    const { args, flags } = await this.parse(LinkSet);
    // run! : the argument is required, so oclif refuses a call without it; its type does not say so.
    const outcome = await setRunLink(await connectDocker(), { runId: args.run!, edge: args.edge, ...flags });
    for (const line of describeLinkSet(outcome)) this.log(`✔ ${line}`);
    return outcome;
  }
}
