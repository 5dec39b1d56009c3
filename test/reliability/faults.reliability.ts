/**
 * Server faults: connections cut by a local TCP proxy at random points mid-sweep (every current
 * connection reset, new ones refused for a while), the server process SIGKILLed mid-sweep and
 * restarted on the same port, and a server that stops answering (the proxy black-holes the
 * traffic). After every faulty run: no document lost, duplicated or half-written, an honest
 * status; a final run completes, every document migrated exactly as the upcasters say, and the
 * counts add up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { expect, it } from 'vitest';
import { sweep, SweepStatus, type SweepReport, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from '../fixtures/schemas.js';
import { useTestDatabase } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { FAULTS, random, SEED } from './size.js';

const t = useTestDatabase('rel_faults');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Quick to notice a server that is back: the driver's monitor checks every 500 ms. */
const CLIENT_OPTIONS = { serverSelectionTimeoutMS: 3_000, heartbeatFrequencyMS: 500, connectTimeoutMS: 2_000 } as const;
const HONEST: readonly string[] = [SweepStatus.COMPLETE, SweepStatus.PARTIAL, SweepStatus.ABORTED];

/** Seeds `total` mixed-version users; returns them as stored. */
async function seed(db: Db, name: string, total: number): Promise<RawUser[]> {
  const users = mixedUsers(total);
  await db.collection<RawUser>(name).insertMany(users);
  return users;
}

/** Every document is there once, either as seeded or exactly as the upcasters make it. */
async function expectIntact(db: Db, name: string, seeded: readonly RawUser[], allMigrated: boolean): Promise<void> {
  const stored = new Map((await db.collection<RawUser>(name).find({}).toArray()).map((doc) => [doc._id, doc]));
  expect(stored.size).toBe(seeded.length);
  for (const original of seeded) {
    const doc = stored.get(original._id);
    const migrated = { _id: original._id, display_name: (original.full_name ?? original.display_name) as string, email: null, tags: [], nickname: original.nickname, schemaVersion: 3 };
    if (allMigrated || doc?.schemaVersion === 3) expect(doc).toEqual(migrated);
    else expect(doc).toEqual(original);
  }
}

/** A run that died with its lease held (the release could not reach the server): expire it rather than wait. */
async function expireLease(db: Db, name: string): Promise<void> {
  await db.collection<SweepStateDocument>('molt_state').updateOne({ _id: `${name}:user`, lease: { $ne: null } }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1_000) } });
}

/**
 * The final run, without faults: it completes and migrates exactly what the faulty runs left; the
 * faulty runs' counts plus its own cover every stale document, short by at most one batch per run
 * that stopped mid-batch (a bulk write applied whose reply was lost: stored, never counted).
 */
async function finish(db: Db, name: string, seeded: readonly RawUser[], reports: readonly SweepReport[], batchSize: number): Promise<SweepReport> {
  const staleAtStart = seeded.filter((doc) => doc.schemaVersion !== 3).length;
  await expireLease(db, name);
  const left = await db.collection(name).countDocuments({ schemaVersion: { $ne: 3 } });
  const final = await sweep(db.collection(name), User, { batchSize: 200, ratePerSecond: Infinity, pauseMs: 0 });
  expect(final).toMatchObject({ status: 'complete', failed: 0, skipped: 0, remaining: 0 });
  expect(final.migrated).toBe(left);
  const counted = [...reports, final].reduce((sum, report) => sum + report.migrated + report.skipped, 0);
  const cutMidBatch = reports.filter((report) => report.status !== SweepStatus.COMPLETE).length;
  expect(counted).toBeLessThanOrEqual(staleAtStart);
  expect(counted).toBeGreaterThanOrEqual(staleAtStart - cutMidBatch * batchSize);
  expect(reports.reduce((sum, report) => sum + report.failed, 0)).toBe(0);
  await expectIntact(db, name, seeded, true);
  expect(await db.collection('molt_failures').countDocuments({})).toBe(0);
  const state = await db.collection<SweepStateDocument>('molt_state').findOne({ _id: `${name}:user` });
  expect(state?.lease).toBeNull();
  expect(state?.checkpoint?.completedAt).toBeInstanceOf(Date);
  return final;
}

function tally(reports: readonly SweepReport[]): Record<string, number> {
  return reports.reduce<Record<string, number>>((acc, report) => ({ ...acc, [report.status]: (acc[report.status] ?? 0) + 1 }), {});
}

/**
 * Rounds on fresh collections until `wanted` faults were injected: in each round, runs (each
 * given the faults still wanted, returning how many it injected) follow one another until one
 * completes; then `finish` checks the round. Returns the rounds' figures.
 */
