import { access } from 'node:fs/promises';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { readTracedMessages, type TracedMessage } from '../report/messages.js';
import { writeFileAtomic } from '../util/files.js';

/**
 * ShiViz's log format (https://bestchai.bitbucket.io/shiviz/): the parser's regular expression on the first line,
 * an empty line (no delimiter between executions), then per event a description line and a line with the host
 * and its vector clock as JSON. Every host's own entry is in its clock, as ShiViz requires.
 */
export const SHIVIZ_REGEX = '(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})';

export function shivizLog(messages: readonly TracedMessage[]): string {
  const events: Array<{ lamport: number; text: string; host: string; clock: Readonly<Record<string, number>> }> = [];
  for (const m of messages) {
    events.push({ lamport: m.sendLamport, text: `send ${m.type} to ${m.to}: ${JSON.stringify(m.payload)}`, host: m.from, clock: m.sendClock });
    if (m.delivery) events.push({ lamport: m.delivery.lamport, text: `receive ${m.type} from ${m.from}`, host: m.to, clock: m.delivery.clock });
  }
  // Lamport order is a linear extension of causality, so every host's events come in its own order.
  events.sort((a, b) => a.lamport - b.lamport);
  const lines = events.map(({ text, host, clock }) => `${text.replace(/\n/g, ' ')}\n${host} ${JSON.stringify(clock)}`);
  return `${SHIVIZ_REGEX}\n\n${lines.join('\n')}\n`;
}

/** `peerlab results export <run> --format shiviz`: writes the run's trace for ShiViz; returns the file written. */
export async function exportShiviz(runDir: string, out?: string): Promise<{ file: string; events: number }> {
  const trace = path.join(runDir, 'events.ndjson');
  await access(trace).catch(() => {
    throw new PeerlabError(`${path.relative(process.cwd(), runDir) || runDir} has no events.ndjson: the run was not traced`, {
      hint: 'rerun it with --trace (its replay command is in run.json)',
    });
  });
  const messages = await readTracedMessages(trace);
  const file = out ?? path.join(runDir, 'shiviz.log');
  await writeFileAtomic(file, shivizLog(messages));
  return { file, events: messages.reduce((total, m) => total + (m.delivery ? 2 : 1), 0) };
}
