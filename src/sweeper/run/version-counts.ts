import type { MigratedBatch } from '../batch.js';
import { idKey, type NewFailure } from '../failures.js';

/** What became of a swept document. */
export type VersionOutcome = 'migrated' | 'skipped' | 'failed' | 'lossy';

/** Counts of one stored version (`null`: documents without a version field; `undefined`: not known). */
export interface VersionCount {
  readonly fromVersion: number | null | undefined;
  readonly counts: Readonly<Record<VersionOutcome, number>>;
}

/**
 * A run's counts by the version documents were stored at, since they were last taken: what
 * telemetry reports per batch (`molt.from_version`). The totals are the tally's.
 */
export class VersionCounts {
  readonly #counts = new Map<number | null | undefined, Record<VersionOutcome, number>>();

  add(fromVersion: number | null | undefined, outcome: VersionOutcome, count: number): void {
    if (count <= 0) return;
    let counts = this.#counts.get(fromVersion);
    if (counts === undefined) this.#counts.set(fromVersion, (counts = { migrated: 0, skipped: 0, failed: 0, lossy: 0 }));
    counts[outcome] += count;
  }

  /** The counts since the last call; clears them. */
  take(): VersionCount[] {
    const taken = [...this.#counts].map(([fromVersion, counts]) => ({ fromVersion, counts }));
    this.#counts.clear();
    return taken;
  }
}

/**
 * Splits a client batch's outcome by stored version. Failures and lossy documents are known one by
 * one; so are the writes sent, but the server says only how many compare-and-swaps matched: the
 * lost races (rare) are charged to the versions with the most writes first, so that a batch of one
 * version (the usual case) is exact and the totals always are. Documents already at the target
 * when read are skipped at `targetVersion`. `countLost: false` leaves the lost races uncounted, for
 * a caller that drives them again and counts those it gives up on.
 */
export function countClientBatch(into: VersionCounts, batch: MigratedBatch, failures: readonly NewFailure[], writeFailures: readonly NewFailure[], matched: number, targetVersion: number, countLost = true): void {
  for (const failure of failures) into.add(failure.fromVersion, 'failed', 1);
  // The _id keys are looked up only where a batch has lossy documents or refused writes (rare).
  if (batch.lossyIds.length > 0) {
    const versionOf = new Map<string, number | null>();
    for (const write of batch.writes) versionOf.set(idKey(write.id), write.fromVersion);
    for (const failure of failures) versionOf.set(idKey(failure.documentId), failure.fromVersion);
    for (const id of batch.lossyIds) into.add(versionOf.get(idKey(id)) ?? null, 'lossy', 1);
  }
  const refused = new Set(writeFailures.map((failure) => idKey(failure.documentId)));
  const sent = new Map<number | null, number>();
  for (const write of batch.writes) if (refused.size === 0 || !refused.has(idKey(write.id))) sent.set(write.fromVersion, (sent.get(write.fromVersion) ?? 0) + 1);
  let lost = [...sent.values()].reduce((sum, count) => sum + count, 0) - matched;
  for (const [fromVersion, count] of [...sent].sort((a, b) => b[1] - a[1])) {
    const charged = Math.min(count, Math.max(0, lost));
    lost -= charged;
    into.add(fromVersion, 'migrated', count - charged);
    if (countLost) into.add(fromVersion, 'skipped', charged);
  }
  into.add(targetVersion, 'skipped', batch.unchangedIds.length);
}
