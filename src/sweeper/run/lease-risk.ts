import type { ResolvedSweepOptions } from '../options.js';

/**
 * Whether a rate and batch size make one batch take longer than the lease (`batchSize /
 * ratePerSecond` against `leaseMs`), in words, or `undefined`. A warning, not a refusal: the
 * heartbeat renews the lease every third of `leaseMs` while the process lives, however long a
 * batch takes; but a run that stalls (a write that hangs, a paused VM or container, an event loop
 * blocked by a slow upcaster) stops renewing it, and a batch that long then loses the lease to the
 * next run before it can save its checkpoint.
 */
export function leaseRisk(options: Pick<ResolvedSweepOptions, 'batchSize' | 'ratePerSecond' | 'leaseMs'>): string | undefined {
  const { batchSize, ratePerSecond, leaseMs } = options;
  if (!Number.isFinite(ratePerSecond)) return undefined;
  const batchMs = (batchSize / ratePerSecond) * 1000;
  if (batchMs <= leaseMs) return undefined;
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
  return `a batch of ${batchSize} documents at ${ratePerSecond} a second takes ${seconds(batchMs)}, longer than the lease (${seconds(leaseMs)}): ` +
    'the heartbeat keeps the lease while this process lives, but a run that stalls loses it to the next run mid-batch; ' +
    `lower the batch size (--batch-size ${Math.max(1, Math.floor((ratePerSecond * leaseMs) / 2000))}) or raise the lease (--lease ${Math.ceil((batchMs * 2) / 1000)}s)`;
}
