/**
 * The few integers the simulation shares with its watchdog (the main thread) through a SharedArrayBuffer: the
 * watchdog writes a stop request; the simulation writes, before each event, which node runs which handler and
 * the event's number, and once the event's code has settled, that no node's code runs. A few plain stores per
 * event, so the watchdog costs the simulation next to nothing, and when a node's code never returns the
 * watchdog still knows whose code and which handler it was, and never blames a node for the simulator's own
 * work between events.
 */
export const Slot = {
  /** A StopRequest, written by the watchdog. */
  stop: 0,
  /** Graph index of the node whose code runs, or -1 (a control action). */
  node: 1,
  /** A Handler. */
  handler: 2,
  /** For onMessage: graph index of the sender. */
  from: 3,
  /** How many events have begun (mod 2³²): the watchdog tells a slow simulation from a stuck one by it. */
  event: 4,
  count: 5,
} as const;

export const StopRequest = { none: 0, interrupt: 1 } as const;
export type StopRequest = (typeof StopRequest)[keyof typeof StopRequest];

export const Handler = { none: 0, state: 1, start: 2, onMessage: 3, timer: 4, wake: 5, control: 6, restore: 7 } as const;
export type Handler = (typeof Handler)[keyof typeof Handler];

/** How an error names the handler: "node 3 … in onMessage (a message from 2)". */
export function describeHandler(handler: number, from: string | undefined): string {
  switch (handler) {
    case Handler.state:
      return 'its state() factory';
    case Handler.start:
      return 'init() or run()';
    case Handler.onMessage:
      return `onMessage (a message from ${from ?? '?'})`;
    case Handler.timer:
      return 'a timer or sleep() callback';
    case Handler.wake:
      return 'the code after a store, barrier or receive wait';
    case Handler.control:
      return 'a control action of the run';
    case Handler.restore:
      return 'its restore() hook, after a move';
    default:
      return 'no handler (the simulator itself)';
  }
}
