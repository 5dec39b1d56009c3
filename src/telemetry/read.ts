import type { Attributes } from '@opentelemetry/api';
import { instruments } from './instruments.js';

/** The read path's counters, as `versioned()` keeps them (`stats`). */
export interface ReadCounts {
  migratedOnRead: number;
  writtenBack: number;
}

/**
 * Makes the read path's counters also count in OpenTelemetry: increments of `migratedOnRead`
 * add to `molt.read.upcasts`, of `writtenBack` to `molt.read.write_backs` (summed and added at
 * the end of the current job, before any timer or I/O callback runs).
 * The stats object stays the one owner of those counts; without `@opentelemetry/api` it is
 * returned untouched (no cost at all).
 */
export function observeReadCounts<T extends ReadCounts>(stats: T, where: { readonly db: string; readonly collection: string; readonly schema: string }): T {
  if (instruments() === undefined) return stats;
  const attributes: Attributes = { 'db.namespace': where.db, 'db.collection.name': where.collection, 'molt.schema': where.schema };
  let upcasts = stats.migratedOnRead;
  let writtenBack = stats.writtenBack;
  // Added once per turn of the event loop, not per document: a find of 5,000 stale documents makes one call.
  let pending = { upcasts: 0, writtenBack: 0 };
  let scheduled = false;
  const record = (): void => {
    scheduled = false;
    const otel = instruments();
    if (pending.upcasts > 0) otel?.readUpcasts.add(pending.upcasts, attributes);
    if (pending.writtenBack > 0) otel?.readWriteBacks.add(pending.writtenBack, attributes);
    pending = { upcasts: 0, writtenBack: 0 };
  };
  const later = (): void => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(record);
  };
  Object.defineProperties(stats, {
    migratedOnRead: {
      enumerable: true,
      get: () => upcasts,
      set: (value: number) => {
        if (value > upcasts) {
          pending.upcasts += value - upcasts;
          later();
        }
        upcasts = value;
      },
    },
    writtenBack: {
      enumerable: true,
      get: () => writtenBack,
      set: (value: number) => {
        if (value > writtenBack) {
          pending.writtenBack += value - writtenBack;
          later();
        }
        writtenBack = value;
      },
    },
  });
  return stats;
}
