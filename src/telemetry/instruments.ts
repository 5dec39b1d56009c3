import type { Counter, Gauge, Histogram, MeterProvider } from '@opentelemetry/api';
import { otelApi, type OtelApi } from './api.js';

/** The instrumentation scope of every span and metric: the meter's and the tracer's name. */
export const SCOPE = 'mongo-molt';

/** Metric names (documented in the README, "Metrics and traces"). */
export const METRICS = Object.freeze({
  MIGRATED: 'molt.sweep.migrated',
  SKIPPED: 'molt.sweep.skipped',
  FAILED: 'molt.sweep.failed',
  LOSSY: 'molt.sweep.lossy',
  BATCH_DURATION: 'molt.sweep.batch.duration',
  REMAINING: 'molt.sweep.remaining',
  READ_UPCASTS: 'molt.read.upcasts',
  READ_WRITE_BACKS: 'molt.read.write_backs',
} as const);

/** Span names. */
export const SPANS = Object.freeze({ SWEEP: 'molt.sweep', BATCH: 'molt.sweep.batch' } as const);

/** Seconds: a batch takes milliseconds to minutes (the SDK's default buckets are for milliseconds). */
const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The instruments, made from one meter provider that records. */
export interface Meters {
  readonly api: OtelApi;
  readonly migrated: Counter;
  readonly skipped: Counter;
  readonly failed: Counter;
  readonly lossy: Counter;
  readonly batchDuration: Histogram;
  readonly remaining: Gauge;
  readonly readUpcasts: Counter;
  readonly readWriteBacks: Counter;
}

let cache: { readonly provider: MeterProvider; readonly meters: Meters | undefined } | undefined;

/**
 * The instruments of the meter provider registered now; `undefined` without the API, and while
 * the registered provider is the API's own no-op one (no SDK): then mongo-molt keeps no counts
 * for metrics at all. Asked once per read (a `findOne`, a cursor's `toArray`, each `next()` or
 * iteration step, a batch of write-backs), per sweep batch and per turn of the event loop that
 * counted something: a look at the global provider (about 0.1 µs), compared with the last one
 * seen. Made again when the provider changes, since the metrics API has no proxy: an SDK
 * registered after a wrapper or a sweep was made is used from their next read or batch.
 */
export function meters(): Meters | undefined {
  const api = otelApi();
  if (api === undefined) return undefined;
  const provider = api.metrics.getMeterProvider();
  if (cache?.provider !== provider) cache = { provider, meters: made(api, provider) };
  return cache.meters;
}

/** The instruments of `provider`, or `undefined` when its meter is the API's no-op meter. */
function made(api: OtelApi, provider: MeterProvider): Meters | undefined {
  const meter = provider.getMeter(SCOPE);
  // `createNoopMeter()` is the meter the API's no-op provider hands out (one instance, since
  // API 1.3). Should a later API make a new one per call, this reads as an SDK: counted, never lost.
  if (meter === api.createNoopMeter()) return undefined;
  const documents = (name: string, description: string): Counter => meter.createCounter(name, { description, unit: '{document}' });
  return {
    api,
    migrated: documents(METRICS.MIGRATED, 'Documents a sweep stored at the target version'),
    skipped: documents(METRICS.SKIPPED, 'Documents a sweep left as they were: changed by another writer since they were read, or already at the target'),
    failed: documents(METRICS.FAILED, 'Documents whose step threw or whose result failed validation (recorded in the failures collection)'),
    lossy: documents(METRICS.LOSSY, 'Documents whose way down (a reverse sweep) drops a value'),
    batchDuration: meter.createHistogram(METRICS.BATCH_DURATION, { description: 'Duration of one sweep batch: read, migrate, write, checkpoint (not the pause after it)', unit: 's', advice: { explicitBucketBoundaries: BATCH_BUCKETS } }),
    remaining: meter.createGauge(METRICS.REMAINING, { description: 'Stale documents left in the collection, after each batch and recounted at the end of a run', unit: '{document}' }),
    readUpcasts: documents(METRICS.READ_UPCASTS, 'Documents upcast when read through versioned()'),
    readWriteBacks: documents(METRICS.READ_WRITE_BACKS, 'Documents upcast on read and stored back (writeBackOnRead)'),
  };
}

/**
 * How many times mongo-molt did telemetry work beyond looking at the global providers: a read
 * count kept or added, a sweep batch timed and counted by stored version, a span recorded. Stays
 * at 0 while only the API's no-op providers are registered (tested); not part of the public API.
 */
export const bookkeeping = { calls: 0 };
