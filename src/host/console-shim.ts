/**
 * The `console` of an algorithm bundled for the CLI and the simulator (esbuild injects this module in place of
 * the global; see bundleAlgorithm). In the simulator every node runs in the CLI's process, so a plain
 * console.log would land in the middle of `--json` output and could not be told apart by node: while a
 * simulation runs it installs a sink under CONSOLE_SINK and each line goes to the log of the node whose code
 * is running. With no sink (loading the module, or a runtime that has none) output goes to stderr, never to stdout.
 */
import { format } from 'node:util';

export const CONSOLE_SINK = Symbol.for('peerlab.console');

type Sink = (line: string) => void;

function print(...values: unknown[]): void {
  const line = format(...values);
  const sink = (globalThis as { [CONSOLE_SINK]?: Sink })[CONSOLE_SINK];
  if (sink) sink(line);
  else process.stderr.write(`${line}\n`);
}

const shim: Console = Object.assign(Object.create(globalThis.console) as Console, {
  log: print,
  info: print,
  debug: print,
  warn: print,
  error: print,
  trace: (...values: unknown[]) => print(new Error(format(...values)).stack?.replace(/^Error/, 'Trace')),
  dir: (value: unknown) => print(value),
});

export { shim as console };