async function inRounds(label: string, wanted: number, run: (users: ReturnType<Db['collection']>, faultsLeft: number) => Promise<{ report: SweepReport; injected: number }>, client: MongoClient): Promise<{ faults: number; runs: SweepReport[]; rounds: number; finalMigrated: number; documents: number }> {
  const TOTAL = 1_000;
  let faults = 0;
  const runs: SweepReport[] = [];
  let finalMigrated = 0;
  let round = 0;
  for (; faults < wanted; round++) {
    const name = `${label}${round}`;
    const seeded = await seed(t.db, name, TOTAL);
    const users = client.db(t.db.databaseName).collection(name);
    const reports: SweepReport[] = [];
    for (;;) {
      const { report, injected } = await run(users, wanted - faults);
      faults += injected;
      reports.push(report);
      expect(HONEST, JSON.stringify(report)).toContain(report.status);
      // Aborted: by a connection error after its retries (the driver's, or Node's own let through), said in the report.
      if (report.status === SweepStatus.ABORTED) expect(`${report.error?.name}: ${report.error?.message}`).toMatch(/^Mongo|ECONN|EPIPE/);
      // Never a document lost, duplicated or half-written, after any run.
      await expectIntact(t.db, name, seeded, false);
      await expireLease(t.db, name);
      if (report.status === SweepStatus.COMPLETE) break;
    }
    finalMigrated += (await finish(t.db, name, seeded, reports, BATCH)).migrated;
    runs.push(...reports);
  }
  return { faults, runs, rounds: round, finalMigrated, documents: round * TOTAL };
}

const BATCH = 20;

it(`cut connections: ${FAULTS} faults (all connections reset, new ones refused for a while) at random points mid-sweep: honest statuses, nothing lost, a resumed sweep completes and the counts add up`, async () => {
  const rand = random(SEED);
  const proxy = await TcpProxy.start(t.uri);
  const client = new MongoClient(proxy.uri, CLIENT_OPTIONS);
  const started = performance.now();
  const kinds = { reset: 0, refused: 0 };
  try {
    const result = await inRounds('cut', FAULTS, async (users, faultsLeft) => {
      let running = true;
      let injected = 0;
      // From no retry to three, with short delays: some runs ride through a fault, others give up (aborted).
      const run = sweep(users, User, { batchSize: BATCH, ratePerSecond: 400, pauseMs: 0, maxRetries: Math.floor(rand() * 4), retryDelayMs: 20 }).finally(() => (running = false));
      while (running && injected < faultsLeft) {
        await sleep(30 + rand() * 400);
        if (!running) break;
        injected++;
        if (rand() < 0.5) {
          proxy.reset();
          kinds.reset++;
        } else {
          proxy.refuse();
          proxy.reset();
          kinds.refused++;
          await sleep(100 + rand() * 600);
          proxy.resume();
        }
      }
      const report = await run;
      proxy.resume();
      return { report, injected };
    }, client);
    process.stderr.write(`[reliability faults] cut connections: seed ${SEED}, ${result.faults} faults (${kinds.reset} resets, ${kinds.refused} resets + refusals), ${proxy.resets} connections reset, ${result.runs.length} runs ${JSON.stringify(tally(result.runs))} over ${result.rounds} rounds of 1,000 documents, final runs migrated ${result.finalMigrated}, lost 0, ${Math.round(performance.now() - started)} ms\n`);
    expect(result.faults).toBe(FAULTS);
  } finally {
    await client.close().catch(() => undefined);
    await proxy.close();
  }
}, 300_000);

/** The running FerretDB behind MONGODB_URI, read off its command line: its binary and PostgreSQL. */
function ferretBehind(uri: string): { binary: string; postgresUrl: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  const port = new URL(uri).port;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('/ferretdb') || !argv.includes(`--listen-addr=127.0.0.1:${port}`)) continue;
    const postgresUrl = argv.find((arg) => arg.startsWith('--postgresql-url='))?.slice('--postgresql-url='.length);
    if (postgresUrl && existsSync(argv[0])) return { binary: argv[0], postgresUrl };
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`FerretDB did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A FerretDB process of the test's own, on the shared PostgreSQL, that it can kill and start again on the same port. */
class OwnFerret {
  readonly #binary: string;
  readonly #postgresUrl: string;
  readonly #stateDir = mkdtempSync(join(tmpdir(), 'molt-faults-ferret-'));
  readonly #log = openSync(join(this.#stateDir, 'ferretdb.log'), 'a');
  #process: ChildProcess | undefined;
  port = 0;

  constructor(found: { binary: string; postgresUrl: string }) {
    this.#binary = found.binary;
    this.#postgresUrl = found.postgresUrl;
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/?directConnection=true`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(this.#binary, [
      `--postgresql-url=${this.#postgresUrl}`,
      `--listen-addr=127.0.0.1:${this.port}`,
      `--debug-addr=127.0.0.1:${await freePort()}`,
      `--state-dir=${this.#stateDir}`,
      '--no-auth',
      '--telemetry=disable',
      '--log-level=error',
    ], { stdio: ['ignore', this.#log, this.#log] });
    this.#process = child;
    await waitForPort(this.port, 30_000);
  }

  /** SIGKILL (a crash) or SIGTERM (a stop); resolves once the process is gone. */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.#stateDir, { recursive: true, force: true });
  }
}

