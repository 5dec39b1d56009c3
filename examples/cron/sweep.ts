/**
 * A cron job that sweeps with the library instead of the CLI: for teams that want the sweep inside
 * their own deployable, with their own logger and alerting.
 *
 *   npx tsx examples/cron/sweep.ts [--budget 9m] [--retry-failed]
 *
 * Environment: MONGODB_URI (required), MOLT_DB (default molt_example), PUSHGATEWAY_URL (optional:
 * after a run that exits 0, its metrics and last-success time are pushed there; see metrics.ts). Sweeps users, then orders,
 * within one time budget, and exits like `molt sweep`: 0 done, 1 documents failed, in this run or
 * an earlier one and still stale (see `molt failures`), or a sweep aborted, 2 bad usage, 3 partial (budget spent, another run holds the
 * lease, or interrupted: the next run resumes at the checkpoint).
 */
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { sweep, SweepStatus, type SweepReport } from 'mongo-molt';
import { Order } from '../../schemas/orders.js';
import { User } from '../../schemas/users.js';
import { startJobMetrics, type JobMetrics } from './metrics.js';

const EXIT = { OK: 0, FAILURES: 1, USAGE: 2, PARTIAL: 3 } as const;
const COLLECTIONS = 2;

/** "90s", "10m", "1h" or milliseconds, as a number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`--budget must be a duration like 90s, 10m or 1h, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/**
 * The exit code for a night's reports, as `molt sweep` decides it: the worst one wins. Recorded
 * failures still stale (`staleFailures`, from any earlier run) keep the job failing every night
 * until someone fixes them, even when this run failed nothing new.
 */
export function exitCodeOf(reports: readonly SweepReport[]): number {
  if (reports.some((report) => report.failed > 0 || report.staleFailures > 0 || report.status === SweepStatus.ABORTED || report.status === SweepStatus.FAILED)) return EXIT.FAILURES;
  if (reports.some((report) => report.status === SweepStatus.PARTIAL || report.status === SweepStatus.LOCKED)) return EXIT.PARTIAL;
  return EXIT.OK;
}

async function main(): Promise<number> {
  let budgetMs: number;
  let retryFailed: boolean;
  try {
    const { values } = parseArgs({ options: { budget: { type: 'string', default: '9m' }, 'retry-failed': { type: 'boolean', default: false } } });
    budgetMs = parseDuration(values.budget);
    retryFailed = values['retry-failed'];
  } catch (error) {
    console.error(`sweep: ${(error as Error).message}`);
    return EXIT.USAGE;
  }
  const uri = process.env.MONGODB_URI;
  if (!uri) {
    console.error('sweep: set MONGODB_URI');
    return EXIT.USAGE;
  }

  // JSON lines on stderr for the log collector: `_id`s and counts, never document bodies.
  const logger = pino({ name: 'sweep', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());

  const gateway = process.env.PUSHGATEWAY_URL;
  const jobMetrics: JobMetrics | undefined = gateway ? startJobMetrics() : undefined;
  const client = await MongoClient.connect(uri);
  const started = Date.now();
  const reports: SweepReport[] = [];
  try {
    const db = client.db(process.env.MOLT_DB ?? 'molt_example');
    const jobs = [
      { collection: db.collection('users'), schema: User },
      { collection: db.collection('orders'), schema: Order },
    ] as const;
    for (const { collection, schema } of jobs) {
      const leftMs = budgetMs - (Date.now() - started);
      if (leftMs <= 0 || controller.signal.aborted) break;
      const report = await sweep(collection, schema, {
        batchSize: 500,
        ratePerSecond: 2000,
        pauseMs: 50,
        maxDurationMs: leftMs,
        retryFailed,
        signal: controller.signal,
        logger,
      });
      reports.push(report);
      console.log(`${report.collection}: ${report.status}, migrated ${report.migrated}, failed ${report.failed}, remaining ${report.remaining}, ${report.elapsedMs} ms`);
    }
  } finally {
    await client.close();
  }
  const worst = exitCodeOf(reports);
  // A collection never started (budget spent, interrupted) makes the run partial.
  const code = worst === EXIT.OK && reports.length < COLLECTIONS ? EXIT.PARTIAL : worst;
  if (jobMetrics && gateway) {
    // Only a run that succeeded pushes: the last-success time then goes stale when runs fail.
    if (code === EXIT.OK) {
      await jobMetrics.push(gateway, 'molt_sweep', (Date.now() - started) / 1000).then(
        () => logger.info({ gateway }, 'metrics pushed'),
        (error: unknown) => logger.error({ error: String(error) }, 'metrics not pushed'),
      );
    } else {
      logger.warn({ exitCode: code }, 'metrics not pushed: the run did not succeed');
    }
    await jobMetrics.shutdown();
  }
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main();
}
