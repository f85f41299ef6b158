import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Args } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { loadPlacementInput } from '../../placement/input.js';
import { formatPlacement } from '../../placement/report.js';
import { simulatePlacement, type PlacementOutcome } from '../../placement/simulate.js';
import { bundlePolicy } from '../../plugins/bundle.js';
import { resolvePolicy } from '../../plugins/resolve.js';

export default class PolicySimulate extends PeerlabCommand {
  static override description = 'Compute the placement a policy chooses for a YAML of hosts and node loads, without starting anything.';

  static override examples = [
    '<%= config.bin %> policy simulate equal experiments/zoe/table-6.2-migration-1.yaml',
    '<%= config.bin %> policy simulate prio experiments/zoe/table-6.8-migration-1.yaml --json',
    '<%= config.bin %> policy simulate self-placement experiments/self-placement/users-in-gjovik.yaml',
    '<%= config.bin %> policy simulate threshold experiments/roaming/poor-host.yaml',
    '<%= config.bin %> policy simulate ./my-policy.ts hosts.yaml',
  ];

  static override args = {
    policy: Args.string({ required: true, description: 'a policy name (equal, prio, self-placement, threshold, or a file in ./policies) or a path to a .ts file' }),
    input: Args.string({ required: true, description: 'a YAML file: hosts (name, capacity, priority, central, utility), nodes (name, host, load, hold, requests), settings' }),
  };

  async run(): Promise<PlacementOutcome> {
    const { args } = await this.parse(PolicySimulate);
    const source = resolvePolicy(args.policy);
    const input = await loadPlacementInput(args.input);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-policy-'));
    try {
      const outcome = simulatePlacement((await bundlePolicy(source, dir)).policy, input);
      this.log(formatPlacement(outcome));
      return outcome;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
