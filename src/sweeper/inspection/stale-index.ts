import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import { definitionOf } from '../../schema/definition.js';
import { databaseOf, serverCapabilities } from '../../server/index.js';
import { checkCollection } from '../arguments.js';
import { ensureStaleIndex, staleIndexKey, staleIndexState, type StaleIndexState } from '../stale.js';
import type { SweepableSchema } from '../run/sweep.js';

export type { StaleIndexState } from '../stale.js';

/**
 * Builds the stale-version index `{ <versionField>: 1, _id: 1 }` a sweep needs, and nothing else
 * (`molt sweep --build-index`): at a quiet hour, apart from the first sweep, which builds it
 * otherwise. Unique only where the server needs it (see `sweep`). Resolves to the index's state
 * before the build and how long the build took (`built: false`: it existed). @public
 */
export async function buildStaleIndex<T extends Document>(
  collection: Collection<T>,
  schema: SweepableSchema,
  options: { readonly logger?: Logger | undefined } = {},
): Promise<StaleIndexState & { readonly collection: string; readonly built: boolean; readonly ms: number }> {
  const raw = checkCollection(collection);
  const { versionField } = definitionOf(schema);
  const before = await staleIndexState(raw, versionField);
  const log = options.logger?.child({ collection: raw.collectionName });
  if (before.present) return { ...before, collection: raw.collectionName, built: false, ms: 0 };
  const capabilities = await serverCapabilities(databaseOf(raw));
  const started = Date.now();
  log?.info({ index: staleIndexKey(versionField), documents: before.documents, bytes: before.bytes }, 'building the stale-version index');
  await ensureStaleIndex(raw, versionField, capabilities.uniqueStaleIndex);
  const ms = Date.now() - started;
  log?.info({ index: staleIndexKey(versionField), ms }, 'stale-version index built');
  return { ...before, collection: raw.collectionName, built: true, ms };
}
