/**
 * Layer 1 of the link model in the node agent: one outbox per outgoing edge holds each message for the time the
 * edge's LinkSchedule gives (serialisation behind the messages before it, delay, jitter, loss as retransmission
 * time) and hands it to the wire in order. The simulator asks the same LinkSchedule, so both runtimes shape alike.
 */
import { LinkSchedule } from './model.js';

/**
 * Node's timers fire on whole milliseconds of the event loop's clock. Measured on the 2-core host, a timer set
 * for a deadline fired 0.2–1.0 ms late, depending on the deadline's fraction of a millisecond (and under load up
 * to a millisecond early). So each edge's delay came out up to 1 ms long, always by the same amount: against
 * rtt's tolerance of 1 ms that is the whole budget. The outbox therefore sets its timer this much before the
 * deadline and sleeps the rest (see sleepUntil).
 */
const TIMER_LEAD_MS = 1.2;

/** A cell nobody notifies: Atomics.wait on it is a sleep. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks this thread until `deadline` (performance.now() ms), at most TIMER_LEAD_MS after a timer: a futex sleep,
 * without CPU. Polling the clock once per loop turn instead (setImmediate, as the outbox first did) handed a
 * message over 0.13–0.15 ms sooner at the median, but kept the process busy for the whole rest of every message
 * held: measured with 8 edges at 40 ms delay on a quiet host, 227 against 107 µs of CPU per message at 50
 * messages/s an edge, 135 against 40 µs at 200/s. While it sleeps the node reads no input; that holds an
 * arriving message back by at most the same sub-millisecond.
 */
function sleepUntil(deadline: number): void {
  const rest = deadline - performance.now();
  if (rest > 0) Atomics.wait(SLEEP_CELL, 0, 0, rest);
}

export class LinkOutbox<Message extends { readonly payload: string } = { readonly payload: string }> {
  private readonly queue: Array<{ readonly due: number; readonly message: Message }> = [];
  /** A timer is set for the head of the queue. */
  private waiting = false;

  constructor(
    readonly schedule: LinkSchedule,
    private readonly forward: (message: Message) => void,
  ) {}

  /** Messages held, not yet handed to the wire: a migrating node waits for none to be left. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Holds the message for its time on the edge. On an edge with a rate, the promise resolves once the message
   * has been serialised onto it: that is when a real link would take the next, so a sender that awaits its sends
   * keeps to the rate, and one that does not is stopped by the host's send-buffer limit (src/host), not by the
   * container's memory limit. Without a rate, or with less than a millisecond to go, nothing waits (undefined).
   */
  send(message: Message): Promise<void> | undefined {
    const now = performance.now();
    const due = this.schedule.arrival(now, Buffer.byteLength(message.payload));
    this.queue.push({ due, message });
    this.flush();
    // Below a timer's resolution there is nothing to wait for: no timer per message while the edge keeps up.
    const serialisedIn = this.schedule.serialisedBy - now;
    return serialisedIn >= 1 ? new Promise((resolve) => setTimeout(resolve, serialisedIn)) : undefined;
  }

  /**
   * Forwards every message that is due, in order; sleeps the sub-millisecond rest of the next if it is due within
   * a timer's lead, once: the loop then turns (gRPC writes what was forwarded, input is read) before the one after,
   * so back-to-back messages on a fast edge never hold the node for longer than one sleep. Then sets one timer.
   */
  private flush(): void {
    this.forwardDue();
    const head = this.queue[0];
    if (head && head.due - performance.now() <= TIMER_LEAD_MS) {
      sleepUntil(head.due);
      this.forwardDue();
    }
    if (this.waiting || this.queue.length === 0) return;
    this.waiting = true;
    const again = (): void => {
      this.waiting = false;
      this.flush();
    };
    const untilLead = this.queue[0]!.due - performance.now() - TIMER_LEAD_MS;
    if (untilLead > 0) setTimeout(again, untilLead);
    else setImmediate(again);
  }

  private forwardDue(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) this.forward(this.queue.shift()!.message);
  }
}
