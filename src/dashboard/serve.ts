import type { Dashboard } from './server.js';

/** After the run: the page stays up for looking and replaying until Ctrl-C (or SIGTERM), then closes. */
export async function serveUntilInterrupted(dashboard: Dashboard, note: (line: string) => void): Promise<void> {
  note(`dashboard: still serving ${dashboard.url} — press Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboard.close();
}
