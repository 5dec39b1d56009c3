/**
 * The bad-input corpus: stored versions of every wrong type, future versions, upcasters that throw,
 * reject, return non-documents or invalid documents, wrong options, projections the wrapper cannot
 * apply, updates that touch the version field, invalid and oversized documents. Each case runs on
 * every method it applies to and must end in a typed error (a `MoltError` subclass) that names the
 * document (or the option) and says what to do, with the store unchanged. The sweeper never
 * throws on a bad document: it records the failure, leaves the document as it was, and goes on.
 */
import type { Collection, Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineSchema,
  DocumentError,
  InvalidOptionError,
  InvalidVersionError,
  MoltError,
  NewerVersionError,
  sweep,
  UpcastError,
  ValidationError,
  versioned,
} from 'mongo-molt';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase('rel_bad_inputs');

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), display_name: z.string() });
const rename = ({ full_name, ...rest }: z.output<typeof V1>) => ({ ...rest, display_name: full_name });
const Good = defineSchema('bad-inputs').version(1, V1).version(2, V2, rename);

/** A schema whose one upcaster misbehaves as `up` says. */
function withUpcaster(up: (v1: z.output<typeof V1>) => unknown) {
  return defineSchema('bad-inputs').version(1, V1).version(2, V2, up as unknown as typeof rename);
}

type ErrorClass = abstract new (...args: never[]) => MoltError;
let collections = 0;
async function store(doc: Document): Promise<Collection<Document>> {
  const raw = t.db.collection<Document>(`c${collections++}`);
  await raw.insertOne(doc);
  return raw;
}
async function snapshot(raw: Collection<Document>): Promise<Document[]> {
  return raw.find({}).sort({ _id: 1 }).toArray();
}

/** Asserts a typed error that names the document `_id` and says what to do. */
function expectDocumentError(error: unknown, type: ErrorClass, id: string): void {
  expect(error).toBeInstanceOf(MoltError);
  expect(error).toBeInstanceOf(type);
  expect(error).toBeInstanceOf(DocumentError);
  expect((error as DocumentError)._id).toBe(id);
  expect((error as Error).message).toContain(JSON.stringify(id));
  // What to do: every document error's message gives a remedy.
  expect((error as Error).message).toMatch(/[Ff]ix|Deploy|use |[Rr]emove|Migrate|Retry|pass /);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a result');
}

/** Every read or update method that meets a stored document, with its call. */
const STORED_DOCUMENT_METHODS: readonly [string, (users: ReturnType<typeof versioned>, _id: string) => Promise<unknown>][] = [
  ['findOne', (users, _id) => users.findOne({ _id } as never)],
  ['find().toArray()', (users, _id) => users.find({ _id } as never).toArray()],
  ['find() async iteration', async (users) => {
    for await (const doc of users.find({})) void doc;
  }],
  ['find().project()', (users, _id) => users.find({ _id } as never).project({ display_name: 1 } as never).toArray()],
  ['findOneAndUpdate', (users, _id) => users.findOneAndUpdate({ _id } as never, { $set: { touched: true } } as never)],
  ['updateOne', (users, _id) => users.updateOne({ _id } as never, { $set: { touched: true } } as never)],
  ['updateMany', (users, _id) => users.updateMany({ _id } as never, { $set: { touched: true } } as never)],
  ['distinct', (users, _id) => users.distinct('display_name' as never, { _id } as never)],
];

/**
 * Runs one stored-document case on every method, with and without write-back, and on the sweeper.
 * `sweeper`: `records` (a stale document: the sweep records a failure) or `passes` (a document the
 * stale filter does not select: a newer version, or a version field that is not a version; the
 * sweep leaves it alone and records nothing).
 */
async function storedDocumentCase(doc: Document, schema: ReturnType<typeof withUpcaster>, type: ErrorClass, sweeper: 'records' | 'passes' = 'records', extra: { upcastTimeoutMs?: number } = {}): Promise<void> {
  const raw = await store(doc);
  const before = await snapshot(raw);
  for (const writeBackOnRead of [false, true]) {
    const users = versioned(raw, schema, { writeBackOnRead, ...extra });
    for (const [name, call] of STORED_DOCUMENT_METHODS) {
      const error = await rejection(call(users as never, doc._id as string)).catch((wrong: unknown) => wrong);
      try {
        expectDocumentError(error, type, doc._id as string);
      } catch (failure) {
        throw new Error(`${name} (writeBackOnRead: ${writeBackOnRead}): ${(failure as Error).message}; got ${String(error)}`);
      }
    }
    await users.flush();
    expect(await snapshot(raw), 'the store is unchanged').toEqual(before);
  }
  // The sweeper records the failure, leaves the document untouched, and reports it.
  const report = await sweep(raw, schema, { ...extra, ratePerSecond: Infinity, pauseMs: 0, failuresCollection: `${raw.collectionName}_failures`, stateCollection: `${raw.collectionName}_state` });
  expect(report).toMatchObject({ status: 'complete', failed: sweeper === 'records' ? 1 : 0, migrated: 0 });
  const failure = await t.db.collection(`${raw.collectionName}_failures`).findOne({});
  if (sweeper === 'records') {
    expect(failure).toMatchObject({ error: { name: type.name } });
    expect(JSON.stringify(failure)).toContain(JSON.stringify(doc._id));
  } else {
    expect(failure).toBeNull();
  }
  expect(await snapshot(raw), 'the sweeper left the store unchanged').toEqual(before);
}

