/**
 * The app's BSON options never change what the library sees or stores. An app's client, database
 * or collection may set `promoteValues: false`, `useBigInt64`, `raw`… and every operation inherits
 * them; the library's own reads (state, lease, failures, archive, counts, the stored reads of its
 * write paths, the results of its writes) must not. Property: each main operation, run through a
 * handle with one of these options set, stores what it stores through a default client, and
 * reports the same, over generated documents of odd stored forms (every numeric BSON type, -0,
 * binaries, regular expressions, `_id`s of several BSON types, version fields of several types).
 */
import fc from 'fast-check';
import { BSON, MongoClient, type Collection, type Document, type MongoClientOptions } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { checkMigration, defineSchema, migrationStatus, restore, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('bson_options');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] the server-mode sweep of "bson options": ${kind} has no update pipelines\n`);
const AS_STORED = { promoteValues: false, promoteLongs: false, bsonRegExp: true, useBigInt64: false } as const;
const fast = { ratePerSecond: Infinity, pauseMs: 0, batchSize: 2 } as const;

/** The options an app may set on its client (or database, or collection). */
const VARIANTS: Readonly<Record<string, MongoClientOptions>> = {
  'promoteValues: false': { promoteValues: false, promoteLongs: false },
  'promoteLongs: false': { promoteLongs: false },
  'useBigInt64: true': { useBigInt64: true },
  'promoteBuffers: true': { promoteBuffers: true },
  'bsonRegExp: true': { bsonRegExp: true },
  'raw: true': { raw: true },
  'enableUtf8Validation: false': { enableUtf8Validation: false },
};

// Values are typed loosely: what a read decodes them to depends on the app's options (reads
// honour them), and the property is about what is stored.
const Values = { a: z.unknown(), b: z.unknown(), n: z.unknown() };
const V1 = z.object({ _id: z.unknown(), full_name: z.string(), ...Values });
const V2 = z.object({ _id: z.unknown(), display_name: z.string(), email: z.string().nullable(), ...Values });
const V3 = z.object({ _id: z.unknown(), display_name: z.string(), email: z.string().nullable(), tags: z.array(z.string()), ...Values });
const Person = defineSchema('person')
  .version(1, V1)
  .version(2, V2, [step.rename('full_name', 'display_name'), step.add('email', null)])
  .version(3, V3, [step.add('tags', [])]);

const storedValue = fc.oneof(
  fc.double({ noNaN: true }).map((x) => new BSON.Double(x)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((x) => new BSON.Int32(x)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((x) => BSON.Long.fromBigInt(x)),
  fc.constantFrom('1.5', '-0', '1E+30', '3').map((x) => BSON.Decimal128.fromString(x)),
  fc.constant(new BSON.Double(-0)),
  fc.uint8Array({ maxLength: 6 }).map((bytes) => new BSON.Binary(bytes)),
  fc.constantFrom(new BSON.BSONRegExp('^a.c', 'i'), new BSON.BSONRegExp('x+', '')),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
  fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
);
const idOf = [(i: number) => new BSON.Int32(i), (i: number) => new BSON.Double(i + 0.5), (i: number) => BSON.Long.fromNumber(i * 1000), (i: number) => `s${i}`, (i: number) => new BSON.ObjectId(i.toString(16).padStart(24, '0'))];
const versionOf = [undefined, new BSON.Int32(1), new BSON.Double(1), new BSON.Int32(2), new BSON.Double(2), new BSON.Int32(3)];
const storedDoc = fc.record({ id: fc.nat(idOf.length - 1), version: fc.nat(versionOf.length - 1), a: storedValue, b: fc.array(storedValue, { maxLength: 3 }), n: fc.constantFrom(new BSON.Int32(1), new BSON.Double(2), BSON.Long.fromNumber(3)) });
const seedDocs = fc.array(storedDoc, { minLength: 3, maxLength: 8 }).map((docs) =>
  docs.map((doc, i): Document => {
    const version = versionOf[doc.version];
    const numeric = version === undefined ? 1 : version.valueOf();
    const shape = numeric === 1 ? { full_name: `p${i}` } : numeric === 2 ? { display_name: `p${i}`, email: null } : { display_name: `p${i}`, email: null, tags: [] };
    return { _id: idOf[doc.id]!(i), ...shape, a: doc.a, b: doc.b, n: doc.n, ...(version === undefined ? {} : { schemaVersion: version }) };
  }),
);

/** What a scenario leaves behind: the stored documents, as stored, and what it reported. */
interface Outcome {
  readonly stored: string[];
  readonly reported: unknown;
}

type Scenario = (app: Collection<Document>) => Promise<unknown>;

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'find with write-back': async (app) => {
    const people = versioned(app, Person, { writeBackOnRead: true });
    const count = (await people.find({}).toArray()).length;
    await people.close();
    return { count, stats: people.stats };
  },
  'updateOne, updateMany, findOneAndUpdate, replaceOne, insertOne': async (app) => {
    const people = versioned(app, Person);
    const ids = (await app.find({}, { projection: { _id: 1 }, ...AS_STORED, raw: false }).sort({ _id: 1 }).toArray()).map((doc) => doc._id as never);
    const [first, second] = ids;
    const one = await people.updateOne({ _id: first! }, { $set: { display_name: 'first' } });
    const many = await people.updateMany({ _id: { $in: ids.slice(1, 3) } }, { $set: { a: 'many' } });
    await people.findOneAndUpdate({ _id: ids.at(-1)! }, { $push: { tags: 'last' } });
    const replaced = await people.replaceOne({ _id: second! }, { display_name: 'replaced', email: 'r@x', tags: [], a: 1, b: [], n: 2 });
    await people.insertOne({ _id: 'new', display_name: 'new', email: null, tags: ['t'], a: new BSON.Double(1), b: [], n: 0 });
    await people.close();
    return [one, many, replaced].map((result) => [Number(result.matchedCount), Number(result.modifiedCount)]);
  },
  'client sweep': (app) => sweep(app, Person, { ...fast, mode: 'client' }).then(reportOf),
  'server sweep': async (app) => (updatePipelines ? reportOf(await sweep(app, Person, { ...fast, mode: 'server' })) : 'skipped'),
  'archived sweep, reverse sweep, restore': async (app) => [
    reportOf(await sweep(app, Person, { ...fast, mode: 'client', archive: true })),
    reportOf(await sweep(app, Person, { ...fast, mode: 'client', to: 2 })),
    await restore(app),
  ],
  'check and status': async (app) => {
    const check = await checkMigration(app, Person);
    const status = await migrationStatus(app, Person);
    return { check: { ...check, elapsedMs: 0 }, status: { ...status, collection: '' } };
  },
};

function reportOf(report: { status: string; mode?: string; scanned: number; migrated: number; failed: number; remaining: number; error?: unknown }): unknown {
  return { status: report.status, mode: report.mode, scanned: report.scanned, migrated: report.migrated, failed: report.failed, remaining: report.remaining, error: report.error };
}

const clients: MongoClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

let runs = 0;
async function outcomeOf(scenario: Scenario, docs: readonly Document[], options: MongoClientOptions | undefined, level: 'client' | 'collection'): Promise<Outcome> {
  const name = `c${runs++}`;
  await db.collection(name).insertMany(docs.map((doc) => ({ ...doc })));
  let app: Collection<Document> = db.collection(name);
  if (options !== undefined && level === 'collection') app = db.collection(name, options);
  if (options !== undefined && level === 'client') {
    const client = await new MongoClient(uri, options).connect();
    clients.push(client);
    app = client.db(db.databaseName).collection(name);
  }
  const reported = await scenario(app).catch((error: unknown) => ({ threw: String(error) }));
  const stored = await db.collection(name).find({}, AS_STORED).sort({ _id: 1 }).toArray();
  return { stored: stored.map((doc) => BSON.EJSON.stringify(doc, { relaxed: false })), reported: normalized(reported) };
}

/** Collection names and times differ between runs; the rest must not. */
function normalized(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, item: unknown) => (/At$|Ms$|^collection$|^owner$|^expires|^updated|^started|^finished|^duration/i.test(key) ? undefined : typeof item === 'bigint' ? String(item) : item))) as unknown;
}

describe('an app client with its own BSON options', () => {
  for (const [scenarioName, scenario] of Object.entries(SCENARIOS)) {
    it(`${scenarioName}: stores and reports what a default client does, for each option, on a client or a collection`, async () => {
      await fc.assert(
        fc.asyncProperty(seedDocs, async (docs) => {
          const expected = await outcomeOf(scenario, docs, undefined, 'client');
          expect(JSON.stringify(expected.reported)).not.toMatch(/threw|LeaseLost|locked|aborted/);
          for (const [variant, options] of Object.entries(VARIANTS)) {
            for (const level of ['client', 'collection'] as const) {
              const actual = await outcomeOf(scenario, docs, options, level);
              expect({ variant, level, ...actual }).toEqual({ variant, level, ...expected });
            }
          }
        }),
        { numRuns: 2 },
      );
    }, 240_000);
  }
});

describe('an app client with promoteValues: false, replacing a document of a version from the future', () => {
  it('replaceOne and findOneAndReplace refuse it with NewerVersionError naming the version as a number, as on a default client', async () => {
    const client = await new MongoClient(uri, { promoteValues: false }).connect();
    clients.push(client);
    await db.collection('future').insertOne({ _id: 'f', display_name: 'from v9', schemaVersion: 9 } as Document);
    for (const app of [db.collection('future'), client.db(db.databaseName).collection('future')]) {
      const people = versioned(app, Person);
      const replacement = { display_name: 'r', email: null, tags: [], a: 1, b: [], n: 1 };
      for (const write of [() => people.replaceOne({ _id: 'f' as never }, replacement), () => people.findOneAndReplace({ _id: 'f' as never }, replacement)]) {
        const error = await write().then(() => undefined, (caught: unknown) => caught);
        expect(error).toMatchObject({ name: 'NewerVersionError', version: 9 });
      }
    }
    expect(await db.collection('future').findOne({ _id: 'f' } as Document)).toMatchObject({ display_name: 'from v9', schemaVersion: 9 });
  });
});
