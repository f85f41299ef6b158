import type { TextTransport } from '../../src/host/algorithm-host.js';

/**
 * A host environment for unit tests of AlgorithmHost: a text transport that sends nothing, time 0, timers that
 * never fire and no etcd primitives (a test that needs one passes its own). A reported failure is thrown unless
 * `onFailure` is given.
 */
export function testEnvironment(overrides: Partial<Omit<TextTransport, 'carries'>> = {}): TextTransport {
  return {
    carries: 'text',
    transmit: () => undefined,
    now: () => 0,
    setTimer: () => ({ cancel: () => {} }),
    barrier: async () => {},
    store: () => undefined as never,
    services: () => undefined as never,
    queues: () => undefined as never,
    log: () => {},
    demand: () => {},
    onResult: () => {},
    onFailure: (error) => {
      throw error;
    },
    ...overrides,
  };
}
