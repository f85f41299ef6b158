import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../src/util/paths.js';

/**
 * A Zoe agent as algorithms/zoe-agent.ts takes it: its name in seed 000's tables, and the MIPS it wants. A type, not
 * an interface: it goes into parameters, which are Json.
 */
export type ZoeAgent = { name: string; mips: number };

/** The agents an experiment file of seed 000 gives its runs (`algorithm.params.agents`, one list): tests use its numbers. */
export function zoeAgents(file: 'zoe-balancers.yaml' | 'zoe-balancers-live.yaml'): ZoeAgent[] {
  const experiment = parse(readFileSync(path.join(packageRoot, 'experiments', file), 'utf8')) as { algorithm: { params: { agents: ZoeAgent[][] } } };
  return experiment.algorithm.params.agents[0]!;
}
