import { beforeEach, describe, expect, expectTypeOf, inject, it } from 'vitest';
import { z } from 'zod';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { pino } from 'pino';
import {
  defineSchema,
  InvalidOptionError,
  InvalidVersionError,
  NewerVersionError,
  UpcastError,
  ValidationError,
  versioned,
  type Infer,
} from 'mongo-molt';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';
import { User, UserV1, UserV2, UserV3 } from './fixtures/user-schema.js';

const t = useTestDatabase('collection');
let raw: Collection<Document>;
let counter = 0;

/** Seeds one document per stored shape: unversioned, v1, v2, v3. */
const seed = [
  { _id: 'u0', full_name: 'Unversioned Una', logins: 0 } as Document,
  { _id: 'u1', full_name: 'Ada Lovelace', logins: 1, schemaVersion: 1 },
  { _id: 'u2', display_name: 'Grace Hopper', email: 'grace@example.org', logins: 2, schemaVersion: 2 },
  { _id: 'u3', display_name: 'Linus', email: null, tags: ['x'], logins: 3, schemaVersion: 3 },
];

beforeEach(async () => {
  raw = t.db.collection(`users_${++counter}`);
  await raw.insertMany(seed.map((doc) => ({ ...doc })));
});

const stored = (id: string) => raw.findOne({ _id: id as never });

