/**
 * An error the user can act on: one line saying what is wrong, and a hint saying how to fix it.
 * Commands print it as `error: <message> — <hint>` and exit non-zero; anything else is a bug
 * and is printed with its stack.
 */
export class PeerlabError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PeerlabError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }

  /** The single line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }
}
