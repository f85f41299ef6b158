import type { PlacementRound } from '../placement/simulate.js';
import type { Json } from '../sdk/types.js';
import type { NodeReport } from '../coordination/protocol.js';
import type { AppliedFault } from '../faults/events.js';
import type { RegistryLog, RuntimeKind } from '../runtime/types.js';
import type { MigrationRecord } from '../coordination/protocol.js';

/** What a runtime hands back after running an algorithm to the end: the same shape from Docker and the simulator. */
export interface Execution {
  readonly runtime: RuntimeKind;
  readonly results: ReadonlyMap<string, Json>;
  readonly reports: ReadonlyMap<string, NodeReport>;
  /** Nodes still alive without a result when the run ended (timeout, or nothing left to happen). */
  readonly missing: string[];
  /** Nodes a fault took out (killed or stopped) before they had a result, and why: not waited for, not missing. */
  readonly departed: ReadonlyMap<string, string>;
  /** Every fault event of the schedule, as it was applied, in the order applied. */
  readonly faults: readonly AppliedFault[];
  /** Every node that moved to a new container (migrate, restart), as its new node recorded it. */
  readonly migrations?: readonly MigrationRecord[];
  /** Each round of the run's placement policy (`--policy`): what it saw, chose and moved. */
  readonly placements?: readonly PlacementRound[];
  /** Who was in the registry: how many at the start, and each change after it. */
  readonly registry: RegistryLog;
  /** Messages sent and not delivered when the run ended (the run ends when every node has a result). */
  readonly inFlight: number;
  /** Why the run ended before every node had a result when it was not a timeout (the simulator's event cap). */
  readonly endedEarly?: string;
  readonly timings: Record<string, number>;
  /** Runtime facts for run.json: images for Docker; delay model, virtual time and events for the simulator. */
  readonly facts: Record<string, Json>;
  /** Set when the run itself succeeded but removing it did not: reported after the results are written. */
  readonly teardownError?: unknown;
}

/**
 * Messages in flight, from the nodes' final reports: per directed edge, those its sender counted as sent and its
 * receiver had not counted as received when each wrote its report (both right after the controller's stop).
 */
export function inFlightFromReports(reports: ReadonlyMap<string, NodeReport>): number {
  let inFlight = 0;
  for (const [from, report] of reports) {
    for (const [to, sent] of Object.entries(report.sent)) {
      const receiver = reports.get(to);
      const received = receiver?.received[from]?.messages;
      // A message dropped on a link that was down arrived, and is lost: it is not in flight.
      if (received !== undefined) inFlight += Math.max(0, sent.messages - received - (receiver!.dropped?.[from] ?? 0));
    }
  }
  return inFlight;
}

/** What a run had gathered by the time it failed: written to its results folder, so a failed run keeps its data. */
export interface Collected {
  readonly results: ReadonlyMap<string, Json>;
  readonly reports: ReadonlyMap<string, NodeReport>;
}

/**
 * A run that failed after its nodes had started (a node's code threw, a node crashed): `reason` is the error to
 * show, `collected` what the nodes had reported until then.
 */
export class ExecutionFailed extends Error {
  override name = 'ExecutionFailed';

  constructor(
    readonly reason: Error,
    readonly collected: Collected,
  ) {
    super(reason.message, { cause: reason });
  }
}
