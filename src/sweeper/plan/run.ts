import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import type { MigrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { databaseOf, limited, serverCapabilities, TimeBudgetSpentError, untilLimit, type OperationLimit, type ServerCapabilities } from '../../server/index.js';
import { realTimeLimit } from '../clock.js';
import { MAX_RETRY_DELAY_MS, type ResolvedSweepOptions } from '../options.js';
import { Pacer } from '../run/pacing.js';
import { withRetry } from '../run/retry.js';
import { ensureStaleIndex } from '../stale.js';
import { readSweepState, stateKey, type SweepStateDocument } from '../state.js';
import { SweepReason, SweepStatus, type SweepReport } from '../status.js';
import { Tally, type Outcome } from '../run/tally.js';
import { leaseHeld } from '../run/outcomes.js';
import { recount } from '../run/recount.js';
import { startHeartbeat } from '../run/lease-upkeep.js';
import type { TokenBucket } from '../run/token-bucket.js';
import { PlanLease } from './lease.js';
import { planRanges } from './ranges.js';
import { PlanStore, type SweepPlanDocument } from './store.js';
import { RangeWorker, RateShare } from './worker.js';

/** How long past the time budget the plan's own operations may run (the workers' last writes, the recount). */
const PLAN_GRACE_MS = 2_000;
/**
 * How long the steps after a spent budget and grace may take together: leaving the lease (it
 * expires on its own otherwise), the recount and saving the last run. One allowance for all of
 * them, so that a server that stopped answering holds the run at most this much longer.
 */
const CLOSING_MS = 2_500;

/** Ranges planned per worker of the process that plans (at least {@link MIN_RANGES}): small enough to balance, few enough to claim cheaply. */
const RANGES_PER_WORKER = 4;
const MIN_RANGES = 16;

/** What a plan's run works on. */
export interface PlanRunParts {
  readonly collection: Collection<Document>;
  readonly definition: SchemaDefinition;
  readonly target: MigrationTarget;
  readonly options: ResolvedSweepOptions;
  /** The stored pin the run follows (`molt sweep --to k` set it), if any. */
  readonly pinned?: SweepReport['pinned'];
}

/** Starts one worker's run (a `SweepRun` walking the ranges it claims) and resolves to its report. */
export type StartWorker = (range: RangeWorker, bucket: TokenBucket) => Promise<SweepReport>;

/**
 * A sweep with `workers`: joins the collection's lease as one of the plan's processes, finds the
 * target's plan for this pass (or plans it: ranges of `_id` of about equal counts, see
 * `planRanges`), runs `workers` range workers here, then, when every range is done, completes the
 * pass once, recounts, and reports for this process's workers together.
 */
export async function sweepWithPlan(parts: PlanRunParts, start: StartWorker): Promise<SweepReport> {
  const run = new PlanRun(parts);
  return run.run(start);
}

class PlanRun {
  readonly #parts: PlanRunParts;
  readonly #tally: Tally;
  readonly #log: Logger | undefined;
  readonly #token = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  #pass = 0;
  #joinedLease = false;
  #ranges = { total: 0, done: 0, byThisRun: 0 };
  /**
   * Bounds every operation of the plan's own (joining, planning, claims and checkpoints, the
   * recount): the time budget and a short grace for what follows the workers' last batch; the
   * leave then gets an allowance of its own. A server that stops answering cannot hold the run.
   */
  readonly #limit: { signal: AbortSignal | undefined } = { signal: undefined };
  /** Whether this process's workers ended while ranges were still held by workers elsewhere. */
  #heldElsewhere = false;
  /** The closing allowance ({@link CLOSING_MS}), once the budget and its grace are spent. */
  #closing: AbortSignal | undefined;

  constructor(parts: PlanRunParts) {
    this.#parts = parts;
    this.#tally = new Tally(parts.options, parts.collection.collectionName, parts.target.version);
    this.#tally.pinned = parts.pinned;
    this.#log = parts.options.logger?.child({ collection: parts.collection.collectionName, schema: parts.definition.name, plan: this.#token });
  }

  async run(start: StartWorker): Promise<SweepReport> {
    const { clock, maxDurationMs } = this.#parts.options;
    // The budget counts from the call's start (`options.startedAt`), as the workers' do.
    const budget = realTimeLimit(clock, maxDurationMs - this.#tally.elapsedMs + PLAN_GRACE_MS, () => new TimeBudgetSpentError(maxDurationMs));
    this.#limit.signal = budget?.signal;
    let outcome: Outcome;
    let capabilities: ServerCapabilities | undefined;
    try {
      capabilities = await this.#retry(() => serverCapabilities(databaseOf(this.#parts.collection)));
      outcome = await this.#joined(capabilities, start);
    } catch (error) {
      outcome = this.#fromError(error);
    }
    // The final truth, as a run without workers gets it, within the plan's limit (the closing allowance once the budget and grace are spent).
    const { collection, definition, target, options } = this.#parts;
    this.#close();
    const recounted = await recount({ collection, definition, target, options, tally: this.#tally, log: this.#log }, outcome, this.#limit.signal);
    const report = { ...this.#tally.report(recounted, this.#pass), ranges: this.#ranges };
    this.#close();
    if (this.#joinedLease) await untilLimit(this.#saveLastRun(report), this.#limit).catch(() => undefined);
    budget?.cancel();
    this.#log?.info({ report }, `sweep ${report.status}`);
    return report;
  }

  async #joined(capabilities: ServerCapabilities, start: StartWorker): Promise<Outcome> {
    const { collection, definition, target, options } = this.#parts;
    const db = databaseOf(collection);
    const lease = new PlanLease(db, options.stateCollection, collection.collectionName, definition.name, target.key, this.#token, options.leaseMs, capabilities.clockOffsetMs, this.#limit);
    const joined = await this.#retry(() => lease.join());
    if (!joined.joined) return leaseHeld(collection.collectionName, joined.holder);
    this.#joinedLease = true;
    // The same upkeep as a run's own lease: one renewal in flight at a time.
    const heartbeat = startHeartbeat(lease, options, this.#log);
    try {
      const store = new PlanStore(db, options.stateCollection, collection.collectionName, definition.name, target, options.leaseMs, capabilities.clockOffsetMs, this.#limit);
      const plan = await this.#plan(store, capabilities);
      if (plan === undefined) return { status: SweepStatus.COMPLETE };
      this.#pass = plan.pass;
      const outcome = await this.#work(store, plan, start);
      const summary = await this.#retry(() => store.summary(plan));
      this.#ranges = { total: summary.total, done: summary.done, byThisRun: this.#ranges.byThisRun };
      // The workers elsewhere finished their ranges since: the pass is done here too (the plan is completed once, by whichever run gets there first).
      if (this.#heldElsewhere && summary.done === summary.total) {
        await this.#retry(() => store.complete(plan));
        return { status: SweepStatus.COMPLETE };
      }
      return outcome;
    } finally {
      clearInterval(heartbeat);
      this.#close();
      await this.#retry(() => lease.leave()).catch((error: unknown) => this.#log?.warn({ error: describeError(error) }, 'could not leave the lease: it expires on its own'));
    }
  }

  /**
   * The plan of this pass: the target's latest unless it is done (or a run without workers
   * completed its pass since), else a new one for the next pass; none when nothing is stale.
   */
  async #plan(store: PlanStore, capabilities: ServerCapabilities): Promise<SweepPlanDocument | undefined> {
    const { collection, definition, target, options } = this.#parts;
    const db = databaseOf(collection);
    // The stale count is the report's estimate of what is left until the final recount replaces it.
    const [latest, state, stale] = await Promise.all([
      this.#retry(() => store.latest()),
      this.#retry(() => readSweepState(db, options.stateCollection, collection.collectionName, definition.name)),
      this.#retry(() => collection.countDocuments(target.staleFilter, limited({}, this.#limit))),
    ]);
    this.#tally.remaining = stale;
    const checkpoint = state?.checkpoints?.[target.key];
    const passedBy = checkpoint?.completedAt != null && latest !== null && checkpoint.pass >= latest.pass;
    if (latest !== null && latest.completedAt === null && !passedBy) return latest;
    this.#pass = Math.max(latest?.pass ?? 0, checkpoint?.pass ?? 0);
    if (stale === 0) return undefined;
    await this.#retry(() => ensureStaleIndex(collection, target.versionField, capabilities.uniqueStaleIndex));
    const pass = checkpoint !== undefined && checkpoint.completedAt === null && (latest === null || checkpoint.pass > latest.pass) ? checkpoint.pass : nextPass(state, latest);
    const count = Math.max(1, Math.min(Math.max(MIN_RANGES, RANGES_PER_WORKER * (options.workers ?? 1)), Math.ceil(stale / options.batchSize)));
    const { ranges, method } = await this.#retry(() => planRanges(collection, target.staleFilter, count, undefined, options.ranges));
    this.#log?.info({ pass, ranges: ranges.length, method, stale }, 'planned the pass');
    return this.#retry(() => store.create(pass, ranges, method, options.ratePerSecond));
  }

  /** Runs this process's workers on the plan; completes the pass when one of them found every range done. */
  async #work(store: PlanStore, plan: SweepPlanDocument, start: StartWorker): Promise<Outcome> {
    const { options } = this.#parts;
    const share = new RateShare(Pacer.bucket(options), store, plan);
    share.bucket.setRate(plan.ratePerSecond < 0 ? Infinity : plan.ratePerSecond);
    const workers = Array.from({ length: options.workers ?? 1 }, (_, index) => new RangeWorker(store, plan, this.#parts.target.staleFilter, `${this.#token}/${index}`, share));
    // Each worker's budget counts from the call's start too: planning spent part of it.
    const reports = await Promise.all(workers.map((worker) => start(worker, share.bucket)));
    this.#ranges.byThisRun = workers.reduce((sum, worker) => sum + worker.counts.finished, 0);
    this.#add(reports);
    this.#tally.remaining = Math.max(0, this.#tally.remaining - this.#tally.migrated - this.#tally.skipped);
    const outcome = merge(reports);
    if (outcome.status !== SweepStatus.COMPLETE) return outcome;
    if (!workers.some((worker) => worker.counts.planDone)) {
      const summary = await this.#retry(() => store.summary(plan));
      if (summary.done < summary.total) {
        const held = summary.total - summary.done;
        this.#heldElsewhere = true;
        return { status: SweepStatus.PARTIAL, reason: SweepReason.LOCK, detail: `${held} range${held === 1 ? ' is' : 's are'} still held by other workers of the plan: they finish the pass` };
      }
    }
    if (await this.#retry(() => store.complete(plan))) this.#log?.info({ pass: plan.pass }, 'every range is done: the pass is complete');
    return outcome;
  }

  /** This process's counts: the sums of its workers'. */
  #add(reports: readonly SweepReport[]): void {
    const tally = this.#tally;
    for (const report of reports) {
      tally.scanned += report.scanned;
      tally.migrated += report.migrated;
      tally.skipped += report.skipped;
      tally.failed += report.failed;
      tally.lossy += report.lossy;
      for (const key of report.undeclaredKeys ?? []) tally.undeclaredKeys.add(key);
    }
    for (const version of reports.flatMap((report) => report.serverVersions)) tally.ranOnServer(version);
    tally.clientReason = reports.find((report) => report.clientReason !== undefined)?.clientReason;
  }

  /** Once the budget and its grace are spent, the plan's remaining operations share the closing allowance. */
  #close(): void {
    if (this.#closing !== undefined || this.#limit.signal?.aborted !== true) return;
    this.#closing = AbortSignal.timeout(CLOSING_MS);
    this.#limit.signal = this.#closing;
  }

  /** Saves the report as the collection's last run (what `molt status` shows). */
  async #saveLastRun(report: SweepReport): Promise<void> {
    const { collection, definition, options } = this.#parts;
    await databaseOf(collection)
      .collection<SweepStateDocument>(options.stateCollection)
      .updateOne({ _id: stateKey(collection.collectionName, definition.name) }, { $set: { lastRun: { ...report, finishedAt: new Date() } } });
  }

  #fromError(error: unknown): Outcome {
    const described = describeError(error);
    if (error instanceof TimeBudgetSpentError) {
      this.#log?.warn({ error: described }, 'the time budget ran out while an operation of the plan was still running');
      return { status: SweepStatus.PARTIAL, reason: SweepReason.BUDGET, detail: described.message, error: described };
    }
    this.#log?.error({ error: described }, 'sweep aborted');
    return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: described };
  }

  /** An operation of the plan's own, with retries, raced against the plan's limit (see `#limit`). */
  #retry<T>(operation: () => Promise<T>): Promise<T> {
    const { maxRetries, retryDelayMs, clock, signal } = this.#parts.options;
    const limit: OperationLimit = this.#limit;
    const stop = signal && limit.signal ? AbortSignal.any([signal, limit.signal]) : (limit.signal ?? signal);
    return withRetry(() => untilLimit(operation(), limit), { retries: maxRetries, baseDelayMs: retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_MS, clock, signal: stop });
  }
}

/** The pass after everything the state and the latest plan have seen. */
function nextPass(state: SweepStateDocument | null, latest: SweepPlanDocument | null): number {
  const passes = [latest?.pass ?? 0, state?.checkpoint?.pass ?? 0, ...Object.values(state?.checkpoints ?? {}).map((checkpoint) => checkpoint.pass)];
  return Math.max(...passes) + 1;
}

/** The outcome of a process's workers together: the gravest of theirs (aborted, failed, locked, partial, complete). */
function merge(reports: readonly SweepReport[]): Outcome {
  for (const status of [SweepStatus.ABORTED, SweepStatus.FAILED, SweepStatus.LOCKED, SweepStatus.PARTIAL]) {
    // Of the workers that ended so, one with an error first: a cut-off write must not go unsaid.
    const ended = reports.filter((candidate) => candidate.status === status);
    const report = ended.find((candidate) => candidate.error !== undefined) ?? ended[0];
    if (report) return { status, ...(report.error ? { error: report.error } : {}), ...(report.reason ? { reason: report.reason } : {}), ...(report.detail ? { detail: report.detail } : {}) };
  }
  return { status: SweepStatus.COMPLETE };
}
