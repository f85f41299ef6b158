/**
 * `node.demand(units)` in a container: the node keeps `units / capacityPerCpu` of one CPU busy, in bursts of CPU
 * time every BURST_PERIOD_MS, as seed 000's dummy agents spin in a loop. Its load is then what its process measures
 * (the agent's load reports), and a host's CPU quota caps it as a small machine caps a busy program: a node that wants
 * more than its host has gets less, as the simulator's max-min share gives it (src/runtime/sim/hosts.ts).
 *
 * Spinning on the event loop, not in a worker thread: a program that uses its CPU delays its own messages, and a
 * node is one process of one thread (a share above one CPU is capped at one).
 */
const BURST_PERIOD_MS = 50;

export class CpuDemand {
  private share = 0;
  private timer: NodeJS.Timeout | undefined;
  private done = 0;
  private asked = false;

  /** `capacityPerCpu`: the hosts' units one CPU does (largest capacity / its CPUs); 1 without hosts, whose unit is a CPU. */
  constructor(private readonly capacityPerCpu: number) {}

  set(units: number): void {
    this.asked = true;
    this.share = Math.min(1, units / this.capacityPerCpu);
    if (this.share === 0) return this.stop();
    // A timer that does not keep the process alive: the agent ends when the run does, busy or not.
    this.timer ??= setInterval(() => this.burst(), BURST_PERIOD_MS).unref();
  }

  /** Whether the node ever said what it wants (node.demand, 0 included): only then is workMs its load. */
  get declared(): boolean {
    return this.asked;
  }

  /**
   * The work its bursts have done, in ms of one CPU: each burst counts its share of the period once it is done.
   * Counted, not timed, as perf counted the instructions of seed 000's agents: a quota that delays the bursts
   * lowers the rate, the agent's own work between them (its lease, load reports, links) does not count, and a
   * demand too small for the CPU clock to time (seed 000's idle agents: 0.17 µs a burst) counts what it is.
   */
  get workMs(): number {
    return this.done;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A burst is an amount of work, the share of a period in CPU time, not in wall time: on a host busy with other
   * programs the node takes longer to do it but does it all, and measures the load it demands, as a program with
   * fixed work would. (Spun by the wall clock, a node that wanted 0.2 of a CPU measured 0.11 in CI, beside the unit
   * tests.) A CPU quota below the demand still caps it: a burst that cannot end within its period delays the next.
   */
  private burst(): void {
    const work = this.share * BURST_PERIOD_MS;
    const busyUntil = processCpuMs() + work;
    while (processCpuMs() < busyUntil) {
      // spinning: the demand itself
    }
    this.done += work;
  }
}

/** The CPU time this process has used, in ms (its container's only process). */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
