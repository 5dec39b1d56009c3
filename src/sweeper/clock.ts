/**
 * Time as the sweeper sees it: throttling, backoff and the time budget read `now` and wait with
 * `sleep`. Tests pass a manual clock; the default is the system clock.
 * @public
 */
export interface SweepClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms` milliseconds, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The system clock: `performance.now()` and `setTimeout`. @public */
export const systemClock: SweepClock = Object.freeze({
  now: () => performance.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  },
});
