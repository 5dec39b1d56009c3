/** Exit codes a cron wrapper can act on. @public */
export const ExitCode = Object.freeze({
  /** Done. */
  OK: 0,
  /** Documents failed to migrate, verification failed, or an error stopped the command. */
  FAILURES: 1,
  /** Wrong command line or configuration. */
  USAGE: 2,
  /** Partial: the time budget was spent, another run holds the lease, the run was interrupted, or the collection is paused. */
  PARTIAL: 3,
  /** The server could not be used: it cannot be reached, refused the credentials, or stopped answering. */
  INFRASTRUCTURE: 4,
} as const);
/** @public */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where the CLI reads and writes: the process's, or a test's. @public */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Whether stderr is a terminal: a progress bar there, else pino JSON lines. */
  readonly interactive: boolean;
  /** Terminal width for the progress bar. */
  readonly columns?: number | undefined;
  /** Whether stdout is a terminal: `molt status` draws its version census as bars there (see `censusStyle`). */
  readonly stdoutTerminal?: boolean | undefined;
  /** Terminal width of stdout, for those bars. */
  readonly stdoutColumns?: number | undefined;
  /** Aborted on SIGINT/SIGTERM: the sweep stops between batches. */
  readonly signal?: AbortSignal | undefined;
}


/** Errors of the server or the way to it (cannot connect, credentials refused, no answer), as opposed to the data's. */
const INFRASTRUCTURE_ERRORS = new Set(['MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoTopologyClosedError', 'MongoNotConnectedError', 'TimeBudgetSpentError']);
/** Server codes for refused credentials and privileges: AuthenticationFailed, Unauthorized. */
const AUTH_CODES = new Set([18, 13]);

/** Whether an error is the infrastructure's (exit 4) rather than the data's or the command's (exit 1). */
export function isInfrastructureError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return (typeof name === 'string' && INFRASTRUCTURE_ERRORS.has(name)) || (typeof code === 'number' && AUTH_CODES.has(code));
}
