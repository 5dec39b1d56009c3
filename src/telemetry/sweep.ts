import type { Attributes, Span } from '@opentelemetry/api';
import { instruments, SPANS, type Instruments } from './instruments.js';

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
 * through `@opentelemetry/api` (no-ops without an SDK). The run loop calls it once per run and
 * once per batch; dry runs record spans, never the document metrics.
 */
export class SweepTelemetry {
  readonly #otel: Instruments;
  readonly #info: SweepRunInfo;
  readonly #base: Attributes;
  readonly #span: Span;
  /** When the batch in flight started (`performance.now()` and wall-clock), for its span and duration. */
  #batch: { readonly started: number; readonly startTime: Date } | undefined;

  /** Starts a run's telemetry; `undefined` when `@opentelemetry/api` is not installed. */
  static start(info: SweepRunInfo): SweepTelemetry | undefined {
    const otel = instruments();
    return otel === undefined ? undefined : new SweepTelemetry(otel, info);
  }

  private constructor(otel: Instruments, info: SweepRunInfo) {
    this.#otel = otel;
    this.#info = info;
    this.#base = { 'db.namespace': info.db, 'db.collection.name': info.collection, 'molt.to_version': info.targetVersion };
    this.#span = otel.tracer.startSpan(SPANS.SWEEP, {
      attributes: { ...this.#base, 'db.system.name': 'mongodb', 'molt.schema': info.schema, 'molt.target_version': info.targetVersion, 'molt.direction': info.direction, 'molt.mode': info.mode, 'molt.dry_run': info.dryRun },
    });
  }

  /** Runs `work` with the run's span active: the driver's own spans (instrumentation-mongodb) nest under it. */
  within<T>(work: () => Promise<T>): Promise<T> {
    const { api } = this.#otel;
    return api.context.with(api.trace.setSpan(api.context.active(), this.#span), work);
  }

  /** A batch starts (its page is read next). Its span is made when it ends: a read that finds the pass done makes none. */
  startBatch(): void {
    this.#batch = { started: performance.now(), startTime: new Date() };
  }

  /** A batch done (written and checkpointed): its counts by stored version, the stale documents left. */
  endBatch(counted: readonly VersionCounted[], remaining: number): void {
    const batch = this.#batch;
    this.#batch = undefined;
    const totals = this.#count(counted);
    if (batch === undefined) return;
    const seconds = (performance.now() - batch.started) / 1000;
    const { api, tracer } = this.#otel;
    const attributes = { ...this.#base, 'molt.target_version': this.#info.targetVersion, 'molt.mode': this.#info.mode, 'molt.migrated': totals.migrated, 'molt.skipped': totals.skipped, 'molt.failed': totals.failed, 'molt.lossy': totals.lossy };
    tracer.startSpan(SPANS.BATCH, { attributes, startTime: batch.startTime }, api.trace.setSpan(api.context.active(), this.#span)).end(new Date(batch.startTime.getTime() + seconds * 1000));
    if (this.#info.dryRun) return;
    this.#otel.batchDuration.record(seconds, this.#base);
    this.#otel.remaining.record(remaining, this.#base);
  }

  /** The run's end: what the last batch left uncounted, the recounted stale documents, the span's status. */
  end(report: SweepRunEnd, counted: readonly VersionCounted[]): void {
    const { api } = this.#otel;
    this.#count(counted);
    this.#batch = undefined;
    if (!this.#info.dryRun) this.#otel.remaining.record(report.remaining, this.#base);
    this.#span.setAttributes({
      'molt.status': report.status, 'molt.scanned': report.scanned, 'molt.migrated': report.migrated, 'molt.skipped': report.skipped,
      'molt.failed': report.failed, 'molt.lossy': report.lossy, 'molt.remaining': report.remaining, 'molt.pass': report.pass, 'molt.ran_on': report.mode,
    });
    if (report.status === 'aborted' || report.status === 'failed') {
      this.#span.setStatus({ code: api.SpanStatusCode.ERROR, message: report.error ? `${report.error.name}: ${report.error.message}` : report.status });
    }
    this.#span.end();
  }

  /** Adds the counts to the document counters (not for dry runs); returns their totals. */
  #count(counted: readonly VersionCounted[]): Record<'migrated' | 'skipped' | 'failed' | 'lossy', number> {
    const totals = { migrated: 0, skipped: 0, failed: 0, lossy: 0 };
    const otel = this.#otel;
    for (const { fromVersion, counts } of counted) {
      const attributes: Attributes = fromVersion === undefined ? this.#base : { ...this.#base, 'molt.from_version': fromVersion ?? this.#info.unversioned };
      for (const outcome of ['migrated', 'skipped', 'failed', 'lossy'] as const) {
        const count = counts[outcome];
        if (count === 0) continue;
        totals[outcome] += count;
        if (!this.#info.dryRun) otel[outcome].add(count, attributes);
      }
    }
    return totals;
  }
}
