import { Flags } from '@oclif/core';
import { runIdArg } from '../cli/args.js';
import { PeerlabCommand } from '../cli/base-command.js';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { listRunIds, takeDown } from '../run/down.js';
import type { RunId } from '../util/names.js';

export default class Down extends PeerlabCommand {
  static override description = 'Remove a run (its containers, network, etcd and local state), or every peerlab run with --all.';

  static override args = { run: runIdArg('the run id (optional when only one run is up)') };

  static override flags = { all: Flags.boolean({ default: false, description: 'remove every object labelled peerlab.run' }) };

  async run(): Promise<{ runs: string[]; services: number; containers: number; networks: number }> {
    const { args, flags } = await this.parse(Down);
    const docker = await connectDocker();
    const runs = flags.all ? await listRunIds(docker) : [args.run ?? (await onlyRun(docker))];
    const removed = await takeDown(docker, flags.all ? undefined : runs[0]);
    // A Swarm run's services and its overlay count too: the overlay is removed on the manager, not with the
    // host engine's bridges, and a count without it said "0 network(s)" of a run that had one.
    const services = removed.services ? `${removed.services} service(s), ` : '';
    this.log(`✔ removed ${services}${removed.containers} container(s) and ${removed.networks} network(s)${runs.length ? ` of ${runs.join(', ')}` : ''}`);
    return { runs, ...removed };
  }
}

async function onlyRun(docker: Awaited<ReturnType<typeof connectDocker>>): Promise<RunId> {
  const runs = await listRunIds(docker);
  if (runs.length === 1) return runs[0]!;
  throw new PeerlabError(runs.length === 0 ? 'no peerlab run is up' : `${runs.length} runs are up: ${runs.join(', ')}`, {
    hint: runs.length === 0 ? 'nothing to remove' : 'name one: peerlab down <run>, or remove all with --all',
  });
}
