import { createNoopMeter, metrics, trace } from '@opentelemetry/api';
import type { Counter, Meter } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweep, versioned } from '../src/index.js';
import { bookkeeping, METRICS, SPANS } from '../src/telemetry/index.js';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';

// The API is installed in this process; each test starts with no provider registered (the API's no-ops).
const { db } = useTestDatabase('telemetry-noop');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

/** An SDK as an app sets one up: spans to memory, metrics to a reader read on demand. */
function startSdk() {
  const spans = new InMemorySpanExporter();
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
  expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
  return {
    spans,
    /** The sum of a metric's points, as exported now, whose attributes match `where`. */
    async sum(name: string, where: Record<string, unknown>): Promise<number> {
      exporter.reset();
      await reader.forceFlush();
      const found: MetricData[] = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics)).filter((metric) => metric.descriptor.name === name);
      let total = 0;
      for (const metric of found) {
        for (const point of metric.dataPoints) if (Object.entries(where).every(([key, value]) => point.attributes[key] === value)) total += point.value as number;
      }
      return total;
    },
    shutdown: () => Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]),
  };
}

let sdk: ReturnType<typeof startSdk> | undefined;
beforeEach(() => {
  metrics.disable();
  trace.disable();
});
afterEach(async () => {
  await sdk?.shutdown();
  sdk = undefined;
  metrics.disable();
  trace.disable();
});

describe('OpenTelemetry without an SDK', () => {
  it('reads, write-backs and sweeps (real and dry) keep no telemetry counts, time no batch, make no span', async () => {
    await db.collection<RawUser>('read').insertMany(mixedUsers(9, 'r'));
    await db.collection<RawUser>('swept').insertMany(mixedUsers(12, 's'));
    const before = bookkeeping.calls;
    const users = versioned(db.collection('read'), User, { writeBackOnRead: true });
    expect(await users.find({}).toArray()).toHaveLength(9);
    await users.flush();
    await db.collection<RawUser>('read').insertOne(mixedUsers(1, 'one')[0] as RawUser);
    expect(await users.findOne({ _id: 'one000000' })).not.toBeNull();
    await users.flush();
    expect(users.stats).toMatchObject({ migratedOnRead: 10, writtenBack: 10 });
    const dry = await sweep(db.collection('swept'), User, { ...fast, batchSize: 5, dryRun: true });
    const real = await sweep(db.collection('swept'), User, { ...fast, batchSize: 5 });
    expect([dry.migrated, real.migrated]).toEqual([12, 12]);
    expect(bookkeeping.calls - before).toBe(0);
  });

  it('a provider that hands out the API\'s no-op meter counts as none', async () => {
    let asked = 0;
    metrics.setGlobalMeterProvider({ getMeter: () => (asked++, createNoopMeter()) });
    await db.collection<RawUser>('noop-provider').insertMany(mixedUsers(6, 'p'));
    const before = bookkeeping.calls;
    const users = versioned(db.collection('noop-provider'), User);
    expect(await users.find({}).toArray()).toHaveLength(6);
    expect(users.stats.migratedOnRead).toBe(6);
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toBe(1); // asked once for its meter, then recognized by its provider at each read
    expect(bookkeeping.calls - before).toBe(0);
  });
});

describe('an SDK registered after the wrapper was made', () => {
  it('gets the counts of the reads made after it was registered, and the spans and metrics of the next sweep', async () => {
    const raw = db.collection<RawUser>('late');
    await raw.insertMany(mixedUsers(3, 'a'));
    const users = versioned(db.collection('late'), User, { writeBackOnRead: true });
    expect(await users.find({}).toArray()).toHaveLength(3); // before any SDK: not counted
    await users.flush();
    const before = bookkeeping.calls;

    sdk = startSdk();
    await raw.insertMany(mixedUsers(9, 'b'));
    expect(await users.find({ _id: { $gte: 'b' } }).toArray()).toHaveLength(9);
    await raw.insertOne(mixedUsers(1, 'c')[0] as RawUser);
    expect(await users.findOne({ _id: 'c000000' })).not.toBeNull();
    await users.flush();
    expect(users.stats).toMatchObject({ migratedOnRead: 13, writtenBack: 13 });
    const where = { 'db.namespace': db.databaseName, 'db.collection.name': 'late', 'molt.schema': 'user' };
    expect(await sdk.sum(METRICS.READ_UPCASTS, where)).toBe(10);
    expect(await sdk.sum(METRICS.READ_WRITE_BACKS, where)).toBe(10);

    await db.collection<RawUser>('late-swept').insertMany(mixedUsers(12, 's'));
    const report = await sweep(db.collection('late-swept'), User, { ...fast, batchSize: 5 });
    expect(report).toMatchObject({ status: 'complete', migrated: 12 });
    const finished = sdk.spans.getFinishedSpans();
    expect(finished.filter((span) => span.name === SPANS.SWEEP)).toHaveLength(1);
    expect(finished.filter((span) => span.name === SPANS.BATCH)).toHaveLength(3);
    expect(await sdk.sum(METRICS.MIGRATED, { 'db.collection.name': 'late-swept' })).toBe(12);
    expect(bookkeeping.calls).toBeGreaterThan(before);
  });

  it('during a sweep: the batches after it are counted (the run\'s span, started before, is not made)', async () => {
    await db.collection<RawUser>('during').insertMany(mixedUsers(20, 'd'));
    const report = await sweep(db.collection('during'), User, {
      ...fast, batchSize: 5,
      onProgress: () => {
        sdk ??= startSdk(); // after the first batch
      },
    });
    expect(report).toMatchObject({ status: 'complete', migrated: 20 });
    const registered = sdk as NonNullable<typeof sdk>;
    expect(await registered.sum(METRICS.MIGRATED, { 'db.collection.name': 'during' })).toBe(15);
    expect(await registered.sum(METRICS.REMAINING, { 'db.collection.name': 'during' })).toBe(0);
    expect(registered.spans.getFinishedSpans()).toHaveLength(0);
  });
});

describe('with an SDK', () => {
  it('a cursor read one by one adds its upcasts once per batch from the server, not once per document', async () => {
    // The SDK's meter, its counters' adds counted on the way.
    const adds: number[] = [];
    const provider = new MeterProvider();
    const counted = (meter: Meter): Meter => {
      const createCounter = meter.createCounter.bind(meter);
      meter.createCounter = (name, options) => {
        const counter: Counter = createCounter(name, options);
        const add = counter.add.bind(counter);
        counter.add = (value, attributes, context) => {
          if (name === METRICS.READ_UPCASTS) adds.push(value);
          add(value, attributes, context);
        };
        return counter;
      };
      return meter;
    };
    expect(metrics.setGlobalMeterProvider({ getMeter: (name, version, options) => counted(provider.getMeter(name, version, options)) })).toBe(true);
    await db.collection<RawUser>('one-by-one').insertMany(mixedUsers(30, 'o'));
    const users = versioned(db.collection('one-by-one'), User);
    let read = 0;
    for await (const _ of users.find({}, { batchSize: 10 })) read++;
    expect(read).toBe(30);
    await new Promise((resolve) => setImmediate(resolve));
    expect(adds.reduce((total, value) => total + value, 0)).toBe(30);
    expect(adds.length).toBeLessThanOrEqual(4); // 3 batches of 10 (and the cursor's last, empty, answer)
    await provider.shutdown();
  });
});

