/**
 * The Runtime interface over a Simulation: nodes are AlgorithmHosts in this process. Actions take effect at
 * the current virtual time; to inject a fault at a chosen virtual time, and so keep the run replayable, call
 * them from `simulation.at(time, () => …)` (the methods act synchronously, before their promise settles).
 */
import { PeerlabError } from '../../errors.js';
import type { ExecResult, NodeInfo, NodeSpec, Runtime, StartProgress } from '../types.js';
import type { Simulation } from './simulation.js';

export class SimRuntime implements Runtime {
  readonly kind = 'sim' as const;

  constructor(
    readonly runId: string,
    readonly simulation: Simulation,
  ) {}

  /** Starts the given nodes (graph ids; `env` is ignored) at the current virtual time. */
  async startNodes(nodes: readonly NodeSpec[], onProgress?: (progress: StartProgress) => void): Promise<void> {
    let started = 0;
    for (const { id } of nodes) {
      this.simulation.startNode(id);
      started += 1;
      onProgress?.({ started, total: nodes.length });
    }
  }

  /** Drops the node: messages to it (in flight or later), its timers and its wake-ups are lost. */
  async stopNode(id: string): Promise<void> {
    this.simulation.stopNode(id);
  }

  async killNode(id: string): Promise<void> {
    this.simulation.killNode(id);
  }

  /** Holds the node's deliveries, timers and wake-ups until it is resumed. */
  async pauseNode(id: string): Promise<void> {
    this.simulation.pauseNode(id);
  }

  async resumeNode(id: string): Promise<void> {
    this.simulation.resumeNode(id);
  }

  async listNodes(): Promise<NodeInfo[]> {
    if (this.simulation.isDestroyed) return [];
    return this.simulation.nodeIds().map((id) => ({
      id,
      state: this.simulation.nodeState(id),
      address: undefined,
      startedAt: undefined,
      memoryBytes: undefined,
    }));
  }

  async logTail(id: string, lines: number): Promise<string> {
    return this.simulation.logTail(id, lines);
  }

  async exec(id: string, command: readonly string[]): Promise<ExecResult> {
    throw unsupported(`exec (${command.join(' ')} on node ${id})`);
  }

  async connectNode(id: string, network: string): Promise<void> {
    throw unsupported(`connecting node ${id} to network ${network}`);
  }

  async disconnectNode(id: string, network: string): Promise<void> {
    throw unsupported(`disconnecting node ${id} from network ${network}`);
  }

  async destroy(): Promise<void> {
    this.simulation.destroy();
  }
}

function unsupported(what: string): PeerlabError {
  return new PeerlabError(`${what} is not supported in the simulator: its nodes are not processes and it has no networks`, {
    hint: 'use the Docker runtime for this',
  });
}
