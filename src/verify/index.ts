import { verifyFlood } from './flood.js';
import type { Oracle } from './types.js';

export type { Oracle, OracleInput, Verdict } from './types.js';

/** Ground truth per algorithm name. An algorithm without an oracle runs, but its verdict is "unchecked". */
const oracles: Record<string, Oracle> = {
  flood: verifyFlood,
};

export function oracleFor(algorithm: string): Oracle | undefined {
  return oracles[algorithm];
}
