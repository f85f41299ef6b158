/**
 * The `console` of an algorithm bundled for the CLI and the simulator (esbuild injects this module in place of
 * the global; see bundleAlgorithm). In the simulator every node runs in the CLI's process, so a plain
 * console.log would land in the middle of `--json` output and could not be told apart by node: while a
 * simulation runs it installs a sink under CONSOLE_SINK and each line goes to the log of the node whose code
 * is running. With no sink (loading the module, or a runtime that has none) output goes to stderr, never to
 * stdout. It is a real Console, so every method (table, group, dir, count, …) formats as usual.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';

export const CONSOLE_SINK = Symbol.for('peerlab.console');

type Sink = (line: string) => void;

// The sink is called during the write itself (a callback called synchronously lets the next write through at
// once), so a line is attributed to the node whose code printed it.
const output = new Writable({
  decodeStrings: false,
  write(chunk: string | Buffer, _encoding, done) {
    const text = String(chunk).replace(/\n$/, '');
    const sink = (globalThis as { [CONSOLE_SINK]?: Sink })[CONSOLE_SINK];
    if (sink) sink(text);
    else process.stderr.write(`${text}\n`);
    done();
  },
});

const shim = new Console({ stdout: output, stderr: output });

export { shim as console };
