import { describe, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import type { Collection, Document } from 'mongodb';
import { defineSchema, versioned, type Infer, type MigrationResult, type VersionedCollectionOptions } from 'mongo-molt';

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() });
const V3 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), tags: z.array(z.string()) });
const User = defineSchema('user')
  .version(1, V1)
  .version(2, V2, (v1) => ({ _id: v1._id, display_name: v1.full_name, email: null }))
  .version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: ({ tags: _tags, ...v2 }) => v2 });

// Never run: these lines are checked by the type checker only.
describe('each version keeps its types', () => {
  test('migrate and migrateSync are typed as the version asked for', async () => {
    expectTypeOf(await User.migrate({})).toEqualTypeOf<MigrationResult<z.output<typeof V3>>>();
    expectTypeOf((await User.migrate({}, { to: 2 })).value).toEqualTypeOf<z.output<typeof V2>>();
    expectTypeOf(User.migrateSync({}, { to: 1, validate: 'always' }).value).toEqualTypeOf<z.output<typeof V1>>();
    const dynamic: number = 2;
    expectTypeOf(User.migrateSync({}, { to: dynamic }).value).toEqualTypeOf<z.output<typeof V1> | z.output<typeof V2> | z.output<typeof V3>>();
    // @ts-expect-error the schema has no version 7
    void User.migrate({}, { to: 7 });
  });

  test('schemaOf is typed per version', () => {
    expectTypeOf(User.schemaOf(2)).toEqualTypeOf<typeof V2>();
    expectTypeOf(User.schemaOf(1)).toEqualTypeOf<typeof V1>();
    // @ts-expect-error the schema has no version 4
    void User.schemaOf(4);
  });
});

describe('definitions that cannot be right do not compile', () => {
  test('version numbers and shapes', () => {
    // @ts-expect-error versions are positive integers
    void defineSchema('x').version(0, V1);
    // @ts-expect-error versions are positive integers
    void defineSchema('x').version(1.5, V1);
    // @ts-expect-error versions are positive integers
    void defineSchema('x').version(-1, V1);
    // @ts-expect-error a version's schema describes a document, not a string
    void defineSchema('x').version(1, V1).version(2, z.string(), (v1) => v1.full_name);
    // @ts-expect-error a version's schema describes a document, not an array
    void defineSchema('x').version(1, z.array(z.string()));
    void defineSchema('x', { unversioned: 3 }).version(3, V1);
  });

  test('Infer takes a versioned schema, not a zod schema', () => {
    expectTypeOf<Infer<typeof User>>().toEqualTypeOf<z.output<typeof V3>>();
    // @ts-expect-error a zod schema is not a versioned schema: use z.output<typeof V1>
    type _Never = Infer<typeof V1>;
  });
});

declare const raw: Collection<Document>;
describe('versioned() options', () => {
  test('writeVersion is one of the schema versions', () => {
    void versioned(raw, User, { writeVersion: 2 });
    // @ts-expect-error the schema has no version 7
    void versioned(raw, User, { writeVersion: 7 });
  });

  test('options accept undefined under exactOptionalPropertyTypes', () => {
    const fromEnv: boolean | undefined = process.env.WRITE_BACK === undefined ? undefined : true;
    const options: VersionedCollectionOptions<1 | 2 | 3> = { writeBackOnRead: fromEnv, writeVersion: undefined, logger: undefined, validate: undefined };
    void versioned(raw, User, options);
    void User.migrateSync({}, { validate: undefined, onNewerVersion: undefined, to: undefined });
    void defineSchema('x', { versionField: undefined, unversioned: undefined }).version(1, V1).version(2, V2, { up: () => ({ _id: '', display_name: '', email: null }), down: undefined });
  });
});