describe('reads', () => {
  it('hands out every stored version at the latest shape, without the version field', async () => {
    const users = versioned(raw, User);
    expect(await users.findOne({ _id: 'u0' })).toEqual({ _id: 'u0', display_name: 'Unversioned Una', email: null, tags: [], logins: 0 });
    expect(await users.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: [], logins: 1 });
    expect(await users.findOne({ _id: 'u2' })).toEqual({ _id: 'u2', display_name: 'Grace Hopper', email: 'grace@example.org', tags: [], logins: 2 });
    expect(await users.findOne({ _id: 'u3' })).toEqual({ _id: 'u3', display_name: 'Linus', email: null, tags: ['x'], logins: 3 });
    expect(await users.findOne({ _id: 'nobody' })).toBeNull();
    expect(await stored('u1')).toMatchObject({ full_name: 'Ada Lovelace', schemaVersion: 1 });
  });

  it('types documents with the latest shape', async () => {
    const users = versioned(raw, User);
    const doc = await users.findOne({ _id: 'u1' });
    const name: string | undefined = doc?.display_name;
    expectTypeOf(doc).not.toBeAny();
    expectTypeOf(doc!.display_name).toEqualTypeOf<string>();
    expectTypeOf(doc!.tags).toEqualTypeOf<string[]>();
    expectTypeOf(doc!._id).toEqualTypeOf<string>();
    // @ts-expect-error full_name is not part of the latest shape
    void doc?.full_name;
    expect(name).toBe('Ada Lovelace');
  });

  it('iterates a cursor with sort, skip, limit, next, toArray and for await', async () => {
    const users = versioned(raw, User);
    const sorted = await users.find({}).sort({ _id: -1 }).skip(1).limit(2).toArray();
    expect(sorted.map((doc) => doc._id)).toEqual(['u2', 'u1']);
    expect(sorted[1]).not.toHaveProperty('schemaVersion');
    const cursor = users.find({}, { sort: { _id: 1 } });
    expect((await cursor.next())?.display_name).toBe('Unversioned Una');
    await cursor.close();
    const names: string[] = [];
    for await (const doc of users.find({ logins: { $gte: 1 } }).sort({ logins: 1 })) names.push(doc.display_name);
    expect(names).toEqual(['Ada Lovelace', 'Grace Hopper', 'Linus']);
    const mapped = await users.find({}).sort({ _id: 1 }).map((doc) => doc.tags.length).toArray();
    expect(mapped).toEqual([0, 0, 0, 1]);
  });

  it('applies a projection to the latest shape, also for stale documents', async () => {
    const users = versioned(raw, User);
    expect(await users.findOne({ _id: 'u1' }, { projection: { display_name: 1 } })).toEqual({ _id: 'u1', display_name: 'Ada Lovelace' });
    expect(await users.findOne({ _id: 'u0' }, { projection: { display_name: 1, _id: 0 } })).toEqual({ display_name: 'Unversioned Una' });
    const excluded = await users.find({}, { projection: { tags: 0, email: 0 } }).sort({ _id: 1 }).toArray();
    expect(excluded[1]).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', logins: 1 });
    const viaCursor = await users.find({ _id: 'u2' }).project({ email: 1 }).toArray();
    expect(viaCursor).toEqual([{ _id: 'u2', email: 'grace@example.org' }]);
    expect(() => users.find({}, { projection: { tags: { $slice: 1 } } as never })).toThrow(InvalidOptionError);
  });

  it('counts and lists distinct values across versions', async () => {
    const users = versioned(raw, User);
    expect(await users.countDocuments({})).toBe(4);
    expect(await users.estimatedDocumentCount()).toBe(4);
    const names = await users.distinct('display_name');
    expect(names.sort()).toEqual(['Ada Lovelace', 'Grace Hopper', 'Linus', 'Unversioned Una']);
    expect((await users.distinct('email')).sort()).toEqual(['grace@example.org', null]);
  });

  it('validates reads per the validate option', async () => {
    await raw.insertOne({ _id: 'bad3', display_name: 42, email: null, tags: [], schemaVersion: 3 } as Document);
    await raw.insertOne({ _id: 'bad1', full_name: 42, schemaVersion: 1 } as Document);
    const migratedOnly = versioned(raw, User);
    expect(await migratedOnly.findOne({ _id: 'bad3' })).toMatchObject({ display_name: 42 });
    await expect(migratedOnly.findOne({ _id: 'bad1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(versioned(raw, User, { validate: 'always' }).findOne({ _id: 'bad3' })).rejects.toMatchObject({ name: 'ValidationError', _id: 'bad3', version: 3 });
    expect(await versioned(raw, User, { validate: 'never' }).findOne({ _id: 'bad1' })).toMatchObject({ display_name: 42 });
  });

  it('keeps fields the upcaster keeps, even ones the schema does not list', async () => {
    await raw.insertOne({ _id: 'extra', full_name: 'Extra', legacy_flag: true, schemaVersion: 1 } as Document);
    const users = versioned(raw, User, { writeBackOnRead: true });
    expect(await users.findOne({ _id: 'extra' })).toMatchObject({ legacy_flag: true, display_name: 'Extra' });
    await users.flush();
    expect(await stored('extra')).toEqual({ _id: 'extra', display_name: 'Extra', email: null, tags: [], legacy_flag: true, schemaVersion: 3 });
  });
});

describe('write-back on read', () => {
  it('stores upcast documents with compare-and-swap, batched, after the read', async () => {
    const users = versioned(raw, User, { writeBackOnRead: true, writeBackBatchSize: 2 });
    const all = await users.find({}).toArray();
    expect(all).toHaveLength(4);
    await users.flush();
    const docs = await raw.find({}).sort({ _id: 1 }).toArray();
    expect(docs.map((doc) => doc.schemaVersion)).toEqual([3, 3, 3, 3]);
    expect(docs[1]).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: [], logins: 1, schemaVersion: 3 });
    expect(users.stats).toMatchObject({ migratedOnRead: 3, writtenBack: 3, lostRaces: 0, writeBackErrors: 0 });
  });

  itWithAtomicUpdates('never overwrites a document that changed version in between: the lost race is counted', async () => {
    // Each upcast waits until both readers have read the stale document: both write-backs then
    // race with a compare-and-swap on version 1, and exactly one can win.
    let arrived = 0;
    let release: () => void = () => undefined;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    const Gated = defineSchema('user')
      .version(1, UserV1)
      .version(2, UserV2, async ({ full_name, ...rest }) => {
        if (++arrived === 2) release();
        await bothRead;
        return { ...rest, display_name: full_name, email: null };
      })
      .version(3, UserV3, (v2) => ({ ...v2, tags: [] }));
    const first = versioned(raw, Gated, { writeBackOnRead: true });
    const second = versioned(raw, Gated, { writeBackOnRead: true });
    const [a, b] = await Promise.all([first.findOne({ _id: 'u1' }), second.findOne({ _id: 'u1' })]);
    await Promise.all([first.flush(), second.flush()]);
    expect(a).toEqual(b);
    expect(first.stats.writtenBack + second.stats.writtenBack).toBe(1);
    expect(first.stats.lostRaces + second.stats.lostRaces).toBe(1);
    expect(await stored('u1')).toMatchObject({ display_name: 'Ada Lovelace', schemaVersion: 3 });
  });

  it('stores what was read even if the app changes the object it was handed', async () => {
    const users = versioned(raw, User, { writeBackOnRead: true });
    const doc = await users.findOne({ _id: 'u1' });
    if (doc) {
      doc.display_name = 'local edit';
      doc.tags.push('local');
    }
    await users.flush();
    expect(await stored('u1')).toMatchObject({ display_name: 'Ada Lovelace', tags: [], schemaVersion: 3 });
  });

  it('logs and counts a write-back that fails, without failing any read', async () => {
    // A field name MongoDB refuses in a stored document: its write-back fails, the read does not.
    const Odd = defineSchema('user')
      .version(1, UserV1)
      // Typed as version 2's input, so that the stray key gets through the compiler to the server.
      .version(2, UserV2, ({ full_name, ...rest }): z.input<typeof UserV2> => ({ ...rest, display_name: full_name, email: null, ...(rest._id === 'u0' ? { $odd: 1 } : {}) }))
      .version(3, UserV3, (v2) => ({ ...v2, tags: [] }));
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const users = versioned(raw, Odd, { writeBackOnRead: true, writeBackBatchSize: 1, logger });
    const docs = await users.find({ _id: { $in: ['u0', 'u1'] } }).sort({ _id: 1 }).toArray();
    expect(docs.map((doc) => doc.display_name)).toEqual(['Unversioned Una', 'Ada Lovelace']);
    await users.flush();
    expect(users.stats).toMatchObject({ migratedOnRead: 2, writtenBack: 1, writeBackErrors: 1 });
    expect(await stored('u0')).toEqual(seed[0]);
    expect(await stored('u1')).toMatchObject({ schemaVersion: 3 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ ids: ['u0'], msg: expect.stringContaining('write-back failed') as unknown });
  });

  it('does not write back without the option', async () => {
    const users = versioned(raw, User);
    await users.find({}).toArray();
    await users.flush();
    expect(await stored('u1')).toMatchObject({ schemaVersion: 1 });
    expect(users.stats.migratedOnRead).toBe(3);
  });
});

