import type { Attributes } from '@opentelemetry/api';
import { instruments } from './instruments.js';

/** The read path's counters, as `versioned()` keeps them (`stats`). */
export interface ReadCounts {
  migratedOnRead: number;
  writtenBack: number;
}

/**
 * Makes the read path's counters also count in OpenTelemetry: every increment of
 * `migratedOnRead` adds to `molt.read.upcasts`, of `writtenBack` to `molt.read.write_backs`.
 * The stats object stays the one owner of those counts; without `@opentelemetry/api` it is
 * returned untouched (no cost at all).
 */
export function observeReadCounts<T extends ReadCounts>(stats: T, where: { readonly db: string; readonly collection: string; readonly schema: string }): T {
  if (instruments() === undefined) return stats;
  const attributes: Attributes = { 'db.namespace': where.db, 'db.collection.name': where.collection, 'molt.schema': where.schema };
  let upcasts = stats.migratedOnRead;
  let writtenBack = stats.writtenBack;
  Object.defineProperties(stats, {
    migratedOnRead: {
      enumerable: true,
      get: () => upcasts,
      set: (value: number) => {
        if (value > upcasts) instruments()?.readUpcasts.add(value - upcasts, attributes);
        upcasts = value;
      },
    },
    writtenBack: {
      enumerable: true,
      get: () => writtenBack,
      set: (value: number) => {
        if (value > writtenBack) instruments()?.readWriteBacks.add(value - writtenBack, attributes);
        writtenBack = value;
      },
    },
  });
  return stats;
}
