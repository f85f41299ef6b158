import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Topology } from '../topology/index.js';
import { nodePositions } from '../report/layout.js';
import type { DashboardFeed, Frame } from './feed.js';
import { dashboardPage, pageScript } from './page.js';

export interface Dashboard {
  /** The page's address, token included. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface DashboardOptions {
  readonly runId: string;
  readonly graph: Topology;
  readonly feed: DashboardFeed;
  /** `live`: frames arrive as the run goes; `replay`: the run is over and the page plays it back. */
  readonly mode: 'live' | 'replay';
  /** The unit of the frames' times, for the page's axis. */
  readonly timeUnit: 'ms' | 'virtual ms';
  /** 0 (the default): any free port. */
  readonly port?: number;
}

/**
 * Serves the dashboard on 127.0.0.1 only. Every request must carry the random token the URL was printed with
 * (as ?token=…): without it the answer is 403, so another user of the machine cannot watch or probe the run.
 * Frames go to the page as server-sent events: first the ones so far, then each as it closes.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const token = randomBytes(18).toString('base64url');
  const script = await pageScript();
  const graphJson = JSON.stringify(graphForPage(options));
  const streams = new Set<ServerResponse>();

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!tokenMatches(url.searchParams.get('token'), token)) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('403: this dashboard needs the token of the URL peerlab printed\n');
      return;
    }
    route(url, request, response);
  });

  function route(url: URL, request: IncomingMessage, response: ServerResponse): void {
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (url.pathname === '/') {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'" });
      response.end(dashboardPage(options.runId, token));
    } else if (url.pathname === '/app.js') {
      response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (url.pathname === '/graph') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(graphJson);
    } else if (url.pathname === '/node') {
      const details = options.feed.nodeDetails(url.searchParams.get('id') ?? '');
      response.writeHead(details ? 200 : 404, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(details ?? null));
    } else if (url.pathname === '/frames') {
      response.writeHead(200, { ...headers, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      const send = (frame: Frame | null) => response.write(frame ? `data: ${JSON.stringify(frame)}\n\n` : 'event: finished\ndata: {}\n\n');
      for (const frame of options.feed.frames) send(frame);
      if (options.feed.finished) send(null);
      const unsubscribe = options.feed.subscribe(send);
      streams.add(response);
      request.on('close', () => {
        unsubscribe();
        streams.delete(response);
      });
    } else {
      response.writeHead(404, headers).end();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    close: async () => {
      for (const stream of streams) stream.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function tokenMatches(given: string | null, token: string): boolean {
  if (given === null || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function graphForPage(options: DashboardOptions) {
  const { graph } = options;
  const { points, source } = nodePositions(graph);
  return {
    runId: options.runId,
    mode: options.mode,
    timeUnit: options.timeUnit,
    positions: source,
    nodes: graph.mapNodes((id, attributes) => ({ id, label: attributes.label ?? id, x: points.get(id)!.x, y: -points.get(id)!.y })),
    edges: graph.mapEdges((_edge, attributes, source, target) => ({ source, target, weight: attributes.weight })),
  };
}