describe('compareOn: document', () => {
  /** A schema whose upcaster, the first time it runs, lets another writer change the document in place (same version). */
  function schemaWithInterleavedWriter(): { schema: typeof User; calls: () => number } {
    let calls = 0;
    const schema = defineSchema('user')
      .version(1, UserV1)
      .version(2, UserV2, async ({ full_name, ...rest }) => {
        if (calls++ === 0) await raw.updateOne({ _id: rest._id as never }, { $set: { logins: 99 } });
        return { ...rest, display_name: full_name, email: null };
      })
      .version(3, UserV3, (v2) => ({ ...v2, tags: [] }));
    return { schema, calls: () => calls };
  }

  it('a write-back never overwrites a change made in place, without a version bump, after the read', async () => {
    const { schema } = schemaWithInterleavedWriter();
    const users = versioned(raw, schema, { writeBackOnRead: true, compareOn: 'document' });
    expect(await users.findOne({ _id: 'u1' })).toMatchObject({ logins: 1 });
    await users.flush();
    expect(await stored('u1')).toEqual({ _id: 'u1', full_name: 'Ada Lovelace', logins: 99, schemaVersion: 1 });
    expect(users.stats).toMatchObject({ writtenBack: 0, lostRaces: 1 });
  });

  it('an update re-reads a document changed in place while it was being migrated', async () => {
    const { schema, calls } = schemaWithInterleavedWriter();
    const users = versioned(raw, schema, { compareOn: 'document' });
    await users.updateOne({ _id: 'u1' }, { $inc: { logins: 1 } });
    expect(await stored('u1')).toMatchObject({ display_name: 'Ada Lovelace', logins: 100, schemaVersion: 3 });
    expect(calls()).toBe(2);
    expect(users.stats).toMatchObject({ migratedBeforeUpdate: 1, lostRaces: 1 });
  });
});

