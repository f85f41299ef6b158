import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UndirectedGraph } from 'graphology';
import type { RunRecord } from '../run/results-folder.js';
import type { TraceEvent } from '../runtime/sim/index.js';
import type { Json } from '../sdk/types.js';
import type { Topology } from '../topology/index.js';
import { readCsv, readJsonFile } from '../util/files.js';
import { PeerlabError } from '../errors.js';
import { DashboardFeed } from './feed.js';
import { feedFromSimulator } from './sources.js';

export interface Replay {
  readonly runId: string;
  readonly graph: Topology;
  readonly feed: DashboardFeed;
  readonly timeUnit: 'ms' | 'virtual ms';
  /** False when the run was not traced: the page then shows only how it ended. */
  readonly traced: boolean;
}

/**
 * `peerlab ui <run>` for a finished run: its frames rebuilt from results/<run>/ (the trace when there is one;
 * the final results from nodes.csv in any case), for the page to replay.
 */
export async function loadReplay(runDir: string): Promise<Replay> {
  const record = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as RunRecord;
  const exported = readJsonFile(path.join(runDir, 'topology.json'));
  if (exported === undefined) throw new PeerlabError(`${runDir} has neither topology.json nor topology.json.gz, so there is nothing to replay`, { hint: `rerun it with the replay command in its run.json (\`replay\`)` });
  const graph: Topology = UndirectedGraph.from(exported as Parameters<typeof UndirectedGraph.from>[0]) as Topology;
  const feed = new DashboardFeed(graph.nodes());
  const trace = path.join(runDir, 'events.ndjson');
  const traced = await access(trace).then(
    () => true,
    () => false,
  );
  for (const id of graph.nodes()) feed.state(id, 'running');
  let end = 0;
  if (traced) {
    // A Docker trace is in Lamport order; the page's frames go by time.
    const events: TraceEvent[] = [];
    for await (const line of createInterface({ input: createReadStream(trace), crlfDelay: Infinity })) if (line) events.push(JSON.parse(line) as TraceEvent);
    events.sort((a, b) => a.time - b.time);
    const onEvent = feedFromSimulator(feed);
    for (const event of events) onEvent(event);
    end = events.at(-1)?.time ?? 0;
  }
  // Large runs write nodes.csv gzip-compressed: readCsv reads either.
  for (const row of readCsv(path.join(runDir, 'nodes.csv')) ?? []) if (row.result) feed.result(row.id!, JSON.parse(row.result) as Json);
  feed.finish(end + 1);
  return { runId: record.runId, graph, feed, timeUnit: record.runtime === 'sim' ? 'virtual ms' : 'ms', traced };
}