describe('stored versions of every wrong type: InvalidVersionError', () => {
  const wrong: readonly [string, unknown][] = [
    ['a numeric string', '2'],
    ['a word', 'two'],
    ['a fraction', 1.5],
    ['zero', 0],
    ['a negative integer', -1],
    ['a boolean', true],
    ['an object', { v: 2 }],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a date', new Date(0)],
    ['an integer beyond 2^53', 2 ** 60],
  ];
  for (const [label, version] of wrong) {
    it(`schemaVersion: ${label}`, async () => {
      await storedDocumentCase({ _id: `bad-${label}`, full_name: 'Ada', schemaVersion: version }, Good, InvalidVersionError, 'passes');
    });
  }
  it('schemaVersion: an array holding a version below the latest ([1])', async () => {
    await storedDocumentCase({ _id: 'bad-array-1', full_name: 'Ada', schemaVersion: [1] }, Good, InvalidVersionError, 'records');
  });
  // Was a defect: the update phase's filter { schemaVersion: <write version> } matched an array that
  // holds the write version (MongoDB's array semantics); it now excludes arrays.
  it('schemaVersion: an array holding the latest version ([2]): updates refuse it too', async () => {
    await storedDocumentCase({ _id: 'bad-array-2', full_name: 'Ada', schemaVersion: [2] }, Good, InvalidVersionError, 'passes');
  });
});

describe('future versions: NewerVersionError (onNewerVersion: error)', () => {
  for (const version of [3, 1_000]) {
    it(`schemaVersion: ${version} (this code knows 2)`, async () => {
      await storedDocumentCase({ _id: `future-${version}`, display_name: 'Ada', schemaVersion: version }, Good, NewerVersionError, 'passes');
    });
  }
});

describe('stored documents that do not match their own version', () => {
  it('a version-1 document without full_name: the upcast result fails validation', async () => {
    await storedDocumentCase({ _id: 'no-name', schemaVersion: 1 }, Good, ValidationError);
  });
  it('a version-1 document whose full_name is a number', async () => {
    await storedDocumentCase({ _id: 'numeric-name', full_name: 42, schemaVersion: 1 }, Good, ValidationError);
  });
});

