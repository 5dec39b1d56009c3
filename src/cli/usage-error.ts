import { MoltError } from '../errors.js';

/** A wrong command line: unknown command, flag or value. The CLI exits with code 2. */
export class UsageError extends MoltError {
  override name = 'UsageError' as const;
  /** The command whose help to point to, when there is one. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}
