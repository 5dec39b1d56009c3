import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, step, sweep, versioned } from '../src/index.js';
import { METRICS, SPANS } from '../src/telemetry/index.js';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { ROOT } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('telemetry');
const spans = new InMemorySpanExporter();
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

beforeAll(() => {
  metrics.setGlobalMeterProvider(meterProvider);
  trace.setGlobalTracerProvider(tracerProvider);
});
afterAll(async () => {
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  metrics.disable();
  trace.disable();
});
beforeEach(() => {
  spans.reset();
});

/** The metrics as exported now (cumulative since the provider started), by name. */
async function exported(): Promise<Map<string, MetricData>> {
  exporter.reset();
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of exporter.getMetrics()) for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}

/** The sum of a counter's points whose attributes match `where`. */
function sum(metric: MetricData | undefined, where: Record<string, unknown>): number {
  let total = 0;
  for (const point of metric?.dataPoints ?? []) {
    if (Object.entries(where).every(([key, value]) => point.attributes[key] === value)) total += point.value as number;
  }
  return total;
}

describe('OpenTelemetry', () => {
  it('a sweep: one molt.sweep span, a molt.sweep.batch span per batch, counters by from- and to-version that add up to the report', async () => {
    const name = 'swept';
    const users = db.collection<RawUser>(name);
    // 24 documents: 8 without a version field (read as v1), 8 at v1, 8 at v2; one more at v1 whose step throws.
    await users.insertMany([...mixedUsers(24), { _id: 'bad', full_name: 'FAIL', schemaVersion: 1 }]);
    const report = await sweep(users, User, { batchSize: 5, ratePerSecond: Infinity, pauseMs: 0 });
    expect(report).toMatchObject({ status: 'complete', migrated: 24, failed: 1, remaining: 1 });

    const finished = spans.getFinishedSpans();
    const runs = finished.filter((span) => span.name === SPANS.SWEEP);
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run?.attributes).toMatchObject({
      'db.namespace': db.databaseName, 'db.collection.name': name, 'molt.target_version': 3, 'molt.mode': 'auto', 'molt.direction': 'up', 'molt.dry_run': false,
      'molt.status': 'complete', 'molt.migrated': 24, 'molt.failed': 1, 'molt.remaining': 1, 'molt.scanned': report.scanned,
    });
    const batches = finished.filter((span) => span.name === SPANS.BATCH);
    expect(batches).toHaveLength(5); // 25 stale documents in batches of 5
    for (const batch of batches) expect(batch.parentSpanContext?.spanId).toBe(run?.spanContext().spanId);
    expect(batches.reduce((total, batch) => total + Number(batch.attributes['molt.migrated']), 0)).toBe(report.migrated);

    const byName = await exported();
    const where = { 'db.namespace': db.databaseName, 'db.collection.name': name, 'molt.to_version': 3 };
    expect(sum(byName.get(METRICS.MIGRATED), where)).toBe(report.migrated);
    expect(sum(byName.get(METRICS.MIGRATED), { ...where, 'molt.from_version': 1 })).toBe(16);
    expect(sum(byName.get(METRICS.MIGRATED), { ...where, 'molt.from_version': 2 })).toBe(8);
    expect(sum(byName.get(METRICS.FAILED), { ...where, 'molt.from_version': 1 })).toBe(1);
    expect(sum(byName.get(METRICS.SKIPPED), where)).toBe(report.skipped);
    const duration = byName.get(METRICS.BATCH_DURATION);
    expect(duration?.descriptor.unit).toBe('s');
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    const histogram = duration?.dataPoints.find((point) => point.attributes['db.collection.name'] === name)?.value as { count: number; sum: number };
    expect(histogram.count).toBe(5);
    expect(histogram.sum).toBeGreaterThan(0);
    expect(histogram.sum).toBeLessThan(report.elapsedMs / 1000 + 0.001);
    const remaining = byName.get(METRICS.REMAINING)?.dataPoints.find((point) => point.attributes['db.collection.name'] === name);
    expect(remaining?.value).toBe(report.remaining);
  });

  it('a reverse sweep: lossy documents counted at the version each was stored at', async () => {
    const Contact = defineSchema('contact')
      .version(1, z.object({ _id: z.string(), name: z.string() }))
      .version(2, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable() }), [step.add('email', null)])
      .version(3, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable(), phone: z.string().nullable() }), [step.add('phone', null)]);
    const name = 'down';
    // 10 at v2 (every other one with an email: lossy on the way down), 10 at v3 (every other one with a phone).
    await db.collection<{ _id: string }>(name).insertMany([
      ...Array.from({ length: 10 }, (_, i) => ({ _id: `a${i}`, name: `A${i}`, email: i % 2 ? `a${i}@example.com` : null, schemaVersion: 2 })),
      ...Array.from({ length: 10 }, (_, i) => ({ _id: `b${i}`, name: `B${i}`, email: null, phone: i % 2 ? `555-${i}` : null, schemaVersion: 3 })),
    ]);
    const report = await sweep(db.collection(name), Contact, { to: 1, allowLoss: true, batchSize: 8, ratePerSecond: Infinity, pauseMs: 0 });
    expect(report).toMatchObject({ status: 'complete', migrated: 20, lossy: 10, failed: 0 });
    const byName = await exported();
    const where = { 'db.collection.name': name, 'molt.to_version': 1 };
    expect(sum(byName.get(METRICS.LOSSY), { ...where, 'molt.from_version': 2 })).toBe(5);
    expect(sum(byName.get(METRICS.LOSSY), { ...where, 'molt.from_version': 3 })).toBe(5);
    expect(sum(byName.get(METRICS.MIGRATED), { ...where, 'molt.from_version': 2 })).toBe(10);
    expect(sum(byName.get(METRICS.MIGRATED), { ...where, 'molt.from_version': 3 })).toBe(10);
  });

  it('a dry run records its spans, never the document metrics', async () => {
    const name = 'dry';
    await db.collection<RawUser>(name).insertMany(mixedUsers(6));
    const report = await sweep(db.collection(name), User, { dryRun: true, batchSize: 10, ratePerSecond: Infinity, pauseMs: 0 });
    expect(report.migrated).toBe(6);
    expect(spans.getFinishedSpans().find((span) => span.name === SPANS.SWEEP)?.attributes).toMatchObject({ 'molt.dry_run': true, 'db.collection.name': name });
    const byName = await exported();
    expect(sum(byName.get(METRICS.MIGRATED), { 'db.collection.name': name })).toBe(0);
  });

  it('the read path: upcasts and write-backs counted as the wrapper counts them', async () => {
    const name = 'read';
    await db.collection<RawUser>(name).insertMany(mixedUsers(9, 'r'));
    const users = versioned(db.collection(name), User, { writeBackOnRead: true });
    expect(await users.find({}).toArray()).toHaveLength(9);
    await users.flush();
    expect(await users.findOne({ _id: 'r000000' })).not.toBeNull(); // now stored at v3: no upcast
    const { migratedOnRead, writtenBack } = users.stats;
    expect(migratedOnRead).toBe(9);
    expect(writtenBack).toBe(9);
    const byName = await exported();
    const where = { 'db.namespace': db.databaseName, 'db.collection.name': name, 'molt.schema': 'user' };
    expect(sum(byName.get(METRICS.READ_UPCASTS), where)).toBe(migratedOnRead);
    expect(sum(byName.get(METRICS.READ_WRITE_BACKS), where)).toBe(writtenBack);
  });
});

describe('without @opentelemetry/api (an optional peer dependency)', () => {
  it('sweeps and reads as usual in a process that cannot resolve it', () => {
    const child = spawnSync(process.execPath, [
      '--require', join(ROOT, 'test', 'fixtures', 'hide-otel.cjs'),
      '--import', pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      join(ROOT, 'test', 'fixtures', 'otel-absent.ts'),
    ], { env: { ...process.env, MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName }, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toMatchObject({ api: false, status: 'complete', migrated: 12, read: 4, stats: { migratedOnRead: 4, writtenBack: 4 } });
  }, 60_000);
});
