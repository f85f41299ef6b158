/**
 * The heap a 10⁶-node run's nodes.csv and edges.csv take to write: rows shaped like a GHS run's on
 * ba:n=1000000,m=2 (~260 bytes a node row, 18 columns; ~35 bytes an edge row), made one at a time and written by
 * writeCsvRows as src/run/results-folder.ts writes them, gzip-compressed past 1 MiB. Prints the peak
 * process.memoryUsage().heapUsed, sampled every 1,000 rows and every 10 ms, as JSON. tsx is not installed, so
 * bundle it first:
 *
 *   npx esbuild scripts/csv-memory.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=node_modules/.cache/peerlab/csv-memory.mjs
 *   node --max-old-space-size=512 node_modules/.cache/peerlab/csv-memory.mjs [--nodes 1000000] [--edges 2000000] [--out DIR]
 */
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GZIP_ABOVE_BYTES, writeCsvRows } from '../src/util/files.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1000000' }, edges: { type: 'string', default: '2000000' }, out: { type: 'string' } } });
const nodes = Number(values.nodes);
const edges = Number(values.edges);
const dir = values.out ?? mkdtempSync(path.join(os.tmpdir(), 'peerlab-csv-memory-'));

let peak = 0;
const sample = (): void => {
  peak = Math.max(peak, process.memoryUsage().heapUsed);
};
const timer = setInterval(sample, 10);

const METRICS = ['Accept', 'ChangeRoot', 'Connect', 'Done', 'Initiate', 'Reject', 'Report', 'Test'];

function* nodeRows(): Generator<Record<string, unknown>> {
  for (let i = 0; i < nodes; i++) {
    if (i % 1_000 === 0) sample();
    const sent = Object.fromEntries(METRICS.map((name, k) => [name, (i + k) % 9]));
    yield {
      id: String(i),
      role: 'ghs',
      label: String(i),
      degree: 2 + (i % 5),
      result: JSON.stringify({ branches: [String((i * 7) % nodes), String((i * 13) % nodes)], level: i % 17, messages: i % 300, sent, terminated: true }),
      messages_sent: i % 300,
      messages_received: i % 290,
      bytes_sent: (i % 300) * 29,
      registered_ms: 0,
      connected_ms: 0,
      start_lag_ms: 0,
      ...Object.fromEntries(METRICS.map((name) => [`metric_msg_${name}`, sent[name]])),
    };
  }
}

function* edgeRows(): Generator<Record<string, unknown>> {
  for (let i = 0; i < edges; i++) {
    if (i % 1_000 === 0) sample();
    yield { source: String(i % nodes), target: String((i * 31) % nodes), weight: i * 97 + 1, messages_forward: 1, bytes_forward: 14, messages_backward: 1, bytes_backward: 38 };
  }
}

const started = performance.now();
sample();
const before = peak;
const files: Record<string, number> = {};
for (const [name, rows] of [['nodes.csv', nodeRows], ['edges.csv', edgeRows]] as const) {
  const written = await writeCsvRows(path.join(dir, name), rows(), Object.keys(rows().next().value ?? {}), { gzipAbove: GZIP_ABOVE_BYTES });
  files[path.basename(written)] = statSync(written).size;
}
clearInterval(timer);
sample();
console.log(JSON.stringify({ nodes, edges, dir, files, heapUsedBeforeBytes: before, peakHeapUsedBytes: peak, seconds: Math.round(performance.now() - started) / 1000 }));
