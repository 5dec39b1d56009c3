/**
 * `npm run demo`: mongo-molt end to end on an embedded server, in under a minute.
 *
 * Starts MongoDB (mongodb-memory-server; where it cannot download a mongod, the project's own
 * mongo-java-server), seeds 50,000 users the way the first release stored them, reads a few
 * through the wrapper (they come out in the latest shape, the stored documents untouched), runs
 * `molt status`, `molt sweep` with its progress bar, `molt status` again, and stops everything it
 * started. With MONGODB_URI set it uses that server instead, and touches only its own database.
 *
 * Options (environment): DEMO_USERS (default 50000), DEMO_DB (default molt_demo).
 */
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { versioned } from 'mongo-molt';
import { runCli } from 'mongo-molt/cli';
import { User } from '../schemas/users.js';
import { resolveServer, ROOT } from './servers.js';

const USERS = Number(process.env.DEMO_USERS ?? 50_000);
const BATCH = 5_000;
const DB = process.env.DEMO_DB ?? 'molt_demo';
const CONFIG = join(ROOT, 'examples', 'cron', 'molt.config.ts');

const started = Date.now();
const color = process.stdout.isTTY === true;
const bold = (text: string) => (color ? `\x1b[1m${text}\x1b[22m` : text);
const dim = (text: string) => (color ? `\x1b[2m${text}\x1b[22m` : text);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const step = (title: string) => console.log(`\n${bold(`▸ ${title}`)}`);

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Dennis', 'Plato'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'McCarthy', 'Hamilton', 'Ritchie'];

/** The i-th user as release 1 stored it: `full_name`, no version field. Every 11th has a one-word name. */
function legacyUser(index: number): { _id: string; full_name: string; created_at: Date } {
  const first = FIRST[index % FIRST.length] ?? 'Ada';
  const full_name = first === 'Plato' ? first : `${first} ${LAST[Math.floor(index / FIRST.length) % LAST.length] ?? 'Lovelace'}`;
  return { _id: `user-${String(index).padStart(6, '0')}`, full_name, created_at: new Date(Date.UTC(2019, 0, 1) + index * 60_000) };
}

/** `molt <args>` in this process, with the demo's config and server; its output goes to this terminal. */
async function molt(uri: string, ...args: string[]): Promise<number> {
  console.log(dim(`$ molt ${args.join(' ')}`));
  return runCli([...args, '--config', CONFIG], {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    // Without a terminal molt logs JSON lines; warnings are enough here.
    env: { ...process.env, MONGODB_URI: uri, MOLT_DB: DB, MOLT_LOG_LEVEL: process.env.MOLT_LOG_LEVEL ?? 'warn' },
    cwd: ROOT,
    interactive: process.stderr.isTTY === true,
    columns: process.stderr.columns || 80,
  });
}

// The config reads MOLT_DB when it is loaded: the demo's database, whatever the shell says.
process.env.MOLT_DB = DB;

console.log(bold('mongo-molt demo: old documents read as new, then a collection swept'));

step('Starting MongoDB');
let since = Date.now();
const server = await resolveServer({ log: (line) => console.log(dim(line)) });
const client = await MongoClient.connect(server.uri);
let exitCode = 0;
try {
  console.log(`${server.source} at ${server.uri} ${dim(`(${seconds(since)})`)}`);
  const db = client.db(DB);
  await db.dropDatabase();

  step(`Seeding ${USERS.toLocaleString('en-US')} users as release 1 stored them: { full_name }, no version field`);
  since = Date.now();
  const raw = db.collection<{ _id: string }>('users');
  for (let offset = 0; offset < USERS; offset += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, USERS - offset) }, (_, index) => legacyUser(offset + index));
    await raw.insertMany(batch, { ordered: false });
  }
  console.log(`inserted ${(await raw.estimatedDocumentCount()).toLocaleString('en-US')} documents ${dim(`(${seconds(since)})`)}`);

  step('Reading through the wrapper: versioned(db.collection("users"), User)');
  console.log(dim('schemas/users.ts: v1 { full_name } -> v2 { display_name, email } -> v3 { name: { given, family }, email }'));
  const users = versioned(db.collection('users'), User);
  for (const id of ['user-000000', 'user-000010', 'user-012345']) {
    const stored = await raw.findOne({ _id: id });
    const latest = await users.findOne({ _id: id });
    console.log(`  stored  ${JSON.stringify(stored)}`);
    console.log(`  read as ${JSON.stringify(latest)}`);
  }
  console.log(dim('  (read-only: without writeBackOnRead the stored documents stay at v1 until written or swept)'));

  step('molt status: what the collection holds');
  await molt(server.uri, 'status', 'users');

  step('molt sweep: migrate every stale document, in throttled, resumable batches');
  since = Date.now();
  const swept = await molt(server.uri, 'sweep', 'users', '--rate', '25000', '--batch-size', '1000', '--pause', '0');
  console.log(dim(`(${seconds(since)}, exit code ${swept})`));
  if (swept !== 0) exitCode = swept;

  step('molt status: every document is now at v3');
  await molt(server.uri, 'status', 'users');
  const verified = await molt(server.uri, 'verify', 'users', '--min-version', '3');
  if (verified !== 0) exitCode = verified;
  await db.dropDatabase();
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await client.close();
  await server.stop();
}

step(`Done in ${seconds(started)}`);
console.log(`Next: examples/app (a service that reads every version), examples/cron (the sweeper from cron),
examples/walkthrough (expand -> migrate -> contract with old and new code side by side).`);
process.exitCode = exitCode;
