/** The deterministic in-process simulator: see simulation.ts for how it works. */
export { simulate } from './simulate.js';
export { Simulation, LOG_TAIL_LINES, PROGRESS_EVERY, type SimNodeState } from './simulation.js';
export { SimRuntime } from './runtime.js';
export {
  DEFAULT_DELAY_SPEC,
  constantDelay,
  defaultDelay,
  exponentialDelay,
  delayAsLinks,
  linkDelay,
  parseDelay,
  uniformDelay,
  weightDelay,
  type DelayContext,
  type DelayModel,
} from './delay.js';
export { EventQueue } from './event-queue.js';
export { toSimGraph, type SimGraph } from './graph.js';
export { INTERRUPT_GRACE_MS, NodeCodeStuck, simulateInWorker, type SimJob, type WatchdogOptions } from './threaded.js';
export { SimBarriers, SimStore, type Wake } from './store.js';
export { SimServices } from './services.js';
export {
  DEFAULT_MAX_EVENTS,
  DEFAULT_SIM_TIMEOUT_MS,
  type EndReason,
  type SimGroup,
  type SimulationOptions,
  type SimulationSettings,
  type SimulationOutcome,
  type SimulationProgress,
  type TraceEvent,
} from './types.js';
