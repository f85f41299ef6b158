import path from 'node:path';
import { build } from 'esbuild';
import { escapeHtml } from '../report/html.js';
import { packageRoot } from '../util/paths.js';

let bundled: Promise<string> | undefined;

/** The page script with sigma.js and graphology bundled in by esbuild, from node_modules (no network); made once. */
export function pageScript(): Promise<string> {
  bundled ??= build({
    entryPoints: [path.join(packageRoot, 'src', 'dashboard', 'page', 'app.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  }).then((result) => result.outputFiles[0]!.text);
  return bundled;
}

/** The page's HTML: the script and every request carry the token the page was opened with. */
export function dashboardPage(runId: string, token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(runId)} — peerlab dashboard</title>
<style>
  body { margin: 0; font: 13px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; display: grid; grid-template-columns: 1fr 380px; height: 100vh; }
  #graph { position: relative; background: #fbfcfd; border-right: 1px solid #e2e4e8; }
  aside { padding: 10px 14px; overflow-y: auto; }
  h1 { font-size: 16px; margin: 0 0 2px; } .sub { color: #666; margin: 0 0 8px; }
  #legend span { display: inline-block; margin: 2px 10px 2px 0; white-space: nowrap; } #legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
  .controls { display: flex; gap: 6px; align-items: center; margin: 8px 0; } #slider { flex: 1; }
  aside canvas { width: 100%; background: white; border: 1px solid #e2e4e8; margin: 4px 0; }
  pre { white-space: pre-wrap; background: #f6f7f9; border: 1px solid #e2e4e8; padding: 6px; font-size: 12px; }
</style>
</head>
<body>
<div id="graph"></div>
<aside>
  <h1 id="title">${escapeHtml(runId)}</h1>
  <p class="sub"><span id="status">connecting…</span> · <span id="clock"></span> · <span id="positions"></span></p>
  <div id="legend"></div>
  <div class="controls"><button id="play">▶ play</button><select id="speed" title="frames per second"><option>5</option><option selected>20</option><option>60</option></select><input id="slider" type="range" min="0" max="0" value="0"><button id="live">latest</button></div>
  <canvas id="chart-messages" width="350" height="90"></canvas>
  <canvas id="chart-done" width="350" height="90"></canvas>
  <label>metric <select id="metric"></select></label>
  <canvas id="chart-metric" width="350" height="90"></canvas>
  <pre id="notes"></pre>
  <p class="sub">Click a node for its state, result, messages and last log lines.</p>
  <pre id="node" hidden></pre>
</aside>
<script src="app.js?token=${encodeURIComponent(token)}"></script>
</body>
</html>
`;
}
