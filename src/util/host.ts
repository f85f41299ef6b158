import os from 'node:os';

/** The machine a measurement was taken on, as run.json, experiment reports and bench output record it. */
export interface HostFacts {
  readonly hostname: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel?: string;
  readonly memoryBytes: number;
  readonly node: string;
}

export function hostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim(),
    memoryBytes: os.totalmem(),
    node: process.version,
  };
}

/**
 * /proc counts CPU time in clock ticks of USER_HZ, a fixed part of the kernel's ABI (not its internal HZ): 100,
 * so 10 ms a tick, on every Linux architecture Node.js runs on.
 */
export const PROC_TICK_MS = 10;
