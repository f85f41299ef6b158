/**
 * Ctrl-C (or SIGTERM) during a command that creates Docker objects: run the cleanup once, then exit 130.
 * Returns the function that removes the handler when the command finishes normally.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  const handler = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    void cleanup()
      .catch((error: unknown) => process.stderr.write(`cleanup after the interrupt failed: ${String(error)}\n`))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
