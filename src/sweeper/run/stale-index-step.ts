import type { ServerCapabilities } from '../../server/index.js';
import { ensureStaleIndex, hasStaleIndex, staleIndexKey } from '../stale.js';
import type { RunContext } from './context.js';

/**
 * The index that serves the stale filter: built by the first real run that finds stale documents
 * (no stale documents, no index: a collection that does not exist is not created), and said so,
 * since on a large collection it is the run's costliest step; a dry run says it would build it.
 * The report's `staleIndex` says which.
 */
export async function prepareStaleIndex({ collection, target, options, tally, calls, log }: RunContext, capabilities: ServerCapabilities): Promise<void> {
  const { versionField } = target;
  const key = staleIndexKey(versionField);
  const present = await calls.retry(() => hasStaleIndex(collection, versionField, calls.limit));
  if (present || tally.remaining === 0) {
    tally.staleIndex = present ? 'present' : 'missing';
    return;
  }
  if (options.dryRun) {
    tally.staleIndex = 'missing';
    log?.info({ index: key }, 'a real run would first build the stale-version index (molt sweep --build-index builds it alone)');
    return;
  }
  const started = Date.now();
  log?.info({ index: key, unique: capabilities.uniqueStaleIndex }, 'building the stale-version index: once, before the first batch');
  await calls.retry(() => ensureStaleIndex(collection, versionField, capabilities.uniqueStaleIndex, calls.limit));
  tally.staleIndex = 'built';
  log?.info({ index: key, ms: Date.now() - started }, 'stale-version index built');
}
