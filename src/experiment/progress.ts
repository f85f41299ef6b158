import { MultiBar, Presets } from 'cli-progress';
import { remainingSeconds } from './estimate.js';
import type { ExecuteHooks, StageName } from './execute.js';
import type { PlannedRun } from './expand.js';
import { formatDuration } from './format.js';
import { STATUS_OUTCOME, type RunOutcome } from './store.js';
import { OUTCOME_MARK } from '../verify/index.js';

/**
 * The experiment's progress on stderr: one bar over the runs with the current run, its stage (creating,
 * starting n/N, registered n/N, running, verifying, tearing down), the elapsed time and an ETA. Without a
 * terminal it prints one line per finished run instead.
 */
export class ExperimentProgress {
  private readonly bars: MultiBar | undefined;
  private bar: ReturnType<MultiBar['create']> | undefined;
  private readonly began = Date.now();
  private runBegan = Date.now();
  private current: PlannedRun | undefined;
  private stage = '';
  private done = 0;
  private readonly finished: Array<{ estimated: number; actual: number }> = [];
  private readonly pending: Map<string, number>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      /** Draw a bar (a terminal, and not --json). */
      readonly bar: boolean;
      /** Print a line per run when there is no bar (not under --json). */
      readonly lines: boolean;
      readonly runs: readonly PlannedRun[];
      /** Estimated seconds per run key. */
      readonly estimates: ReadonlyMap<string, number>;
      readonly write: (line: string) => void;
    },
  ) {
    this.pending = new Map(options.runs.map((run) => [run.key, options.estimates.get(run.key) ?? 0]));
    this.bars = options.bar
      ? new MultiBar(
          {
            format: ' {bar} {value}/{total} runs │ {run} │ {stage} │ {clock} elapsed │ ETA {left}',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            stream: process.stderr,
            barsize: 24,
          },
          Presets.shades_classic,
        )
      : undefined;
  }

  readonly hooks: ExecuteHooks = {
    onSkip: (run) => {
      this.pending.delete(run.key);
      this.done++;
    },
    onRunStart: (run) => {
      this.current = run;
      this.runBegan = Date.now();
      this.stage = 'creating';
      if (this.bars && !this.bar) {
        this.bar = this.bars.create(this.options.runs.length, this.done, this.payload());
        this.timer = setInterval(() => this.redraw(), 1000);
        this.timer.unref();
      }
      this.redraw();
    },
    onStage: (_run, stage: StageName, detail) => {
      this.stage = detail && stage === 'creating' ? `creating (${detail})` : stage;
      this.redraw();
    },
    onStarted: (_run, started, total) => {
      this.stage = `starting ${started}/${total}`;
      this.redraw();
    },
    onReady: (_run, ready, total) => {
      this.stage = `registered ${ready}/${total}`;
      this.redraw();
    },
    onRunEnd: (run, outcome) => {
      const estimated = this.pending.get(run.key) ?? 0;
      this.pending.delete(run.key);
      this.finished.push({ estimated, actual: outcome.durationMs / 1000 });
      this.done++;
      this.current = undefined;
      this.stage = '';
      const line = `[${this.done}/${this.options.runs.length}] ${describeOutcome(run, outcome)}`;
      if (this.bars) this.bars.log(`${line}\n`);
      else if (this.options.lines) this.options.write(line);
      this.redraw();
    },
  };

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.redraw();
    this.bars?.stop();
  }

  private redraw(): void {
    this.bar?.update(this.done, this.payload());
  }

  private payload(): Record<string, string> {
    const now = Date.now();
    const inRun = this.current ? (now - this.runBegan) / 1000 : 0;
    const left = Math.max(0, remainingSeconds(this.finished, [...this.pending.values()]) - inRun);
    return {
      run: this.current ? `${this.current.key} ${this.current.cell.label} seed ${this.current.seed}` : '—',
      stage: this.current ? `${this.stage} ${formatDuration(inRun)}` : 'done',
      clock: formatDuration((now - this.began) / 1000),
      left: this.pending.size === 0 ? '0 s' : formatDuration(left),
    };
  }
}

export function describeOutcome(run: PlannedRun, outcome: RunOutcome): string {
  const mark = outcome.status === 'error' ? '⚠ ERROR' : OUTCOME_MARK[STATUS_OUTCOME[outcome.status]];
  return `${mark}  ${run.key} ${run.cell.label} seed ${run.seed} (${formatDuration(outcome.durationMs / 1000)}): ${outcome.verdict}`;
}