describe('writes', () => {
  it('validates and stamps inserts; an invalid document is refused and nothing is written', async () => {
    const users = versioned(raw, User);
    const doc = { _id: 'new', display_name: 'New', email: null, tags: ['a'] };
    const result = await users.insertOne(doc);
    expect(result.insertedId).toBe('new');
    expect(await stored('new')).toEqual({ ...doc, schemaVersion: 3 });
    const bad = { _id: 'bad', display_name: 'Bad', email: null } as unknown as Infer<typeof User>;
    const error = await users.insertOne(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ _id: 'bad', version: 3 });
    expect((error as ValidationError).issues[0]?.path).toEqual(['tags']);
    expect(await stored('bad')).toBeNull();
  });

  it('inserts many only when every document is valid, and gives generated ids back', async () => {
    const Note = defineSchema('note').version(1, z.object({ text: z.string() }));
    const notes = versioned(t.db.collection(`notes_${counter}`), Note);
    const docs: { text: string; _id?: never }[] = [{ text: 'a' }, { text: 'b' }];
    const result = await notes.insertMany(docs);
    expect(result.insertedCount).toBe(2);
    expect(docs[0]?._id).toBeDefined();
    await expect(notes.insertMany([{ text: 'c' }, { text: 3 as unknown as string }])).rejects.toBeInstanceOf(ValidationError);
    expect(await notes.countDocuments()).toBe(2);
  });

  it('replaces at the write version', async () => {
    const users = versioned(raw, User);
    const result = await users.replaceOne({ _id: 'u1' }, { display_name: 'Ada L.', email: 'ada@x', tags: [] });
    expect(result.matchedCount).toBe(1);
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'Ada L.', email: 'ada@x', tags: [], schemaVersion: 3 });
    await expect(users.replaceOne({ _id: 'u2' }, { display_name: 5 } as never)).rejects.toBeInstanceOf(ValidationError);
    expect(await stored('u2')).toMatchObject({ schemaVersion: 2 });
  });

  it('updateOne migrates a stale match first, then runs the operators on the latest shape', async () => {
    const users = versioned(raw, User);
    const result = await users.updateOne({ _id: 'u1' }, { $push: { tags: 'vip' }, $inc: { logins: 1 } });
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: ['vip'], logins: 2, schemaVersion: 3 });
    expect((await users.updateOne({ _id: 'nobody' }, { $inc: { logins: 1 } })).matchedCount).toBe(0);
  });

  it('updateOne upserts at the write version', async () => {
    const users = versioned(raw, User);
    const result = await users.updateOne({ _id: 'up' }, { $set: { display_name: 'Up', email: null, tags: [] } }, { upsert: true });
    expect(result.upsertedCount).toBe(1);
    expect(await stored('up')).toEqual({ _id: 'up', display_name: 'Up', email: null, tags: [], schemaVersion: 3 });
    const again = await users.updateOne({ _id: 'u0' }, { $set: { email: 'una@x' } }, { upsert: true });
    expect(again).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await stored('u0')).toMatchObject({ email: 'una@x', display_name: 'Unversioned Una', schemaVersion: 3 });
  });

  it('updateMany updates every match across versions exactly once', async () => {
    const users = versioned(raw, User);
    const result = await users.updateMany({}, { $inc: { logins: 10 } });
    expect(result).toMatchObject({ matchedCount: 4, modifiedCount: 4 });
    const docs = await raw.find({}).sort({ _id: 1 }).toArray();
    expect(docs.map((doc) => [doc.logins, doc.schemaVersion])).toEqual([[10, 3], [11, 3], [12, 3], [13, 3]]);
  });

  it('findOneAndUpdate returns the latest shape before or after the update', async () => {
    const users = versioned(raw, User);
    const before = await users.findOneAndUpdate({ _id: 'u1' }, { $set: { email: 'ada@x' } });
    expect(before).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: [], logins: 1 });
    const after = await users.findOneAndUpdate({ _id: 'u2' }, { $inc: { logins: 1 } }, { returnDocument: 'after' });
    expect(after).toMatchObject({ display_name: 'Grace Hopper', logins: 3, tags: [] });
    const withMeta = await users.findOneAndUpdate({ _id: 'u0' }, { $set: { tags: ['m'] } }, { returnDocument: 'after', includeResultMetadata: true });
    expect(withMeta.value).toMatchObject({ _id: 'u0', tags: ['m'] });
    expect(await users.findOneAndUpdate({ _id: 'none' }, { $set: { tags: [] } })).toBeNull();
  });

  it('findOneAndReplace and findOneAndDelete return upcast documents', async () => {
    const users = versioned(raw, User);
    const replaced = await users.findOneAndReplace({ _id: 'u1' }, { display_name: 'R', email: null, tags: [] });
    expect(replaced).toMatchObject({ display_name: 'Ada Lovelace', tags: [] });
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'R', email: null, tags: [], schemaVersion: 3 });
    const deleted = await users.findOneAndDelete({ _id: 'u0' });
    expect(deleted).toMatchObject({ _id: 'u0', display_name: 'Unversioned Una' });
    expect(await stored('u0')).toBeNull();
    expect((await users.deleteOne({ _id: 'u2' })).deletedCount).toBe(1);
    expect((await users.deleteMany({})).deletedCount).toBe(2);
  });

  it('stores at a pinned write version while reading the latest shape', async () => {
    const users = versioned(raw, User, { writeVersion: 2, writeBackOnRead: true });
    // Tags version 2 cannot hold would be dropped on the way down: refused, nothing written.
    await expect(users.insertOne({ _id: 'pinned', display_name: 'P', email: null, tags: ['would-be-dropped'] })).rejects.toThrow(/"tags"/);
    expect(await stored('pinned')).toBeNull();
    await users.insertOne({ _id: 'pinned', display_name: 'P', email: null, tags: [] });
    expect(await stored('pinned')).toEqual({ _id: 'pinned', display_name: 'P', email: null, schemaVersion: 2 });
    expect(await users.findOne({ _id: 'pinned' })).toEqual({ _id: 'pinned', display_name: 'P', email: null, tags: [] });
    await users.findOne({ _id: 'u1' });
    await users.flush();
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, logins: 1, schemaVersion: 2 });
    // u3 is stored at version 3 with tags, which version 2 cannot hold: converting it down for the update would drop them.
    await expect(users.updateOne({ _id: 'u3' }, { $inc: { logins: 1 } })).rejects.toThrow(/"tags" would not come back/);
    expect(await stored('u3')).toEqual(seed[3]);
  });
});

