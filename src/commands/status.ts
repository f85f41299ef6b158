import { Flags } from '@oclif/core';
import { runIdArg } from '../cli/args.js';
import { PeerlabCommand } from '../cli/base-command.js';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { listRunIds } from '../run/down.js';
import { runStatus, type RunStatus } from '../run/status.js';

const MiB = 1024 * 1024;

export default class Status extends PeerlabCommand {
  static override description = 'Show the runs that are up, or one run: its nodes, their state, address and memory, etcd, and age.';

  static override args = { run: runIdArg('a run id (default: every run that is up)') };

  static override flags = { nodes: Flags.boolean({ default: false, description: 'list every node, not just the totals' }) };

  async run(): Promise<{ runs: RunStatus[] }> {
    const { args, flags } = await this.parse(Status);
    const docker = await connectDocker();
    const ids = args.run ? [args.run] : await listRunIds(docker);
    if (args.run && !(await listRunIds(docker)).includes(args.run)) {
      throw new PeerlabError(`no run ${args.run} is up`, { hint: 'run `peerlab status` to list the runs that are' });
    }
    const runs = await Promise.all(ids.map((id) => runStatus(docker, id)));
    if (runs.length === 0) this.log('no peerlab run is up');
    for (const run of runs) {
      const states = Object.entries(run.states).map(([state, count]) => `${count} ${state}`).join(', ') || 'no nodes';
      this.log(`${run.runId}  age ${run.ageSeconds} s  nodes: ${states}${perEngine(run)}`);
      this.log(`  etcd ${run.etcd.state}${run.etcd.endpoint ? ` at ${run.etcd.endpoint}` : ''}: ${run.etcd.registered ?? '?'} registered, ${run.etcd.ready ?? '?'} connected`);
      this.log(`  memory ${(run.memory.totalBytes / MiB).toFixed(0)} MiB in node containers, ${(run.memory.perNodeBytes / MiB).toFixed(1)} MiB per node`);
      if (flags.nodes) {
        for (const node of run.nodes) {
          this.log(`  node ${node.id.padStart(4)}  ${node.state.padEnd(8)} ${(node.address ?? '-').padEnd(15)} ${node.engine ? `${node.engine}  ` : ''}${node.memoryBytes ? (node.memoryBytes / MiB).toFixed(1) + ' MiB' : ''}`);
        }
      }
    }
    return { runs };
  }
}

/** `(engine-1 4, engine-2 4, engine-3 3)` for a run over several engines (Swarm), else nothing. */
function perEngine(run: RunStatus): string {
  const counts = new Map<string, number>();
  for (const node of run.nodes) if (node.engine) counts.set(node.engine, (counts.get(node.engine) ?? 0) + 1);
  if (counts.size === 0) return '';
  return ` (${[...counts].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([engine, count]) => `${engine} ${count}`).join(', ')})`;
}
