/**
 * The donated-hosting pool of seed 003 ("Plug N Host", a master–worker framework for donated computers): what
 * the master, its workers and its clients say to each other, the answer a request is owed, the heavy-tailed
 * cost of a request, and the master's four scheduling algorithms (§4.5.4 and §5.1.1 of the seed: round-robin
 * and least connections, nginx's weights and its client-IP stickiness).
 *
 * Pure functions and types only: the roles in algorithms/services/pool-*.ts use them, and so does the check
 * (src/verify/donated-hosting.ts), which needs the same notion of a right answer as the workers.
 */
import type { Random } from 'peerlab';

/** The registry name every ready worker registers under, with its `WorkerInfo`. */
export const WORKER_SERVICE = 'pool-worker';

export const SCHEDULERS = ['round-robin', 'least-connections', 'weighted', 'ip-hash'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/** What a worker registers once it is ready: how much load it takes (nginx's `weight`); it serves that much faster. */
export type WorkerInfo = { readonly weight: number };

/** Client → master: one request to one of the master's services; the master knows the client by the sender. */
export type PoolRequest = { readonly kind: 'request'; readonly service: string; readonly request: number; readonly query: number; readonly costMs: number };
/** Master → worker: one replica of a request, numbered by the master. */
export type Job = { readonly kind: 'job'; readonly job: number; readonly service: string; readonly query: number; readonly costMs: number };
/** Worker → master. */
export type JobAnswer = { readonly kind: 'job-answer'; readonly job: number; readonly answer: string };
/** Master → client: the answer, or null when the replicas disagreed (the master detected a wrong answer). */
export type PoolAnswer = { readonly kind: 'answer'; readonly service: string; readonly request: number; readonly answer: string | null };

/** The page an honest worker serves for `query`. */
export function rightAnswer(query: number): string {
  return `page ${query}`;
}

/** What every malicious worker serves instead: the same forgery, so that colluding replicas agree. */
export function forgedAnswer(query: number): string {
  return `forged page ${query}`;
}

/**
 * A Pareto(shape, scale) cost, capped at `capMs`: a heavy tail (shape 1.5 has a finite mean and an infinite
 * variance) in which a few requests cost far more than the rest, the case where round-robin queues a request
 * behind a long one while another worker is idle (seed §4.5.4).
 */
export function paretoMs(random: Random, scaleMs: number, shape: number, capMs: number): number {
  // 1 − next() is in (0, 1], so the power is finite.
  return Math.min(capMs, scaleMs / (1 - random.next()) ** (1 / shape));
}

/** One worker of the pool as the master knows it from the registry. */
export type Member = { readonly node: string; readonly weight: number };

/**
 * A scheduler's memory, reset whenever the pool changes: the round-robin position, and smooth weighted
 * round-robin's current weights (nginx's algorithm).
 */
export type SchedulerState = { next: number; current: Record<string, number> };

export function freshSchedulerState(): SchedulerState {
  return { next: 0, current: {} };
}

export interface Choice {
  readonly scheduler: SchedulerName;
  /** The pool, sorted by node id. */
  readonly pool: readonly Member[];
  readonly state: SchedulerState;
  /** Who asks: ip-hash keeps each client on one worker. */
  readonly client: string;
  /** Requests sent to each worker and not answered yet (least-connections). */
  readonly outstanding: (node: string) => number;
  /** Workers this request already went to (its other replicas): never chosen twice. */
  readonly exclude: ReadonlySet<string>;
}

/** The worker the scheduler sends the next request to, or undefined when no eligible worker is left. */
export function chooseWorker(choice: Choice): string | undefined {
  const { pool, state, exclude } = choice;
  const eligible = pool.filter((member) => !exclude.has(member.node));
  if (eligible.length === 0) return undefined;
  switch (choice.scheduler) {
    case 'round-robin':
      return nextInTurn(choice, () => true);
    case 'least-connections': {
      // Fewest outstanding requests per unit of weight (nginx's least_conn); ties go round-robin, so an idle
      // pool is still shared evenly.
      const load = (member: Member) => choice.outstanding(member.node) / member.weight;
      const least = Math.min(...eligible.map(load));
      return nextInTurn(choice, (member) => load(member) === least);
    }
    case 'weighted': {
      // Smooth weighted round-robin: every worker gains its weight, the one with the most is chosen and pays
      // the total, so over each cycle of (sum of weights) picks every worker is chosen exactly weight times.
      const total = eligible.reduce((sum, member) => sum + member.weight, 0);
      let best: Member | undefined;
      for (const member of eligible) {
        state.current[member.node] = (state.current[member.node] ?? 0) + member.weight;
        if (!best || state.current[member.node]! > state.current[best.node]!) best = member;
      }
      state.current[best!.node]! -= total;
      return best!.node;
    }
    case 'ip-hash': {
      // Rendezvous hashing: the client's worker is the one whose hash with the client is highest, so the
      // client stays there as long as that worker is in the pool, whoever else comes and goes.
      let best: Member | undefined;
      for (const member of eligible) {
        if (!best || rendezvous(choice.client, member.node) > rendezvous(choice.client, best.node)) best = member;
      }
      return best!.node;
    }
  }
}

/** The first worker at or after the round-robin position that is eligible and `fits`; the position moves past it. */
function nextInTurn(choice: Choice, fits: (member: Member) => boolean): string | undefined {
  const { pool, state, exclude } = choice;
  for (let step = 0; step < pool.length; step++) {
    const index = (state.next + step) % pool.length;
    const member = pool[index]!;
    if (exclude.has(member.node) || !fits(member)) continue;
    state.next = index + 1;
    return member.node;
  }
  return undefined;
}

/** A 32-bit FNV-1a hash of the client and the worker: the same at every master, run after run. */
function rendezvous(client: string, worker: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${client}\u0000${worker}`) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193);
  return hash >>> 0;
}