describe('updates that would leave unreadable documents are refused before any write', () => {
  it('refuses an update that writes the version field', async () => {
    const users = versioned(raw, User);
    await expect(users.updateOne({ _id: 'u3' }, { $set: { schemaVersion: 1 } as never })).rejects.toThrow(/version field mongo-molt manages/);
    await expect(users.updateMany({}, { $setOnInsert: { schemaVersion: 1 } as never }, { upsert: true })).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await stored('u3')).toEqual(seed[3]);
  });

  it('with a pinned write version, refuses an update of a field the stored shape does not have', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    // @ts-expect-error the types refuse it too (updates are typed against the write version): the run time is checked here for untyped callers
    await expect(users.updateOne({ _id: 'u2' }, { $push: { tags: 'x' } })).rejects.toThrow(/"tags", which version 2/);
    expect(await stored('u2')).toEqual(seed[2]);
    await users.updateOne({ _id: 'u2' }, { $inc: { logins: 1 } });
    expect(await stored('u2')).toMatchObject({ logins: 3, schemaVersion: 2 });
  });

  it('returns projected fields in the document\'s order, not the projection\'s, as the server does', async () => {
    const users = versioned(raw, User);
    // u3 is stored at the latest version, in this order. MongoDB and FerretDB project it in that
    // order too (mongo-java-server in the projection's: not the reference here).
    const projection = { tags: 1, email: 1, display_name: 1 } as const;
    const read = await users.findOne({ _id: 'u3' }, { projection });
    expect(Object.keys(read ?? {})).toEqual(['_id', 'display_name', 'email', 'tags']);
    // A stale document: the order of its read, upcast.
    const upcast = await users.findOne({ _id: 'u1' });
    const projected = await users.findOne({ _id: 'u1' }, { projection });
    expect(Object.keys(projected ?? {})).toEqual(Object.keys(upcast ?? {}).filter((key) => key === '_id' || key in projection));
  });

  it('refuses a positional projection, which cannot apply to an upcast document', () => {
    const users = versioned(raw, User);
    expect(() => users.find({ tags: 'x' }, { projection: { 'tags.$': 1 } as never })).toThrow(InvalidOptionError);
  });
});

