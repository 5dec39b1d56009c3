import { codeOf } from './error-code.js';

/** Server error codes that say "try again later": the server is busy, stepping down, or shutting down. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  16500, // request rate too large (Cosmos DB's MongoDB API)
]);

const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
]);

/** Node's own socket errors, which the driver lets through unwrapped on some paths (a write to a reset connection). */
const TRANSIENT_SYSTEM_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT']);

const TRANSIENT_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool'] as const;

/**
 * PostgreSQL's own "try again" (a deadlock between two writers, a serialization failure), which
 * FerretDB 2 / DocumentDB passes on as a generic error with its message.
 */
const TRANSIENT_MESSAGES = /deadlock detected|could not serialize access/i;

/** Whether one document's write error (in a bulk write) says "try again" rather than "this document cannot be stored". */
export function isTransientMessage(message: string | undefined): boolean {
  return message !== undefined && TRANSIENT_MESSAGES.test(message);
}

/**
 * Whether an error from the driver is worth retrying after a pause: network errors, server
 * selection timeouts, and server errors that say the server is busy or changing primaries.
 * Duck-typed, so a driver copy other than ours is recognised too.
 */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown; hasErrorLabel?: unknown };
  if (typeof candidate.name === 'string' && TRANSIENT_NAMES.has(candidate.name)) return true;
  const code = codeOf(error);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  if (typeof candidate.code === 'string' && TRANSIENT_SYSTEM_CODES.has(candidate.code)) return true;
  if (isTransientMessage((error as { message?: string }).message)) return true;
  if (typeof candidate.hasErrorLabel === 'function') {
    const hasLabel = candidate.hasErrorLabel as (label: string) => boolean;
    return TRANSIENT_LABELS.some((label) => hasLabel.call(error, label));
  }
  return false;
}
