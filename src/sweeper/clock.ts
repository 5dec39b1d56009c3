import { MAX_TIMER_MS } from '../migrate/index.js';

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

/**
 * A signal that aborts with `reason` once `ms` of real time have passed, or `undefined` for a clock
 * other than the system clock (a test's manual clock: no real time to cut operations off at).
 * `cancel` clears the timer.
 */
export function realTimeLimit(clock: SweepClock, ms: number, reason: () => unknown): { readonly signal: AbortSignal; cancel(): void } | undefined {
  // Past setTimeout's limit (about 24.8 days) Node fires after 1 ms: such a budget is no limit.
  if (clock !== systemClock || !Number.isFinite(ms) || ms > MAX_TIMER_MS) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), Math.max(0, ms));
  timer.unref();
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
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
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      signal?.addEventListener('abort', done, { once: true });
    });
  },
});