const ferret = ferretBehind(t.uri);
if (!ferret) {
  process.stderr.write(`[skipped] "server stopped and restarted mid-sweep": the server at ${t.uri} is not a FerretDB process of this machine (this test starts its own FerretDB on the same PostgreSQL, and kills and restarts it)\n`);
}

const RESTARTS = Math.max(3, Math.round(FAULTS / 4));

it.skipIf(!ferret)(`server stopped and restarted mid-sweep: ${RESTARTS} times (SIGKILL or SIGTERM, down for a random while; from no retry to three): honest statuses, nothing lost, a resumed sweep completes and the counts add up`, async () => {
  const rand = random(SEED + 1);
  const own = new OwnFerret(ferret as { binary: string; postgresUrl: string });
  await own.start();
  const client = new MongoClient(own.uri, CLIENT_OPTIONS);
  const started = performance.now();
  const points: string[] = [];
  try {
    const result = await inRounds('restart', RESTARTS, async (users, faultsLeft) => {
      let batches = 0;
      let injected = 0;
      let nextAt = 1 + Math.floor(rand() * 10);
      let restarting: Promise<void> | undefined;
      const report = await sweep(users, User, {
        batchSize: BATCH, ratePerSecond: 400, pauseMs: 0, maxRetries: Math.floor(rand() * 4), retryDelayMs: 200,
        onProgress: () => {
          if (++batches < nextAt || restarting || injected >= faultsLeft) return;
          injected++;
          const signal = rand() < 0.7 ? 'SIGKILL' : 'SIGTERM';
          const downMs = 100 + Math.floor(rand() * 1_500);
          points.push(`${signal}@${batches}/${downMs}ms`);
          restarting = (async () => {
            await own.stop(signal);
            await sleep(downMs);
            await own.start();
            restarting = undefined;
            nextAt = batches + 1 + Math.floor(rand() * 10);
          })();
        },
      });
      await restarting;
      return { report, injected };
    }, client);
    process.stderr.write(`[reliability faults] server restarts: seed ${SEED}, ${result.faults} restarts (${points.join(' ')}), ${result.runs.length} runs ${JSON.stringify(tally(result.runs))} over ${result.rounds} rounds of 1,000 documents, final runs migrated ${result.finalMigrated}, lost 0, ${Math.round(performance.now() - started)} ms\n`);
    expect(result.faults).toBe(RESTARTS);
  } finally {
    await client.close().catch(() => undefined);
    await own.dispose();
  }
}, 300_000);

it(`a server that stops answering (traffic black-holed) at random points: ${Math.max(3, Math.round(FAULTS / 5))} runs, each cut off at maxDurationMs (plus the recount's 1 s and the release's 2 s) with status partial; resumed, nothing lost, the counts add up`, async () => {
  const rand = random(SEED + 2);
  const runs = Math.max(3, Math.round(FAULTS / 5));
  const proxy = await TcpProxy.start(t.uri);
  const client = new MongoClient(proxy.uri, CLIENT_OPTIONS);
  const started = performance.now();
  try {
    const TOTAL = 1_500;
    const batchSize = 20;
    const budget = 1_000;
    const seeded = await seed(t.db, 'silent', TOTAL);
    const users = client.db(t.db.databaseName).collection<RawUser>('silent');
    const reports: SweepReport[] = [];
    const overruns: number[] = [];
    for (let round = 0; round < runs; round++) {
      const afterMs = 50 + rand() * 700;
      const timer = setTimeout(() => proxy.blackHole(), afterMs);
      const runStarted = performance.now();
      const report = await sweep(users, User, { batchSize, ratePerSecond: 400, pauseMs: 0, maxDurationMs: budget, retryDelayMs: 50 });
      const elapsed = performance.now() - runStarted;
      clearTimeout(timer);
      expect(proxy.mode, 'the server stopped answering before the budget ran out').toBe('black-hole');
      expect(report).toMatchObject({ status: SweepStatus.PARTIAL, error: { name: 'TimeBudgetSpent' } });
      // Past the budget: the writes of the batch in flight (1 s), the final recount (1 s), the
      // release (2 s), and scheduling slack.
      expect(elapsed).toBeLessThan(budget + 1_000 + 1_000 + 2_000 + 1_000);
      overruns.push(Math.round(elapsed - budget));
      reports.push(report);
      proxy.resume();
      await expectIntact(t.db, 'silent', seeded, false);
      await expireLease(t.db, 'silent');
    }
    const final = await finish(t.db, 'silent', seeded, reports, batchSize);
    process.stderr.write(`[reliability faults] black-holed server: seed ${SEED}, ${runs} runs with maxDurationMs ${budget}, each partial (TimeBudgetSpent), ended ${overruns.join('/')} ms past the budget (max ${Math.max(...overruns)}), final run migrated ${final.migrated}, ${TOTAL} documents, lost 0, ${Math.round(performance.now() - started)} ms\n`);
  } finally {
    await client.close().catch(() => undefined);
    await proxy.close();
  }
}, 300_000);
