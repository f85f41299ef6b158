import { z } from 'zod';
import { directedLink } from '../links/edges.js';
import { MAX_LISTED_FAILURES, parseResults, type Oracle } from './types.js';

const bulkResult = z.object({
  sentBytes: z.record(z.string(), z.number()).optional(),
  receivedBytes: z.number().optional(),
  throughputBps: z.number().nullable().optional(),
});

/** The accuracy bound for a rate, at either layer: a measured throughput within ±10 % of it. */
export const RATE_TOLERANCE = 0.1;

/**
 * The bulk transfer against the links it was given. Every byte must arrive: the source says it sent the whole
 * transfer to each neighbour, and each neighbour got exactly that much. Each edge from the source with a `rate`
 * must also measure it within ±RATE_TOLERANCE. The throughput counts payload bytes, so the packet layer's
 * headers (TCP/IP, HTTP/2, the envelope) show up as a few percent below the rate.
 * An edge without a rate is measured but not judged. So is an edge with loss: TCP under loss does not reach the
 * rate, and at the message layer each lost segment costs a retransmission timeout.
 */
export const verifyBulk: Oracle = ({ graph, results, params }) => {
  const source = String(params.source ?? '0');
  const chunkBytes = Number(params.chunkBytes ?? 16_000);
  // Derived from the parameters as the algorithm derives it (whole chunks), on purpose: taking the size from the
  // source's own report would let a source that sends too little, and says so, pass.
  const expectedBytes = Math.ceil((Number(params.megabytes ?? 2) * 1e6) / chunkBytes) * chunkBytes;
  const { reported, failures } = parseResults(graph, results, bulkResult, '{sentBytes} at the source, {receivedBytes, throughputBps} at its neighbours');
  const sent = reported.get(source)?.sentBytes ?? {};
  const throughput: Record<string, number> = {};
  const rates: Record<string, number> = {};
  let judged = 0;
  let worstError = 0;
  for (const neighbour of graph.neighbors(source)) {
    if (sent[neighbour] !== expectedBytes) failures.push(`edge ${source}→${neighbour}: the source reports ${sent[neighbour] ?? 0} of ${expectedBytes} bytes sent`);
    const received = reported.get(neighbour);
    if (received?.receivedBytes !== expectedBytes) {
      failures.push(`edge ${source}→${neighbour}: node ${neighbour} reports ${received?.receivedBytes ?? 0} of ${expectedBytes} bytes received`);
      continue;
    }
    if (received.throughputBps === null || received.throughputBps === undefined) continue;
    const edge = `${source}->${neighbour}`;
    throughput[edge] = received.throughputBps;
    const link = directedLink(graph, source, neighbour);
    if (!link || link.rateBps === null || link.lossPercent > 0) continue;
    rates[edge] = link.rateBps;
    judged++;
    const error = received.throughputBps / link.rateBps - 1;
    worstError = Math.max(worstError, Math.abs(error));
    if (Math.abs(error) > RATE_TOLERANCE) {
      failures.push(
        `edge ${source}→${neighbour}: ${formatBps(received.throughputBps)} measured against a rate of ${formatBps(link.rateBps)} (${(error * 100).toFixed(1)} %, allowed ±${RATE_TOLERANCE * 100} %)`,
      );
    }
  }
  const edges = graph.degree(source);
  const passed = failures.length === 0;
  const unjudged = edges - judged;
  return {
    passed,
    summary: passed
      ? [
          `${edges} transfer(s) of ${expectedBytes} bytes arrived whole`,
          ...(judged > 0 ? [`${judged} edge(s) within ±${RATE_TOLERANCE * 100} % of their rate (worst ${(worstError * 100).toFixed(1)} %)`] : []),
          ...(unjudged > 0 ? [`${unjudged} without a rate or with loss: throughput measured, not judged`] : []),
        ].join('; ')
      : `bulk failed on ${failures.length} point(s): ${failures[0]}`,
    expected: rates,
    actual: throughput,
    metrics: {
      transfers: edges,
      judgedEdges: judged,
      worstRateErrorPercent: worstError * 100,
      ...(Object.keys(throughput).length > 0 && { slowestThroughputBps: Math.min(...Object.values(throughput)) }),
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

function formatBps(bps: number): string {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${(bps / 1e3).toFixed(1)} kbit/s`;
}
