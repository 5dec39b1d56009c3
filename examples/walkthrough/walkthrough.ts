/**
 * The zero-downtime schema change, step by step, on one collection: expand, switch, migrate, the
 * escape hatch (roll back, then forward again), contract. Release 2 of an app stores users as `{ display_name, email }`; release 3 splits the
 * name into `name.given` and `name.family` (schemas/users.ts). Old and new code run side by side
 * during the rolling deploy; nothing stops, nothing breaks.
 *
 *   npx tsx examples/walkthrough/walkthrough.ts
 *
 * Environment: MONGODB_URI (required), MOLT_DB (default molt_walkthrough: dropped at the start,
 * left at the end for you to look at).
 */
import { join } from 'node:path';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { defineSchema, MoltError, migrationStatus, versioned, type AnyVersionedSchema } from 'mongo-molt';
import { runCli } from 'mongo-molt/cli';
import { User, UserThroughV2, UserV3 } from '../../schemas/users.js';

const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error('walkthrough: set MONGODB_URI (npm run db:start prints one)');
  process.exit(2);
}
const dbName = process.env.MOLT_DB ?? 'molt_walkthrough';
const CONFIG = join(import.meta.dirname, 'molt.config.ts');

let stepNumber = 0;
const step = (title: string, why: string) => console.log(`\n── Step ${++stepNumber}: ${title}\n   ${why}`);
const say = (text: string) => console.log(`   ${text}`);
const show = (label: string, value: unknown) => say(`${label.padEnd(34)} ${JSON.stringify(value)}`);

/** The versions the collection holds, as `molt status` counts them. */
async function histogram(collection: Collection<Document>, schema: AnyVersionedSchema): Promise<string> {
  const status = await migrationStatus(collection, schema);
  return status.histogram.map(({ version, count }) => `${version === null ? 'unversioned' : `v${String(version)}`}: ${count}`).join(', ');
}

/** Runs `molt <args>` in this process with the walkthrough's config; resolves to its exit code. */
async function molt(...args: string[]): Promise<number> {
  say(`$ molt ${args.join(' ')}`);
  const code = await runCli([...args, '--config', CONFIG], {
    stdout: (text) => void process.stdout.write(text.replace(/^(?=.)/gm, '     ')),
    stderr: (text) => void process.stderr.write(text),
    env: { ...process.env, MONGODB_URI: uri, MOLT_DB: dbName, MOLT_LOG_LEVEL: process.env.MOLT_LOG_LEVEL ?? 'warn' },
    cwd: process.cwd(),
    interactive: false,
  });
  say(`(exit ${code})`);
  return code;
}

/** The first sentence of a library error: its class and what happened. */
function firstSentence(error: unknown): string {
  if (!(error instanceof MoltError)) throw error;
  return `${error.name}: ${error.message.split(/(?<=\.) /)[0] ?? error.message}`;
}

