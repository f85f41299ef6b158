import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { algorithmRunFlags, runOptionFlags, unshapedSimulatorFlags } from '../../cli/run-flags.js';
import { runRequestFrom, timeoutMsFrom } from '../../cli/run-request.js';
import { benchFrameTime, type FrameTimeSample } from '../../bench/frame-time.js';
import { PeerlabError } from '../../errors.js';
import { hostFacts } from '../../util/host.js';
import { peerlabVersion } from '../../util/version.js';

const { seed, weights, param, delay } = runOptionFlags;
const { timeout, results } = algorithmRunFlags;

export default class BenchFrameTime extends PeerlabCommand {
  static override description =
    "Measure the dashboard page's frame time in headless Chromium: runs the algorithm on ba:n=N,m=M in the simulator with --ui, plays the replay at --fps and records every animation frame's interval (p50, p95, p99, max), what applying a frame and a sigma.js render cost, and the messages per second drawn.";

  static override examples = ['<%= config.bin %> bench frame-time --nodes 1000 --algorithm push-sum --json'];

  static override flags = {
    algorithm: Flags.string({ char: 'a', default: 'push-sum', description: 'an algorithm name (see `peerlab algorithms list`) or a .ts file' }),
    nodes: Flags.integer({ default: 1000, description: 'nodes of the topology ba:n=N,m=M' }),
    m: Flags.integer({ default: 2, description: 'Barabási–Albert attachment' }),
    fps: Flags.string({ default: '20', options: ['5', '20', '60'], description: 'replay speed, in frames per second (the page’s own choices)' }),
    seed,
    weights,
    param,
    delay,
    timeout,
    results,
  };

  async run(): Promise<{ schema: string; peerlab: typeof peerlabVersion; host: ReturnType<typeof hostFacts>; createdAt: string; samples: FrameTimeSample[] }> {
    const { flags } = await this.parse(BenchFrameTime);
    if (flags.nodes <= flags.m) throw new PeerlabError(`--nodes ${flags.nodes} must be above m=${flags.m}`, { hint: 'e.g. --nodes 1000' });
    const createdAt = new Date().toISOString();
    const { request, during } = runRequestFrom(
      { ...flags, ...unshapedSimulatorFlags, runtime: 'sim', 'allow-disconnected': false, topology: `ba:n=${flags.nodes},m=${flags.m}` },
      { algorithm: flags.algorithm, timeoutMs: timeoutMsFrom(flags.timeout), resultsRoot: flags.results, json: this.jsonEnabled(), note: (line) => this.note(line) },
    );
    const sample = await during(benchFrameTime({ request: { ...request, command: ['bench', 'frame-time', ...this.argv] }, fps: Number(flags.fps) }));
    const { frameTimeMs: frame, applyMs: apply } = sample;
    this.log(
      `N=${sample.nodes}  ${sample.messages.toLocaleString('en-US')} messages in ${sample.frames} frames, played at ${sample.fps} fps in ${(sample.playbackMs / 1000).toFixed(1)} s: ` +
        `${Math.round(sample.messagesPerSecond.playback).toLocaleString('en-US')} messages/s drawn (peak shown ${Math.round(sample.messagesPerSecond.peakShown).toLocaleString('en-US')}/s)`,
    );
    this.log(
      `        frame time p50 ${frame.p50.toFixed(1)} ms · p95 ${frame.p95.toFixed(1)} ms · p99 ${frame.p99.toFixed(1)} ms · max ${frame.max.toFixed(1)} ms (${frame.count} frames, ${frame.over50ms} over 50 ms; ` +
        `idle page p50 ${sample.idleFrameTimeMs.p50.toFixed(1)} ms) · ${sample.framesShown} of ${sample.frames} frames drawn · apply p50 ${apply.p50.toFixed(1)} ms p95 ${apply.p95.toFixed(1)} ms · render (JS) p50 ${sample.renderMs.p50.toFixed(1)} ms`,
    );
    return { schema: 'peerlab.bench.frame-time/1', peerlab: peerlabVersion, host: hostFacts(), createdAt, samples: [sample] };
  }
}
