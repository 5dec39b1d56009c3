/**
 * The read type tells the truth about what is stored: a `.default()` field typed present is
 * present, on reads, in what is written back, in what the sweeper stores and on inserts; schemas
 * whose parse would convert a stored value (transforms, codecs, coercion, catch) are refused.
 */
import { expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { WithId } from 'mongodb';
import { defineSchema, SchemaDefinitionError, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('defaults');

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({
  _id: z.string(),
  name: z.string(),
  role: z.string().default('member'),
  prefs: z.object({ theme: z.string().default('light'), lang: z.string() }),
  logins: z.array(z.object({ at: z.date(), ok: z.boolean().default(true) })).default([]),
});
// The upcaster leaves every defaulted field out, as its type (zod's input) allows.
const User = defineSchema('user')
  .version(1, V1)
  .version(2, V2, (v1) => ({ _id: v1._id, name: v1.full_name, prefs: { lang: 'en' } }));

it('an upcast document gets its defaults: present on read, in the write-back, and in Schema.migrate', async () => {
  const raw = db.collection('users');
  await raw.insertOne({ _id: 'ada', full_name: 'Ada' } as never);
  const users = versioned(raw, User, { writeBackOnRead: true });
  const ada = await users.findOne({ _id: 'ada' });
  expectTypeOf(ada).toEqualTypeOf<WithId<{ _id: string; name: string; role: string; prefs: { theme: string; lang: string }; logins: { at: Date; ok: boolean }[] }> | null>();
  expect(ada).toEqual({ _id: 'ada', name: 'Ada', role: 'member', prefs: { theme: 'light', lang: 'en' }, logins: [] });
  await users.flush();
  expect(await raw.findOne({ _id: 'ada' } as never)).toEqual({ _id: 'ada', name: 'Ada', role: 'member', prefs: { theme: 'light', lang: 'en' }, logins: [], schemaVersion: 2 });

  const input = { _id: 'x', full_name: 'X', schemaVersion: 1 };
  const { value } = await User.migrate(input);
  expect(value.role).toBe('member');
  expect(input).toEqual({ _id: 'x', full_name: 'X', schemaVersion: 1 });
});

it('defaults are filled in nested documents and array elements, and nothing zod would strip is lost', async () => {
  const raw = db.collection('nested');
  await raw.insertOne({ _id: 'n', name: 'N', prefs: { lang: 'fr', extra: 1 }, logins: [{ at: new Date(0) }], kept: true, schemaVersion: 2 } as never);
  const users = versioned(raw, User, { validate: 'always' });
  expect(await users.findOne({ _id: 'n' })).toEqual({ _id: 'n', name: 'N', role: 'member', prefs: { theme: 'light', lang: 'fr', extra: 1 }, logins: [{ at: new Date(0), ok: true }], kept: true });
  // Filled in on the way out only: a document already at the latest version is never rewritten by a read.
  expect(await raw.findOne({ _id: 'n' } as never)).not.toHaveProperty('role');
});

it('inserts and replacements may leave defaulted fields out: they are stored filled in', async () => {
  const raw = db.collection('inserts');
  const users = versioned(raw, User);
  await users.insertOne({ _id: 'i', name: 'I', prefs: { lang: 'de' } });
  expect(await raw.findOne({ _id: 'i' } as never)).toEqual({ _id: 'i', name: 'I', role: 'member', prefs: { theme: 'light', lang: 'de' }, logins: [], schemaVersion: 2 });
  await users.replaceOne({ _id: 'i' }, { name: 'J', role: 'admin', prefs: { lang: 'de', theme: 'dark' } });
  expect(await raw.findOne({ _id: 'i' } as never)).toEqual({ _id: 'i', name: 'J', role: 'admin', prefs: { theme: 'dark', lang: 'de' }, logins: [], schemaVersion: 2 });
});

it('a version passed through gets its defaults before the next upcaster reads it', async () => {
  const V3 = z.object({ _id: z.string(), name: z.string(), roles: z.array(z.string()) });
  const Three = User.version(3, V3, (v2) => ({ _id: v2._id, name: v2.name, roles: [v2.role] }));
  const { value } = await Three.migrate({ _id: 'a', full_name: 'Ada' });
  expect(value).toEqual({ _id: 'a', name: 'Ada', roles: ['member'] });
});

it('validate: "never" still fills defaults in (it skips the check, not the shape)', async () => {
  const { value } = await User.migrate({ _id: 'a', full_name: 'Ada' }, { validate: 'never' });
  expect(value).toMatchObject({ role: 'member', logins: [] });
});

it('the sweeper stores defaults, and runs a version with defaults on the client even where steps have a server form', async () => {
  const Declarative = defineSchema('declarative')
    .version(1, V1)
    .version(2, z.object({ _id: z.string(), name: z.string(), role: z.string().default('member') }), [step.rename('full_name', 'name')]);
  const raw = db.collection('swept');
  await raw.insertMany([{ _id: 'a', full_name: 'A' }, { _id: 'b', full_name: 'B' }] as never[]);
  const report = await sweep(raw, Declarative, { ratePerSecond: Infinity, pauseMs: 0 });
  expect(report).toMatchObject({ status: 'complete', migrated: 2, mode: 'client' });
  expect(await raw.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
    { _id: 'a', name: 'A', role: 'member', schemaVersion: 2 },
    { _id: 'b', name: 'B', role: 'member', schemaVersion: 2 },
  ]);
});

it.each([
  ['a transform', z.object({ _id: z.string(), n: z.string().transform((s) => s.length) }), /"n" \(a transform\)/],
  ['z.coerce', z.object({ _id: z.string(), born: z.coerce.date() }), /"born" \(z\.coerce\)/],
  ['.catch()', z.object({ _id: z.string(), tags: z.array(z.string().catch('?')) }), /"tags\[\]" \(\.catch\(\)\)/],
  ['a codec', z.object({ _id: z.string(), at: z.codec(z.string(), z.date(), { decode: (s) => new Date(s), encode: (d) => d.toISOString() }) }), /"at" \(a codec\)/],
  ['z.preprocess', z.object({ _id: z.string(), n: z.preprocess((v) => Number(v), z.number()) }), /"n" \(a transform\)/],
])('a schema with %s is refused when registered: its parse output would not be what is stored', (_kind, schema, where) => {
  expect(() => defineSchema('converting').version(1, schema)).toThrow(SchemaDefinitionError);
  expect(() => defineSchema('converting').version(1, schema)).toThrow(where);
  expect(() => defineSchema('converting').version(1, V1).version(2, schema, (v1) => ({ _id: v1._id }) as never)).toThrow(/converts values when parsing/);
});

it('checks that do not convert (pipes of checks, trim) and recursive schemas are accepted', () => {
  interface Node { _id: string; children: Node[] }
  const Tree: z.ZodType<Node> = z.object({ _id: z.string(), children: z.lazy(() => z.array(Tree)) });
  expect(() => defineSchema('ok').version(1, z.object({ _id: z.string(), email: z.string().trim().pipe(z.email()) }))).not.toThrow();
  expect(() => defineSchema('tree').version(1, Tree as z.ZodObject<{ _id: z.ZodString; children: z.ZodType<Node[]> }>)).not.toThrow();
});

it('a replacement without _id gets its defaults on a refined object schema and on a discriminated union', async () => {
  const Refined = defineSchema('refined').version(1, z.object({ _id: z.string(), a: z.number(), b: z.number(), plan: z.string().default('free') }).refine((d) => d.b > d.a));
  const raw = db.collection('refined');
  await raw.insertOne({ _id: 'x', a: 1, b: 2, plan: 'pro', schemaVersion: 1 } as never);
  await versioned(raw, Refined).replaceOne({ _id: 'x' }, { a: 1, b: 3 });
  expect(await raw.findOne({ _id: 'x' } as never)).toEqual({ _id: 'x', a: 1, b: 3, plan: 'free', schemaVersion: 1 });

  const Union = defineSchema('union').version(1, z.discriminatedUnion('kind', [
    z.object({ _id: z.string(), kind: z.literal('a'), plan: z.string().default('free') }),
    z.object({ _id: z.string(), kind: z.literal('b'), size: z.number().default(1) }),
  ]));
  const unions = db.collection('unions');
  await unions.insertOne({ _id: 'y', kind: 'b', size: 3, schemaVersion: 1 } as never);
  await versioned(unions, Union).replaceOne({ _id: 'y' }, { kind: 'a' });
  expect(await unions.findOne({ _id: 'y' } as never)).toEqual({ _id: 'y', kind: 'a', plan: 'free', schemaVersion: 1 });
});
