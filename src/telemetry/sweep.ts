import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { otelApi, type OtelApi } from './api.js';
import { bookkeeping, meters, SCOPE, SPANS, type Meters } from './instruments.js';

/** What a sweep run is, for its span and its metrics' attributes. */
export interface SweepRunInfo {
  /** The database (`db.namespace`). */
  readonly db: string;
  /** The collection (`db.collection.name`). */
  readonly collection: string;
  readonly schema: string;
  readonly targetVersion: number;
  /** `up`, or `down` (a reverse sweep). */
  readonly direction: string;
  /** The mode asked for: `auto`, `client` or `server`. */
  readonly mode: string;
  readonly dryRun: boolean;
  /** The version of documents stored without a version field (`null` in the counts). */
  readonly unversioned: number;
}

/** One stored version's counts since the last batch (`fromVersion` `undefined`: not known). */
export interface VersionCounted {
  readonly fromVersion: number | null | undefined;
  readonly counts: Readonly<Record<'migrated' | 'skipped' | 'failed' | 'lossy', number>>;
}

/** What a run's end reports. */
export interface SweepRunEnd {
  readonly status: string;
  readonly scanned: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly failed: number;
  readonly lossy: number;
  readonly remaining: number;
  readonly pass: number;
  readonly mode: string;
  readonly error?: { readonly name: string; readonly message: string } | undefined;
}

/**
 * A sweep run's span (`molt.sweep`), its batches' spans (`molt.sweep.batch`) and its metrics,
 * through `@opentelemetry/api`. The run loop calls it once per run and once per batch; dry runs
 * record spans, never the document metrics.
 *
 * Without an SDK it does nothing past one look per run and per batch: the run's span is started
 * and kept only if it records (`isRecording()`: an SDK's tracer, not sampled out), and a batch is
 * timed and counted by stored version only while that span records or a meter provider other than
 * the API's no-op one is registered (asked at each batch's start: an SDK registered during a run
 * gets the metrics of its next batches; the spans come from the runs started after it).
 */
export class SweepTelemetry {
  readonly #api: OtelApi;
  readonly #info: SweepRunInfo;
  readonly #base: Attributes;
  /** The run's span, while it records, and the tracer that made it (it makes the batches' spans). */
  readonly #span: Span | undefined;
  readonly #tracer: Tracer;
  /** When the batch in flight started (`performance.now()` and wall-clock), if it is counted. */
  #batch: { readonly started: number; readonly startTime: Date } | undefined;

  /** Starts a run's telemetry; `undefined` when `@opentelemetry/api` is not installed. */
  static start(info: SweepRunInfo): SweepTelemetry | undefined {
    const api = otelApi();
    return api === undefined ? undefined : new SweepTelemetry(api, info);
  }

  private constructor(api: OtelApi, info: SweepRunInfo) {
    this.#api = api;
    this.#info = info;
    this.#base = { 'db.namespace': info.db, 'db.collection.name': info.collection, 'molt.to_version': info.targetVersion };
    // Its attributes are given at the start, where a sampler sees them; the API's no-op tracer hands back a NonRecordingSpan.
    this.#tracer = api.trace.getTracer(SCOPE);
    const span = this.#tracer.startSpan(SPANS.SWEEP, {
      attributes: { ...this.#base, 'db.system.name': 'mongodb', 'molt.schema': info.schema, 'molt.target_version': info.targetVersion, 'molt.direction': info.direction, 'molt.mode': info.mode, 'molt.dry_run': info.dryRun },
    });
    if (span.isRecording()) {
      bookkeeping.calls++;
      this.#span = span;
    }
  }

  /** Runs `work` with the run's span active: the driver's own spans (instrumentation-mongodb) nest under it. */
  within<T>(work: () => Promise<T>): Promise<T> {
    if (this.#span === undefined) return work();
    const { context, trace } = this.#api;
    return context.with(trace.setSpan(context.active(), this.#span), work);
  }

  /**
   * A batch starts (its page is read next). Returns whether its counts by stored version are
   * wanted (for its span or the metrics); its span is made when it ends: a read that finds the
   * pass done makes none.
   */
  startBatch(): boolean {
    this.#batch = this.#span !== undefined || this.#meters() !== undefined ? { started: performance.now(), startTime: new Date() } : undefined;
    if (this.#batch !== undefined) bookkeeping.calls++;
    return this.#batch !== undefined;
  }

  /** A batch done (written and checkpointed): its counts by stored version, the stale documents left. */
  endBatch(counted: readonly VersionCounted[], remaining: number): void {
    const batch = this.#batch;
    this.#batch = undefined;
    if (batch === undefined) return;
    bookkeeping.calls++;
    const otel = this.#meters();
    const totals = this.#count(counted, otel);
    const seconds = (performance.now() - batch.started) / 1000;
    if (this.#span !== undefined) {
      const { context, trace } = this.#api;
      const attributes = { ...this.#base, 'molt.target_version': this.#info.targetVersion, 'molt.mode': this.#info.mode, 'molt.migrated': totals.migrated, 'molt.skipped': totals.skipped, 'molt.failed': totals.failed, 'molt.lossy': totals.lossy };
      this.#tracer.startSpan(SPANS.BATCH, { attributes, startTime: batch.startTime }, trace.setSpan(context.active(), this.#span)).end(new Date(batch.startTime.getTime() + seconds * 1000));
    }
    otel?.batchDuration.record(seconds, this.#base);
    otel?.remaining.record(remaining, this.#base);
  }

  /** The run's end: what the last batch left uncounted, the recounted stale documents, the span's status. */
  end(report: SweepRunEnd, counted: readonly VersionCounted[]): void {
    this.#batch = undefined;
    const otel = this.#meters();
    if (otel !== undefined) {
      bookkeeping.calls++;
      this.#count(counted, otel);
      otel.remaining.record(report.remaining, this.#base);
    }
    const span = this.#span;
    if (span === undefined) return;
    span.setAttributes({
      'molt.status': report.status, 'molt.scanned': report.scanned, 'molt.migrated': report.migrated, 'molt.skipped': report.skipped,
      'molt.failed': report.failed, 'molt.lossy': report.lossy, 'molt.remaining': report.remaining, 'molt.pass': report.pass, 'molt.ran_on': report.mode,
    });
    if (report.status === 'aborted' || report.status === 'failed') {
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: report.error ? `${report.error.name}: ${report.error.message}` : report.status });
    }
    span.end();
  }

  /** The meters that record this run's document metrics: none for a dry run, none without an SDK. */
  #meters(): Meters | undefined {
    return this.#info.dryRun ? undefined : meters();
  }

  /** Adds the counts to the document counters of `otel`, if any; returns their totals. */
  #count(counted: readonly VersionCounted[], otel: Meters | undefined): Record<'migrated' | 'skipped' | 'failed' | 'lossy', number> {
    const totals = { migrated: 0, skipped: 0, failed: 0, lossy: 0 };
    for (const { fromVersion, counts } of counted) {
      const attributes: Attributes = fromVersion === undefined ? this.#base : { ...this.#base, 'molt.from_version': fromVersion ?? this.#info.unversioned };
      for (const outcome of ['migrated', 'skipped', 'failed', 'lossy'] as const) {
        const count = counts[outcome];
        if (count === 0) continue;
        totals[outcome] += count;
        otel?.[outcome].add(count, attributes);
      }
    }
    return totals;
  }
}