describe('sorted single-document updates', () => {
  it('findOneAndUpdate and updateOne take the document the sort puts first, even when it is stale', async () => {
    const users = versioned(raw, User);
    // By logins descending: u3 (v3, 3) first. Make the stale u1 the top one.
    await raw.updateOne({ _id: 'u1' as never }, { $set: { logins: 50 } });
    const taken = await users.findOneAndUpdate({}, { $push: { tags: 'first' } }, { sort: { logins: -1 }, returnDocument: 'after' });
    expect(taken).toMatchObject({ _id: 'u1', tags: ['first'] });
    await raw.updateOne({ _id: 'u0' as never }, { $set: { logins: 60 } });
    expect(await users.updateOne({}, { $push: { tags: 'second' } }, { sort: { logins: -1 } })).toMatchObject({ matchedCount: 1 });
    expect(await stored('u0')).toMatchObject({ tags: ['second'], schemaVersion: 3 });
    expect(await stored('u3')).toMatchObject({ tags: ['x'] });
  });
});

describe('bad documents change nothing', () => {
  const Broken = defineSchema('user')
    .version(1, User.schemaOf(1) as never)
    .version(2, z.object({ _id: z.string(), display_name: z.string() }), (v1: { _id: string; full_name: string }) => {
      if (v1.full_name === 'boom') throw new Error('cannot split "boom"');
      return { _id: v1._id, display_name: v1.full_name };
    });

  it('a version from the future is a NewerVersionError, or passed through and never written back', async () => {
    await raw.insertOne({ _id: 'future', something: 'new', schemaVersion: 9 } as Document);
    const users = versioned(raw, User, { writeBackOnRead: true });
    await expect(users.findOne({ _id: 'future' })).rejects.toMatchObject({ name: 'NewerVersionError', version: 9, latestVersion: 3 });
    await expect(users.updateOne({ _id: 'future' }, { $set: { tags: [] } })).rejects.toBeInstanceOf(NewerVersionError);
    const lenient = versioned(raw, User, { writeBackOnRead: true, onNewerVersion: 'passthrough' });
    expect(await lenient.findOne({ _id: 'future' })).toEqual({ _id: 'future', something: 'new' });
    // An update cannot run on a shape this code does not know, whatever onNewerVersion says.
    await expect(lenient.updateOne({ _id: 'future' }, { $set: { tags: [] } })).rejects.toBeInstanceOf(NewerVersionError);
    await expect(lenient.findOneAndUpdate({ _id: 'future' }, { $set: { tags: [] } })).rejects.toBeInstanceOf(NewerVersionError);
    const replacement = { display_name: 'Old code', email: null, tags: [] };
    await expect(lenient.replaceOne({ _id: 'future' }, replacement)).rejects.toBeInstanceOf(NewerVersionError);
    await expect(lenient.replaceOne({ _id: 'future' }, replacement, { upsert: true })).rejects.toBeInstanceOf(NewerVersionError);
    await expect(lenient.findOneAndReplace({ _id: 'future' }, replacement)).rejects.toBeInstanceOf(NewerVersionError);
    await lenient.flush();
    expect(await stored('future')).toEqual({ _id: 'future', something: 'new', schemaVersion: 9 });
  });

  it('a version that is not a positive integer is an InvalidVersionError', async () => {
    await raw.insertOne({ _id: 'weird', full_name: 'W', schemaVersion: 'two' } as Document);
    const users = versioned(raw, User, { writeBackOnRead: true });
    await expect(users.findOne({ _id: 'weird' })).rejects.toMatchObject({ name: 'InvalidVersionError', _id: 'weird', version: 'two' });
    await expect(users.updateOne({ _id: 'weird' }, { $set: { tags: [] } })).rejects.toBeInstanceOf(InvalidVersionError);
    await users.flush();
    expect(await stored('weird')).toEqual({ _id: 'weird', full_name: 'W', schemaVersion: 'two' });
  });

  it('an upcaster that throws is an UpcastError naming the document, and nothing is written', async () => {
    await raw.insertOne({ _id: 'boom', full_name: 'boom', schemaVersion: 1 } as Document);
    const users = versioned(raw, Broken, { writeBackOnRead: true });
    const error = await users.findOne({ _id: 'boom' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpcastError);
    expect(error).toMatchObject({ _id: 'boom', fromVersion: 1, toVersion: 2 });
    expect((error as Error).message).toContain('cannot split "boom"');
    await expect(users.updateMany({ _id: { $in: ['u1', 'boom'] } }, { $set: { display_name: 'all' } })).rejects.toBeInstanceOf(UpcastError);
    await users.flush();
    expect(await stored('boom')).toEqual({ _id: 'boom', full_name: 'boom', schemaVersion: 1 });
    expect(await raw.countDocuments({ display_name: 'all' })).toBe(0);
  });

  it('rejects wrong options before any I/O', () => {
    // @ts-expect-error the schema has no version 7: a compile error, and an InvalidOptionError at run time
    expect(() => versioned(raw, User, { writeVersion: 7 })).toThrow(InvalidOptionError);
    expect(() => versioned(raw, User, { validate: 'sometimes' as never })).toThrow(/validate/);
    expect(() => versioned(raw, User, { onNewerVersion: 'ignore' as never })).toThrow(/onNewerVersion/);
    expect(() => versioned(raw, User, { writeBackBatchSize: 0 })).toThrow(/writeBackBatchSize/);
    expect(() => versioned(raw, User, { compareOn: 'fields' as never })).toThrow(/compareOn/);
    const NoDown = defineSchema('user').version(1, UserV1).version(2, UserV2, ({ full_name, ...rest }) => ({ ...rest, display_name: full_name, email: null }));
    expect(() => versioned(raw, NoDown, { writeVersion: 1 })).toThrow(/no downcaster from version 2 to 1/);
    expect(() => versioned(raw, User, { writeBackOnread: true } as never)).toThrow(/writeBackOnread/);
    expect(() => versioned({} as never, User)).toThrow(InvalidOptionError);
  });
});

describe('logging', () => {
  it('logs upcasts and write-backs with _ids, never document bodies', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const users = versioned(raw, User, { logger, writeBackOnRead: true });
    await users.findOne({ _id: 'u1' });
    await users.flush();
    expect(lines.find((line) => line.msg === 'mongo-molt: upcast on read')).toMatchObject({ _id: 'u1', fromVersion: 1, toVersion: 3 });
    expect(lines.find((line) => line.msg === 'mongo-molt: write-back batch')).toMatchObject({ written: 1, lostRaces: 0 });
    expect(JSON.stringify(lines)).not.toContain('Ada Lovelace');
  });
});

