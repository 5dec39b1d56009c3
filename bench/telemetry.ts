/**
 * The cost of OpenTelemetry: the read path (`find` of stale documents, each upcast and counted,
 * read with `toArray` and one by one with `for await`) and a sweep, each timed three ways in
 * alternating rounds in one process: without telemetry (as when `@opentelemetry/api` is not
 * installed), with the API but no SDK (every call a no-op), and with the SDK recording (spans to
 * an in-memory exporter through a batch processor, metrics to a reader collected at the end).
 * Prints medians and ratios against the first (of the medians, and the median of each round's
 * ratio). `npm run bench -- telemetry` (only when named).
 * Goal: <= 1.02 with the API and no SDK.
 */
import { performance } from 'node:perf_hooks';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Db, Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema, sweep, versioned } from '../src/index.js';
import { overrideOtelApi } from '../src/telemetry/index.js';
import { fmt, median, printTable } from './harness.js';

/** Runs `fn` once: the wall-clock and this process's CPU milliseconds (user + system): the CPU time is what telemetry adds, and what other processes on a loaded machine disturb least. */
async function time(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

const READ_DOCS = 5_000;
const SWEEP_DOCS = Number(process.env.MOLT_BENCH_TELEMETRY_SWEEP_DOCS ?? 2_000);

const Person = defineSchema('bench-otel-person')
  .version(1, z.object({ _id: z.number(), full_name: z.string(), email: z.string(), age: z.number() }))
  .version(2, z.object({ _id: z.number(), display_name: z.string(), email: z.string(), age: z.number() }), ({ full_name, ...rest }) => ({ ...rest, display_name: full_name }));

const person = (index: number): Document => ({ _id: index, full_name: `Person Number ${index}`, email: `p${index}@example.org`, age: 20 + (index % 50), schemaVersion: 1 });

async function seed(db: Db, name: string, count: number): Promise<void> {
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < count; start += 1_000) await collection.insertMany(Array.from({ length: Math.min(1_000, count - start) }, (_, offset) => person(start + offset)));
}

type Variant = 'none' | 'api' | 'sdk';
const VARIANTS: readonly Variant[] = ['none', 'api', 'sdk'];

/** Puts the process in a variant's state: the API hidden, present without providers, or with the SDK's. */
function useVariant(variant: Variant, sdk: { meters: MeterProvider; tracers: BasicTracerProvider }): void {
  metrics.disable();
  trace.disable();
  overrideOtelApi(variant === 'none' ? null : undefined);
  if (variant === 'sdk') {
    metrics.setGlobalMeterProvider(sdk.meters);
    trace.setGlobalTracerProvider(sdk.tracers);
  }
}

export interface TelemetryFigures {
  readonly rounds: number;
  /**
   * Medians, in milliseconds: wall-clock, and this process's CPU time; and the medians of each
   * round's own ratio against no telemetry (the three variants of a round run back to back, so a
   * load that comes and goes between rounds weighs less on them than on the ratio of medians).
   */
  readonly rows: readonly { readonly operation: string; readonly measure: 'wall' | 'cpu'; readonly noneMs: number; readonly apiMs: number; readonly sdkMs: number; readonly apiRoundRatio: number; readonly sdkRoundRatio: number }[];
}

export async function runTelemetryBench(db: Db, options: { rounds: number }): Promise<TelemetryFigures> {
  const spans = new InMemorySpanExporter();
  const sdk = {
    meters: new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] }),
    tracers: new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] }),
  };
  await seed(db, 'otel_read', READ_DOCS);
  const times: Record<string, Record<Variant, { wall: number; cpu: number }[]>> = { read: { none: [], api: [], sdk: [] }, iterate: { none: [], api: [], sdk: [] }, sweep: { none: [], api: [], sdk: [] } };
  // Wrappers made under their variant (the read counters are wired when a wrapper is made).
  const readerOf = (variant: Variant) => {
    useVariant(variant, sdk);
    return versioned(db.collection('otel_read'), Person);
  };
  const readers = { none: readerOf('none'), api: readerOf('api'), sdk: readerOf('sdk') };
  for (let round = -1; round < options.rounds; round++) {
    // Rotated order, so that drift and GC hit every variant alike; round -1 warms up.
    const order = VARIANTS.map((_, index) => VARIANTS[(index + Math.max(0, round)) % VARIANTS.length] as Variant);
    for (const variant of order) {
      useVariant(variant, sdk);
      const read = await time(() => readers[variant].find({}).toArray());
      // One by one: each step is a read of its own (the telemetry checks once per read).
      const iterated = await time(async () => {
        let count = 0;
        for await (const _ of readers[variant].find({})) count++;
        if (count !== READ_DOCS) throw new Error(`iterated ${count} of ${READ_DOCS}`);
      });
      await seed(db, 'otel_sweep', SWEEP_DOCS);
      const swept = await time(async () => {
        const report = await sweep(db.collection('otel_sweep'), Person, { batchSize: 500, ratePerSecond: Infinity, pauseMs: 0 });
        if (report.migrated !== SWEEP_DOCS) throw new Error(`the sweep migrated ${report.migrated} of ${SWEEP_DOCS}`);
      });
      if (round >= 0) {
        times.read?.[variant].push(read);
        times.iterate?.[variant].push(iterated);
        times.sweep?.[variant].push(swept);
      }
    }
  }
  useVariant('none', sdk);
  overrideOtelApi(undefined);
  await sdk.meters.shutdown();
  await sdk.tracers.shutdown();
  const rows = Object.entries(times).flatMap(([operation, byVariant]) =>
    (['wall', 'cpu'] as const).map((measure) => {
      const of = (variant: Variant) => byVariant[variant].map((t) => t[measure]);
      const none = of('none');
      const byRound = (variant: Variant) => median(of(variant).map((ms, round) => ms / (none[round] as number)));
      return { operation, measure, noneMs: median(none), apiMs: median(of('api')), sdkMs: median(of('sdk')), apiRoundRatio: byRound('api'), sdkRoundRatio: byRound('sdk') };
    }));
  console.log(`\n### OpenTelemetry: medians of ${options.rounds} rotated rounds (read: find of ${READ_DOCS} stale documents, toArray; iterate: the same, for await; sweep: ${SWEEP_DOCS} documents in batches of 500)\n`);
  printTable(
    ['operation', 'measure', 'no telemetry (ms)', 'API, no SDK (ms)', 'ratio', 'by round', 'SDK recording (ms)', 'ratio', 'by round'],
    rows.map((row) => [
      row.operation, row.measure === 'cpu' ? 'CPU of this process' : 'wall-clock', fmt(row.noneMs, 1),
      fmt(row.apiMs, 1), fmt(row.apiMs / row.noneMs, 3), fmt(row.apiRoundRatio, 3),
      fmt(row.sdkMs, 1), fmt(row.sdkMs / row.noneMs, 3), fmt(row.sdkRoundRatio, 3),
    ]),
  );
  return { rounds: options.rounds, rows };
}
