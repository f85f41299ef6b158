import { Simulation } from './simulation.js';
import type { SimulationOptions, SimulationOutcome } from './types.js';

/**
 * Runs an algorithm on a topology in the discrete-event simulator: every node starts at virtual time 0, and
 * the run ends when every node has a result, a node fails, the virtual timeout or event cap is hit, or nothing
 * is left to happen. The same options give the same outcome (apart from wallMs), in any process.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationOutcome> {
  const simulation = new Simulation(options);
  simulation.startAll();
  return simulation.run();
}