describe('driver options', () => {
  it('passes a session through when the server supports sessions', async (context) => {
    if (!inject('serverFeatures').sessions) {
      process.stderr.write(`[skipped] session pass-through: ${inject('serverFeatures').kind} does not support sessions\n`);
      context.skip();
    }
    // Every command the wrapper sends must carry this session's id (the driver would otherwise use an implicit one).
    const monitored = new MongoClient(t.uri, { monitorCommands: true });
    const sent: { name: string; lsid: unknown }[] = [];
    monitored.on('commandStarted', (event) => {
      if (['find', 'update', 'findAndModify'].includes(event.commandName)) sent.push({ name: event.commandName, lsid: (event.command.lsid as { id?: unknown } | undefined)?.id });
    });
    await monitored.connect();
    const users = versioned(monitored.db(t.db.databaseName).collection(raw.collectionName), User);
    const session = monitored.startSession();
    try {
      expect(await users.findOne({ _id: 'u1' }, { session })).toMatchObject({ display_name: 'Ada Lovelace' });
      await users.updateOne({ _id: 'u1' }, { $inc: { logins: 1 } }, { session });
      expect(await stored('u1')).toMatchObject({ logins: 2, schemaVersion: 3 });
      expect(sent.map((command) => command.name)).toEqual(expect.arrayContaining(['find', 'update']));
      const id = JSON.stringify(session.id?.id);
      for (const command of sent) expect(JSON.stringify(command.lsid), command.name).toBe(id);
    } finally {
      await session.endSession();
      await monitored.close();
    }
  });
});

it('reports the server in use', () => {
  expect(inject('mongoUri')).toMatch(/^mongodb/);
});
