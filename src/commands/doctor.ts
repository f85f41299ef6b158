import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../cli/base-command.js';
import { runChecks, type Check } from '../doctor/checks.js';
import { gatherFacts } from '../doctor/facts.js';

export default class Doctor extends PeerlabCommand {
  static override description =
    'Check that this machine can run peerlab with N nodes: Docker engine, images, Node.js, memory, the bridge limit, open files and inotify limits. Exits non-zero if a check fails, and says how to fix it.';

  static override flags = {
    nodes: Flags.integer({ default: 100, min: 1, description: 'the number of nodes to check the machine for' }),
  };

  async run(): Promise<{ ok: boolean; nodes: number; checks: Check[] }> {
    const { flags } = await this.parse(Doctor);
    const checks = runChecks(await gatherFacts(), flags.nodes);
    const width = Math.max(...checks.map((check) => check.name.length));
    for (const check of checks) {
      const line = `${check.ok ? '✔' : '✖'} ${check.name.padEnd(width)}  ${check.detail}${check.fix ? ` — fix: ${check.fix}` : ''}`;
      this.log(line);
    }
    const ok = checks.every((check) => check.ok);
    if (!ok) process.exitCode = 1;
    return { ok, nodes: flags.nodes, checks };
  }
}