describe('upcasters that misbehave', () => {
  const cases: readonly [string, (v1: z.output<typeof V1>) => unknown, ErrorClass][] = [
    ['throws an Error', () => { throw new Error('boom'); }, UpcastError],
    ['throws a string', () => { throw 'boom'; }, UpcastError],
    ['throws undefined', () => { throw undefined; }, UpcastError],
    ['rejects', () => Promise.reject(new Error('async boom')), UpcastError],
    ['rejects later', () => new Promise((_resolve, reject) => setTimeout(() => reject(new Error('late boom')), 5)), UpcastError],
    ['returns null', () => null, UpcastError],
    ['returns undefined', () => undefined, UpcastError],
    ['returns a number', () => 42, UpcastError],
    ['returns a string', () => 'display_name', UpcastError],
    ['returns an array', () => [], UpcastError],
    ['resolves to null', () => Promise.resolve(null), UpcastError],
    ['returns a document of the wrong shape', (v1) => ({ _id: v1._id, display_name: 5 }), ValidationError],
    ['returns a document missing a required field', (v1) => ({ _id: v1._id }), ValidationError],
  ];
  for (const [label, up, type] of cases) {
    it(`an upcaster that ${label}: ${type.name}`, async () => {
      await storedDocumentCase({ _id: `up-${label}`, full_name: 'Ada', schemaVersion: 1 }, withUpcaster(up), type);
    });
  }

  // Was a defect: nothing checked that an upcaster keeps the document's _id; the engine now refuses it.
  it('an upcaster that returns a document with a different _id: an UpcastError', async () => {
    await storedDocumentCase({ _id: 'up-changes-id', full_name: 'Ada', schemaVersion: 1 }, withUpcaster((v1) => ({ _id: `${v1._id}-changed`, display_name: v1.full_name })), UpcastError);
  });

  // Was a defect: an upcaster that never settles held reads and sweeps forever; upcastTimeoutMs bounds it.
  it('an upcaster that never settles: an UpcastError after upcastTimeoutMs, on reads, updates and the sweeper', async () => {
    const started = Date.now();
    await storedDocumentCase({ _id: 'up-never-settles', full_name: 'Ada', schemaVersion: 1 }, withUpcaster(() => new Promise(() => undefined)), UpcastError, 'records', { upcastTimeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('wrong options: InvalidOptionError before any I/O', () => {
  const wrapperOptions: readonly [string, Document][] = [
    ['writeBackOnRead', { writeBackOnRead: 'yes' }],
    ['writeVersion', { writeVersion: 0 }],
    ['writeVersion', { writeVersion: 3 }],
    ['writeVersion', { writeVersion: 1.5 }],
    ['onNewerVersion', { onNewerVersion: 'ignore' }],
    ['validate', { validate: 'sometimes' }],
    ['writeBackBatchSize', { writeBackBatchSize: 0 }],
    ['compareOn', { compareOn: 'fields' }],
    ['writeback', { writeback: true }],
  ];
  for (const [option, options] of wrapperOptions) {
    it(`versioned(…, ${JSON.stringify(options)})`, async () => {
      const raw = await store({ _id: 'x', full_name: 'Ada', schemaVersion: 1 });
      const error = (() => {
        try {
          versioned(raw, Good, options as never);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
      expect(await snapshot(raw)).toEqual([{ _id: 'x', full_name: 'Ada', schemaVersion: 1 }]);
    });
  }
  const sweepOptions: readonly [string, Document][] = [
    ['batchSize', { batchSize: 0 }],
    ['batchSize', { batchSize: 2.5 }],
    ['ratePerSecond', { ratePerSecond: 0 }],
    ['ratePerSecond', { ratePerSecond: -1 }],
    ['pauseMs', { pauseMs: -5 }],
    ['maxDurationMs', { maxDurationMs: -1 }],
    ['leaseMs', { leaseMs: 0 }],
    ['maxRetries', { maxRetries: -1 }],
    ['compareOn', { compareOn: 'fields' }],
    ['stateCollection', { stateCollection: '' }],
    ['batchsize', { batchsize: 10 }],
  ];
  for (const [option, options] of sweepOptions) {
    it(`sweep(…, ${JSON.stringify(options)})`, async () => {
      const raw = await store({ _id: 'x', full_name: 'Ada', schemaVersion: 1 });
      const error = await rejection(Promise.resolve().then(() => sweep(raw, Good, options as never)));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
      expect(await snapshot(raw)).toEqual([{ _id: 'x', full_name: 'Ada', schemaVersion: 1 }]);
      // No state, lease or index was written.
      expect(await t.db.collection('molt_state').countDocuments({})).toBe(0);
      expect((await raw.indexes()).map((index) => index.name)).toEqual(['_id_']);
    });
  }
});

describe('projections the wrapper cannot apply: InvalidOptionError', () => {
  const projections: readonly Document[] = [
    { 'tags.$': 1 },
    { tags: { $slice: 1 } },
    { tags: { $elemMatch: { $eq: 'a' } } },
    { score: { $meta: 'textScore' } },
    { display_name: 1, email: 0 },
    { display_name: 'yes' },
  ];
  for (const projection of projections) {
    const check = (_id: string, writeBackOnRead: boolean) => async () => {
      const raw = await store({ _id: 'p', full_name: 'Ada', schemaVersion: 1 });
      const users = versioned(raw, Good, { writeBackOnRead });
      {
        const calls: readonly [string, () => Promise<unknown>][] = [
          ['findOne', () => users.findOne({ _id }, { projection } as never)],
          ['find', () => users.find({ _id }, { projection } as never).toArray()],
          ['find().project()', () => users.find({ _id }).project(projection as never).toArray()],
        ];
        for (const [name, call] of calls) {
          const error = await rejection(Promise.resolve().then(call)).catch((wrong: unknown) => wrong);
          expect(error, `${name} on ${_id}`).toBeInstanceOf(InvalidOptionError);
        }
      }
      await users.flush();
      expect(await snapshot(raw)).toEqual([{ _id: 'p', full_name: 'Ada', schemaVersion: 1 }]);
    };
    it(`projection ${JSON.stringify(projection)} on findOne, find and find().project() of a stored document`, check('p', false));
    // Were defects: findOne compiled the projection only when a document came back, so a read that
    // matched nothing accepted any projection, and a refused read had already queued its write-back.
    it(`projection ${JSON.stringify(projection)} on findOne, find and find().project() that match nothing: refused`, check('no-such-document', false));
    it(`projection ${JSON.stringify(projection)} with writeBackOnRead: the refused read writes nothing back`, check('p', true));
  }
});

describe('updates that touch the version field: InvalidOptionError, nothing written', () => {
  const updates: readonly Document[] = [
    { $set: { schemaVersion: 5 } },
    { $inc: { schemaVersion: 1 } },
    { $unset: { schemaVersion: '' } },
    { $rename: { schemaVersion: 'v' } },
    { $rename: { display_name: 'schemaVersion' } },
    { $min: { schemaVersion: 0 } },
    [{ $set: { schemaVersion: 7 } }],
  ];
  for (const update of updates) {
    it(`update ${JSON.stringify(update)} on updateOne, updateMany and findOneAndUpdate`, async () => {
      const raw = await store({ _id: 'u', full_name: 'Ada', schemaVersion: 1 });
      const users = versioned(raw, Good);
      const calls: readonly [string, () => Promise<unknown>][] = [
        ['updateOne', () => users.updateOne({ _id: 'u' }, update as never)],
        ['updateMany', () => users.updateMany({ _id: 'u' }, update as never)],
        ['findOneAndUpdate', () => users.findOneAndUpdate({ _id: 'u' }, update as never)],
      ];
      for (const [name, call] of calls) {
        const error = await rejection(Promise.resolve().then(call)).catch((wrong: unknown) => wrong);
        expect(error, name).toBeInstanceOf(MoltError);
        expect((error as Error).message, name).toContain('schemaVersion');
      }
      // Refused before any I/O: not even the stale match was migrated.
      expect(await snapshot(raw)).toEqual([{ _id: 'u', full_name: 'Ada', schemaVersion: 1 }]);
    });
  }
});

describe('invalid documents written by the app: ValidationError, nothing written', () => {
  it('insertOne, insertMany (one bad among good), replaceOne, findOneAndReplace', async () => {
    const raw = await store({ _id: 'w', display_name: 'Ada', schemaVersion: 2 });
    const users = versioned(raw, Good);
    const calls: readonly [string, string, () => Promise<unknown>][] = [
      ['insertOne', 'new', () => users.insertOne({ _id: 'new', display_name: 42 } as never)],
      ['insertMany', 'bad', () => users.insertMany([{ _id: 'ok', display_name: 'Ok' }, { _id: 'bad' }] as never)],
      ['replaceOne', 'w', () => users.replaceOne({ _id: 'w' }, { _id: 'w', full_name: 'old shape' } as never)],
      ['findOneAndReplace', 'w', () => users.findOneAndReplace({ _id: 'w' }, { _id: 'w', display_name: null } as never)],
    ];
    for (const [name, id, call] of calls) {
      const error = await rejection(Promise.resolve().then(call)).catch((wrong: unknown) => wrong);
      expect(error, name).toBeInstanceOf(ValidationError);
      expect((error as ValidationError)._id, name).toBe(id);
    }
    expect(await snapshot(raw)).toEqual([{ _id: 'w', display_name: 'Ada', schemaVersion: 2 }]);
  });
});

describe('oversized documents', () => {
  const big = 'x'.repeat(9 * 1024 * 1024);
  it('an upcaster whose result is over 16 MiB: the update is refused with a typed error, the sweeper records a failure, the store is unchanged', async () => {
    const raw = await store({ _id: 'big', full_name: big, schemaVersion: 1 });
    const before = await snapshot(raw);
    // display_name and a copy of it: twice 9 MiB, over the server's 16 MiB limit.
    const schema = withUpcaster((v1) => ({ ...rename(v1), copy: v1.full_name }));
    const users = versioned(raw, schema);
    const error = await rejection(users.updateOne({ _id: 'big' }, { $set: { touched: true } } as never));
    expect(error).toBeInstanceOf(MoltError);
    expect((error as DocumentError)._id).toBe('big');
    expect(await snapshot(raw)).toEqual(before);
    const report = await sweep(raw, schema, { ratePerSecond: Infinity, pauseMs: 0, failuresCollection: 'big_failures', stateCollection: 'big_state' });
    expect(report).toMatchObject({ failed: 1, migrated: 0 });
    expect(JSON.stringify(await t.db.collection('big_failures').find({}).toArray())).toContain('"big"');
    expect(await snapshot(raw)).toEqual(before);
  }, 120_000);

  // Was a defect: the driver's BSON serializer threw a bare RangeError; now a DocumentTooLargeError.
  it('insertOne of a document over 16 MiB: a typed error naming the document, nothing written', async () => {
    const raw = await store({ _id: 'seed', display_name: 'Ada', schemaVersion: 2 });
    const users = versioned(raw, Good);
    const error = await rejection(users.insertOne({ _id: 'huge', display_name: `${big}${big}` } as never));
    expect(error).toBeInstanceOf(MoltError);
    expect((error as DocumentError)._id).toBe('huge');
    expect(await raw.countDocuments({})).toBe(1);
  }, 120_000);
});
