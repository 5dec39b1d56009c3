import type { Counter, Gauge, Histogram, MeterProvider, Tracer } from '@opentelemetry/api';
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

/** The instruments, made from one meter provider. */
export interface Instruments {
  readonly api: OtelApi;
  readonly tracer: Tracer;
  readonly migrated: Counter;
  readonly skipped: Counter;
  readonly failed: Counter;
  readonly lossy: Counter;
  readonly batchDuration: Histogram;
  readonly remaining: Gauge;
  readonly readUpcasts: Counter;
  readonly readWriteBacks: Counter;
}

let cache: { readonly provider: MeterProvider; readonly instruments: Instruments } | undefined;

/**
 * The instruments of the meter provider registered now, or `undefined` without the API. Made again
 * when the provider changes: the metrics API has no proxy, so instruments made before the SDK
 * was registered would stay no-ops. Without an SDK they are the API's no-ops.
 */
export function instruments(): Instruments | undefined {
  const api = otelApi();
  if (api === undefined) return undefined;
  const provider = api.metrics.getMeterProvider();
  if (cache?.provider === provider) return cache.instruments;
  const meter = provider.getMeter(SCOPE);
  const documents = (name: string, description: string): Counter => meter.createCounter(name, { description, unit: '{document}' });
  const made: Instruments = {
    api,
    tracer: api.trace.getTracer(SCOPE),
    migrated: documents(METRICS.MIGRATED, 'Documents a sweep stored at the target version'),
    skipped: documents(METRICS.SKIPPED, 'Documents a sweep left as they were: changed by another writer since they were read, or already at the target'),
    failed: documents(METRICS.FAILED, 'Documents whose step threw or whose result failed validation (recorded in the failures collection)'),
    lossy: documents(METRICS.LOSSY, 'Documents whose way down (a reverse sweep) drops a value'),
    batchDuration: meter.createHistogram(METRICS.BATCH_DURATION, { description: 'Duration of one sweep batch: read, migrate, write, checkpoint (not the pause after it)', unit: 's', advice: { explicitBucketBoundaries: BATCH_BUCKETS } }),
    remaining: meter.createGauge(METRICS.REMAINING, { description: 'Stale documents left in the collection, after each batch and recounted at the end of a run', unit: '{document}' }),
    readUpcasts: documents(METRICS.READ_UPCASTS, 'Documents upcast when read through versioned()'),
    readWriteBacks: documents(METRICS.READ_WRITE_BACKS, 'Documents upcast on read and stored back (writeBackOnRead)'),
  };
  cache = { provider, instruments: made };
  return made;
}
