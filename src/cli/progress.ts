import { MultiBar, Presets } from 'cli-progress';

/** Two bars on stderr while nodes come up: containers started, and nodes registered with channels connected. */
export class StartupProgress {
  private readonly bars: MultiBar | undefined;
  private started: ReturnType<MultiBar['create']> | undefined;
  private ready: ReturnType<MultiBar['create']> | undefined;

  constructor(enabled: boolean) {
    this.bars = enabled
      ? new MultiBar(
          { format: ' {label} {bar} {value}/{total} {duration_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
          Presets.shades_classic,
        )
      : undefined;
  }

  onStarted = (started: number, total: number): void => {
    this.started ??= this.bars?.create(total, 0, { label: 'containers started' });
    this.started?.update(started);
  };

  onReady = (ready: number, total: number): void => {
    this.ready ??= this.bars?.create(total, 0, { label: 'nodes connected   ' });
    this.ready?.update(ready);
  };

  stop(): void {
    this.bars?.stop();
  }
}
