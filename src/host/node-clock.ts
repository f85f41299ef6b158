/**
 * A node's own clock, as its algorithm reads it (`node.now()`) and times with it (`setTimer`, `sleep`): the run's
 * clock unless a `skew` fault is on. Both runtimes use it through AlgorithmHost, so a skew means the same in both.
 *
 * A skew { offsetMs, rate } that starts at run time s makes the node read
 *
 *   now(t) = t + offsetMs + (rate − 1)·(t − s)
 *
 * i.e. it jumps by offsetMs at s and from then on runs `rate` times as fast. Ending it (a heal) sets the clock
 * right again at once: now(t) = t. A new skew replaces the one in force; skews do not add up.
 *
 * Timers are durations on the node's clock, as on a real machine whose oscillator drifts: a timer of d ms set
 * under rate r fires d / r run-ms later, and an offset moves no timer (a clock stepped forward does not make a
 * pending timeout fire). A timer already pending when the rate changes keeps the node-time it has left and runs
 * out at the new rate: with rate 2 from s, a 100 ms timer set at s − 50 fires at s + 25.
 */
export interface ClockSkew {
  /** The jump of the node's clock when the skew starts, in ms (negative: behind). */
  readonly offsetMs: number;
  /** How fast the node's clock runs against the run's (1: as fast; 1.05: 5 % fast). */
  readonly rate: number;
}

/**
 * A skew and when it started: what a successor on the node's id takes over (a restarted or moved node), so that
 * its clock reads on as the old one's would have, drift included.
 */
export interface SkewInForce extends ClockSkew {
  /** When the skew started, in ms on the run's clock (s above). */
  readonly sinceMs: number;
}

/** A timer the run's clock holds: the clock calls expire() once it is due, unless cancelled first. */
export interface Expiring {
  expire(): void;
}

/** What cancels a timer the run's clock holds. */
export interface Cancellable {
  cancel(): void;
}

/**
 * The run's clock and timers, as the environment gives them. A timer is an object with a method rather than a
 * callback and a cancel closure: the simulator keeps one live per sleeping node, and at 10⁵–10⁶ nodes every
 * object a timer drags along is copied by the garbage collector once or twice before the timer is due.
 */
export interface RunClock {
  now(): number;
  setTimer(ms: number, timer: Expiring): Cancellable;
}

/** A timer set through the node's clock, re-armed on the run's clock whenever the rate changes. */
export class PendingTimer implements Expiring {
  /** Run time it was last armed at. */
  armedAt = 0;
  runTimer: Cancellable | undefined;

  constructor(
    private readonly clock: NodeClock,
    /** Node-ms left when it was last armed. */
    public left: number,
    readonly fire: () => void,
  ) {}

  expire(): void {
    if (this.clock.due(this)) this.fire();
  }
}

export class NodeClock {
  private skew: SkewInForce | undefined;
  /**
   * Timers not yet fired or cancelled. Made on first use: at 10⁶ simulated nodes an object per node costs tens
   * of megabytes, and most algorithms set no timer.
   */
  private pending: Set<PendingTimer> | undefined;

  constructor(private readonly run: RunClock) {}

  now(): number {
    const t = this.run.now();
    const skew = this.skew;
    return skew === undefined ? t : t + skew.offsetMs + (skew.rate - 1) * (t - skew.sinceMs);
  }

  /** Timers that have neither fired nor been cancelled. */
  get timersPending(): number {
    return this.pending?.size ?? 0;
  }

  /** Calls `fire` once `ms` have passed on this node's clock; `cancel` with what it returns stops it. */
  timer(ms: number, fire: () => void): PendingTimer {
    const timer = new PendingTimer(this, ms > 0 ? ms : 0, fire);
    (this.pending ??= new Set()).add(timer);
    this.arm(timer);
    return timer;
  }

  cancel(timer: PendingTimer): void {
    if (this.pending?.delete(timer)) timer.runTimer!.cancel();
  }

  /** A timer is due: true if it was still pending (it fires), false if it was cancelled meanwhile. */
  due(timer: PendingTimer): boolean {
    return this.pending!.delete(timer);
  }

  /** The skew in force, if any. */
  get skewInForce(): SkewInForce | undefined {
    return this.skew;
  }

  /**
   * A skew fault starts (replacing any in force) at `sinceMs` on the run's clock (now, unless it started earlier),
   * or ends with undefined: the clock is right again.
   */
  setSkew(skew: ClockSkew | undefined, sinceMs?: number): void {
    const t = this.run.now();
    const before = this.rate;
    this.skew = skew === undefined ? undefined : { offsetMs: skew.offsetMs, rate: skew.rate, sinceMs: sinceMs ?? t };
    if (this.rate === before || this.pending === undefined) return;
    // The node-time each pending timer has left runs out at the new rate from now on.
    for (const timer of this.pending) {
      timer.runTimer!.cancel();
      timer.left = Math.max(0, timer.left - (t - timer.armedAt) * before);
      this.arm(timer);
    }
  }

  private get rate(): number {
    return this.skew?.rate ?? 1;
  }

  private arm(timer: PendingTimer): void {
    timer.armedAt = this.run.now();
    timer.runTimer = this.run.setTimer(timer.left / this.rate, timer);
  }
}
