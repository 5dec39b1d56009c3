import type { Document } from 'mongodb';
import type { Logger } from 'pino';
import type { RangeWorker } from '../plan/worker.js';
import { SweepReason, SweepStatus } from '../status.js';
import type { CheckpointKeeper } from './checkpoint-keeper.js';
import type { RunCalls } from './run-calls.js';
import type { Outcome } from './tally.js';

/**
 * The pass of a plan's worker: claims ranges until none is left, walking each (`walk`) from its
 * checkpoint, and marks each finished. Returns the outcome that stops the worker, or `complete`
 * when no range is left to claim.
 */
export async function walkClaimedRanges(range: RangeWorker, keeper: CheckpointKeeper, walk: (filter: Readonly<Document>) => Promise<Outcome | undefined>, calls: Pick<RunCalls, 'retry'>, log: Logger | undefined): Promise<Outcome> {
  for (;;) {
    const claimed = await calls.retry(() => range.claim());
    if (claimed === undefined) return { status: SweepStatus.COMPLETE };
    keeper.lastId = claimed.lastId;
    const stopped = await walk(claimed.filter);
    if (stopped?.reason === SweepReason.LEASE_LOST) {
      // The range was taken over (this worker outlived its claim): the new owner finishes it from
      // its checkpoint; this worker goes on with another range instead of stopping.
      log?.warn({ error: stopped.error }, 'range taken over by another worker: claiming another');
      range.abandon();
      continue;
    }
    if (stopped) return stopped;
    await calls.retry(() => range.finish());
  }
}
