import { hostname } from 'node:os';
import type { Document, Collection } from 'mongodb';
import { definitionOf } from '../schema/definition.js';
import { databaseOf } from '../server/index.js';
import { checkCollection } from './arguments.js';
import { DEFAULT_STATE_COLLECTION } from './options.js';
import { stateKey, type SweepLease, type SweepStateDocument } from './state.js';
import type { SweepableSchema } from './run/sweep.js';

/**
 * What `releaseLease` found and did: `free` (no lease), `expired` (released: its run stopped
 * renewing it), `gone` (released: held by a process of this host that no longer exists), `forced`
 * (released with `force`), `held` (not released: it has not expired and its holder may be alive).
 * @public
 */
export interface LeaseReleaseReport {
  readonly collection: string;
  readonly released: boolean;
  readonly lease: 'free' | 'expired' | 'gone' | 'forced' | 'held';
  /** The lease as it was found. */
  readonly holder: SweepLease | null;
}

/**
 * Frees the sweep lease of a collection whose run is gone (`molt lease release`). A lease that
 * has not expired is released only when its holder ran on this host and its process no longer
 * exists, or with `force`: a live run renews its lease every third of `leaseMs`, and freeing it
 * lets a second run start beside it (the first stops with `LeaseLost` at its next checkpoint). On
 * another host whether the holder lives cannot be told from here: `force` is the operator's word.
 * The release is conditional on the owner found, so a lease taken meanwhile by a new run stays.
 * @public
 */
export async function releaseLease<T extends Document>(
  collection: Collection<T>,
  schema: SweepableSchema,
  options: { readonly stateCollection?: string | undefined; readonly force?: boolean | undefined } = {},
): Promise<LeaseReleaseReport> {
  const raw = checkCollection(collection);
  const states = databaseOf(raw).collection<SweepStateDocument>(options.stateCollection ?? DEFAULT_STATE_COLLECTION);
  const key = stateKey(raw.collectionName, definitionOf(schema).name);
  const holder = (await states.findOne({ _id: key }))?.lease ?? null;
  const report = (lease: LeaseReleaseReport['lease'], released: boolean): LeaseReleaseReport => ({ collection: raw.collectionName, released, lease, holder });
  if (holder === null) return report('free', false);
  const verdict = holder.expiresAt.getTime() <= Date.now() ? 'expired' : holder.host === hostname() && !processExists(holder.pid) ? 'gone' : options.force === true ? 'forced' : 'held';
  if (verdict === 'held') return report('held', false);
  await states.updateOne({ _id: key, 'lease.owner': holder.owner }, { $set: { lease: null } });
  return report(verdict, true);
}

/** Whether a process of this host exists (signal 0 checks without sending anything). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
