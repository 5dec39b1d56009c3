import { describe, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import type { Db, WithId } from 'mongodb';
import { defineSchema, versioned, type AnyVersionedSchema, type CollectionOf, type DocumentOf, type VersionedCollection } from 'mongo-molt';

declare const db: Db;

/** The repository helper an app writes once for all its schemas. */
function repo<S extends AnyVersionedSchema>(name: string, s: S): VersionedCollection<DocumentOf<S>> {
  return versioned(db.collection(name), s);
}
/** The same with the exact type `versioned` returns (inputs with defaults left out, pinned writes). */
function exactRepo<S extends AnyVersionedSchema>(name: string, s: S): CollectionOf<S> {
  return versioned(db.collection(name), s);
}

const Member = defineSchema('member')
  .version(1, z.object({ _id: z.string(), name: z.string() }))
  .version(2, z.object({ _id: z.string(), name: z.string(), role: z.string().default('member') }), (v1) => ({ ...v1 }));

// Never run: these lines are checked by the type checker only.
describe('collections in generic code', () => {
  test('a generic repository helper compiles, in the one-parameter form and with CollectionOf', async () => {
    const members = repo('members', Member);
    expectTypeOf(await members.findOne({ name: 'a' })).toEqualTypeOf<WithId<{ _id: string; name: string; role: string }> | null>();
    void members.updateOne({ _id: 'a' }, { $set: { role: 'admin' } });
    // @ts-expect-error filters stay typed
    void members.find({ full_name: 'a' });
    const exact = exactRepo('members', Member);
    void exact.insertOne({ _id: 'a', name: 'A' });
    expectTypeOf(exact).toEqualTypeOf(versioned(db.collection('members'), Member));
  });
});
