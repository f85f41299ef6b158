import { Command } from '@oclif/core';
import { PeerlabError } from '../errors.js';

/**
 * Every peerlab command: `--json` prints the value returned by run() as one object on stdout,
 * and a PeerlabError becomes a single `error: …` line on stderr with a non-zero exit.
 */
export abstract class PeerlabCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (error instanceof PeerlabError) {
      process.stderr.write(`error: ${error.line}\n`);
      if (this.jsonEnabled()) this.logJson({ error: { message: error.message, hint: error.hint } });
      this.exit(error.exitCode);
    }
    return super.catch(error);
  }

  /** A progress or status line for people; silent under --json so stdout stays one JSON object. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`);
  }
}
