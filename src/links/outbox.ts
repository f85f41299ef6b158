/**
 * Layer 1 of the link model in the node agent: one outbox per outgoing edge holds each message for the time the
 * edge's LinkSchedule gives (serialisation behind the messages before it, delay, jitter, loss as retransmission
 * time) and hands it to the wire in order. The simulator asks the same LinkSchedule, so both runtimes shape alike.
 */
import { LinkSchedule } from './model.js';

export class LinkOutbox<Message extends { readonly payload: string } = { readonly payload: string }> {
  private readonly queue: Array<{ readonly due: number; readonly message: Message }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly schedule: LinkSchedule,
    private readonly forward: (message: Message) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Messages held, not yet handed to the wire: a migrating node waits for none to be left. */
  get queued(): number {
    return this.queue.length;
  }

  send(message: Message): void {
    const due = this.schedule.arrival(this.clock(), Buffer.byteLength(message.payload));
    this.queue.push({ due, message });
    this.flush();
  }

  /** Forwards every message that is due, in order, and sets one timer for the next. */
  private flush(): void {
    const now = this.clock();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) this.forward(this.queue.shift()!.message);
    if (this.timer !== undefined || this.queue.length === 0) return;
    // A Node timer may fire up to a loop turn early against performance.now(): flush() then simply re-arms.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.queue[0]!.due - now);
  }
}
