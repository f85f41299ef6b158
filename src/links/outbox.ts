/**
 * Layer 1 of the link model in the node agent: one outbox per outgoing edge holds each message for the time the
 * edge's LinkSchedule gives (serialisation behind the messages before it, delay, jitter, loss as retransmission
 * time) and hands it to the wire in order. The simulator asks the same LinkSchedule, so both runtimes shape alike.
 */
import { LinkSchedule } from './model.js';

/**
 * Node's timers fire on whole milliseconds of the event loop's clock. Measured on the 2-core host, a timer set
 * for a deadline fired 0.2–1.0 ms late, depending on the deadline's fraction of a millisecond. So each edge's
 * delay came out up to 1 ms long, always by the same amount: against rtt's tolerance of 1 ms that is the whole
 * budget. The outbox therefore sets its timer this much before the deadline and covers the rest by polling the
 * clock once per loop turn (setImmediate, which lets I/O in between): up to 1.2 ms of polling per message held.
 */
const POLL_BEFORE_DUE_MS = 1.2;

export class LinkOutbox<Message extends { readonly payload: string } = { readonly payload: string }> {
  private readonly queue: Array<{ readonly due: number; readonly message: Message }> = [];
  /** A timer or a poll is set for the head of the queue. */
  private waiting = false;

  constructor(
    readonly schedule: LinkSchedule,
    private readonly forward: (message: Message) => void,
    private readonly clock: () => number = () => performance.now(),
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
    const now = this.clock();
    const due = this.schedule.arrival(now, Buffer.byteLength(message.payload));
    this.queue.push({ due, message });
    this.flush();
    // Below a timer's resolution there is nothing to wait for: no timer per message while the edge keeps up.
    const serialisedIn = this.schedule.serialisedBy - now;
    return serialisedIn >= 1 ? new Promise((resolve) => setTimeout(resolve, serialisedIn)) : undefined;
  }

  /** Forwards every message that is due, in order, and sets one timer for the next. */
  private flush(): void {
    const now = this.clock();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) this.forward(this.queue.shift()!.message);
    if (this.waiting || this.queue.length === 0) return;
    this.waiting = true;
    const again = () => {
      this.waiting = false;
      this.flush();
    };
    const remaining = this.queue[0]!.due - now;
    if (remaining > POLL_BEFORE_DUE_MS) setTimeout(again, remaining - POLL_BEFORE_DUE_MS);
    else setImmediate(again);
  }
}