const client = await MongoClient.connect(uri);
try {
  const db = client.db(dbName);
  await db.dropDatabase();
  const raw = db.collection('users');

  step('before: release 2 runs everywhere', 'Users from release 1 have no version field; release 2 stored { display_name, email } at v2.');
  const created_at = new Date('2020-06-01T00:00:00Z');
  await raw.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `r1-${String(i).padStart(4, '0')}` as never, full_name: `Ada Lovelace${i}`, created_at })));
  await raw.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `r2-${String(i).padStart(4, '0')}` as never, display_name: `Grace Hopper${i}`, email: null, created_at, schemaVersion: 2 })));
  const release2 = versioned(db.collection('users'), UserThroughV2);
  say(`stored: ${await histogram(raw, User)}`);
  show('release 2 reads r1-0000 as', await release2.findOne({ _id: 'r1-0000' }));

  step('expand: deploy release 3 with writeVersion: 2', 'Release 3 knows v3, but release 2 instances still serve traffic: release 3 reads every version as v3 and still writes v2, through the v3 -> v2 downcaster.');
  const release3Expand = versioned(db.collection('users'), User, { writeVersion: 2 });
  show('release 3 reads r1-0000 as', await release3Expand.findOne({ _id: 'r1-0000' }));
  show('release 3 reads r2-0000 as', await release3Expand.findOne({ _id: 'r2-0000' }));
  await release3Expand.insertOne({ _id: 'new-1', name: { given: 'Barbara', family: 'Liskov' }, email: 'barbara@example.org', created_at: new Date('2024-01-01T00:00:00Z') });
  show('release 3 inserts new-1, stored as', await raw.findOne({ _id: 'new-1' as never }));
  show('release 2 reads new-1 as', await release2.findOne({ _id: 'new-1' }));
  await release2.updateOne({ _id: 'r2-0001' }, { $set: { email: 'grace@example.org' } });
  say('release 2 sets an email on r2-0001 (its own update, stored at v2)');
  show('release 3 reads r2-0001 as', await release3Expand.findOne({ _id: 'r2-0001' }));
  try {
    UserThroughV2.migrateSync({ _id: 'x', name: { given: 'A', family: null }, email: null, created_at, schemaVersion: 3 });
  } catch (error) {
    say(`Why pin: had release 3 written v3, release 2 would read ${firstSentence(error)}`);
  }

  step('switch: every instance runs release 3; drop writeVersion', 'No reader of v2-only code is left, so new writes store v3. Old documents still read as v3 through the upcasters.');
  const release3 = versioned(db.collection('users'), User);
  await release3.insertOne({ _id: 'new-2', name: { given: 'Edsger', family: 'Dijkstra' }, email: null, created_at: new Date('2024-02-01T00:00:00Z') });
  show('release 3 inserts new-2, stored as', await raw.findOne({ _id: 'new-2' as never }));
  await release3.updateOne({ _id: 'r1-0002' }, { $set: { email: 'ada@example.org' } });
  show('release 3 updates r1-0002, stored as', await raw.findOne({ _id: 'r1-0002' as never }));
  say(`stored: ${await histogram(raw, User)}`);

  step('migrate: check, then sweep what nobody touched', 'The contract step will need every document at v3. The gate says no yet; a dry run says every upcast would pass; the sweeper does the rest in throttled batches.');
  await molt('verify', 'users', '--min-version', '3');
  await molt('check', 'users');
  await molt('sweep', 'users');
  await molt('verify', 'users', '--min-version', '3');
  say(`stored: ${await histogram(raw, User)}`);

  step('the escape hatch: roll back to v2, then forward again', 'Say release 3 turns out bad after the sweep. Pin its writes at v2 (release 2 can read them), sweep every document down to v2 through the downcaster (which pins the collection at v2: the cron job keeps it there), and release 2 can be deployed again. Once fixed, unpin and sweep forward.');
  const release3Pinned = versioned(db.collection('users'), User, { writeVersion: 2 });
  await release3Pinned.updateOne({ _id: 'new-2' }, { $set: { email: 'edsger@example.org' } });
  say('release 3, pinned at v2 again, updates new-2 (stored at v2)');
  await molt('sweep', 'users', '--to', '2');
  say(`stored: ${await histogram(raw, User)}`);
  show('release 2 reads new-2 as', await release2.findOne({ _id: 'new-2' }));
  say('the cron job runs plain molt sweep meanwhile: the collection stays pinned at v2, and the run says so');
  await molt('sweep', 'users');
  say(`stored: ${await histogram(raw, User)}`);
  say('fixed: unpin, and the next sweep goes forward to v3');
  await molt('unpin', 'users');
  await molt('sweep', 'users');
  say(`stored: ${await histogram(raw, User)}`);

  step('contract: retire the upcasters from v1 and v2', "With the gate green, release 4 defines users from v3 on: UserV1, UserV2 and both upcasters can be deleted. 'unversioned: 3' because a schema starts at 1 or at its unversioned version.");
  const UserFromV3 = defineSchema('user', { unversioned: 3 }).version(3, UserV3);
  const release4 = versioned(db.collection('users'), UserFromV3);
  show('release 4 reads r1-0000 as', await release4.findOne({ _id: 'r1-0000' }));
  say(`release 4 reads all ${await release4.find({}).toArray().then((users) => users.length)} users without an upcaster`);
  // What the gate protects against: a straggler of release 2 writing after the contract.
  await raw.insertOne({ _id: 'straggler' as never, display_name: 'Late Writer', email: null, created_at, schemaVersion: 2 });
  try {
    await release4.findOne({ _id: 'straggler' });
  } catch (error) {
    say(`Had a release-2 instance still been writing, release 4 would read ${firstSentence(error)}`);
  }
  await molt('verify', 'users', '--min-version', '3');
  await raw.deleteOne({ _id: 'straggler' as never });
  say('Run the gate in CI before the contract deploy: molt verify --min-version 3 exits 1 while any document is older.');
} finally {
  await client.close();
}
