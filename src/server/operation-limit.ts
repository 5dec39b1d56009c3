/**
 * A limit on how long the driver may keep an operation: the `signal` it carries (the driver's own
 * `timeoutMS` does nothing in mongodb 7). When it aborts, the operation stops at once, wherever it
 * waits (server selection, a pooled connection, a reply that never comes: that socket is closed),
 * and rejects with the signal's reason.
 */

/** What bounds each operation; read at every call, so that its owner can swap the signal. */
export interface OperationLimit {
  readonly signal: AbortSignal | undefined;
}

/** `options` with the limit's signal, for any driver call (every operation honours `signal`). */
export function limited<T extends object>(options: T, limit: OperationLimit | undefined): T {
  const signal = limit?.signal;
  return signal === undefined ? options : ({ ...options, signal } as T);
}

/**
 * Waits for `pending` until the limit aborts, then rejects with its reason: for the calls that do
 * not take the signal to the wire (a cursor's getMore carries none). The abandoned call settles
 * on its own when its connection does.
 */
export function untilLimit<T>(pending: Promise<T>, limit: OperationLimit | undefined): Promise<T> {
  const signal = limit?.signal;
  if (signal === undefined) return pending;
  if (signal.aborted) {
    pending.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/** The reason a limit aborts with: the time budget ran out while an operation was still running. */
export class TimeBudgetSpentError extends Error {
  /** The budget, in ms. */
  readonly budgetMs: number;

  constructor(budgetMs: number) {
    super(`the time budget (${budgetMs} ms) ran out while an operation was still running: it was cut off; the next run resumes at the checkpoint`);
    this.budgetMs = budgetMs;
  }
}
// On the prototype, not an own field: the driver copies own fields of the reason onto its own errors
// (a bulk write's), whose `name` is a getter.
Object.defineProperty(TimeBudgetSpentError.prototype, 'name', { value: 'TimeBudgetSpent', enumerable: false, writable: false });
