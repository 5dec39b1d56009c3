import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import { systemClock } from '../clock.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { SweepState } from '../state.js';
import type { RunCalls } from './run-calls.js';

/** How long the lease release may take once the budget is spent (or the server stopped answering). */
export const RELEASE_TIMEOUT_MS = 2_000;

/**
 * Extends the lease every third of `leaseMs` while the run holds it: a batch slowed by a low
 * rate (500 documents at 5 a second take 100 s) must not let a 60 s lease expire under it, and
 * a second run take over. The save after each batch still renews it too, and still finds out
 * when it was lost. A heartbeat that fails is logged; the next one tries again. One renewal at a
 * time: a beat while the previous renewal still waits for its answer (a server that stopped
 * answering) sends nothing, rather than piling up a renewal, a connection and an abort listener
 * per beat on a server already in trouble. Returns the timer to clear, or `undefined` under a
 * test's clock (whose time does not pass by itself).
 */
export function startHeartbeat(state: Pick<SweepState, 'heartbeat'>, options: Pick<ResolvedSweepOptions, 'clock' | 'leaseMs'>, log: Logger | undefined): NodeJS.Timeout | undefined {
  if (options.clock !== systemClock) return undefined;
  const everyMs = Math.max(50, Math.floor(options.leaseMs / 3));
  let renewing = false;
  const heartbeat = setInterval(() => {
    if (renewing) return;
    renewing = true;
    state.heartbeat().then(
      (held) => {
        if (!held) log?.warn('lease heartbeat: another run holds the lease');
      },
      (error: unknown) => log?.warn({ error: describeError(error).name }, 'lease heartbeat failed: retrying at the next beat'),
    ).finally(() => {
      renewing = false;
    });
  }, everyMs);
  heartbeat.unref();
  return heartbeat;
}

/**
 * Releases the lease (`release`, retried), or logs that it could not: a release that fails must
 * not change the run's report, and the lease then expires on its own after leaseMs.
 */
export async function releaseOrLetExpire(calls: Pick<RunCalls, 'retry'>, release: () => Promise<unknown>, log: Logger | undefined): Promise<void> {
  try {
    await calls.retry(release);
  } catch (error) {
    log?.error({ error: describeError(error) }, 'could not release the lease: it expires on its own');
  }
}
