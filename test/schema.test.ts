import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  defineSchema,
  InvalidOptionError,
  InvalidVersionError,
  NewerVersionError,
  SchemaDefinitionError,
  UpcastError,
  ValidationError,
  type Infer,
} from 'mongo-molt';

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() });
const V3 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().optional(), tags: z.array(z.string()) });

const User = defineSchema('user')
  .version(1, V1)
  .version(2, V2, (v1) => ({ _id: v1._id, display_name: v1.full_name, email: null }))
  .version(3, V3, {
    up: (v2) => ({ ...v2, email: v2.email ?? undefined, tags: [] }),
    down: (v3) => ({ _id: v3._id, display_name: v3.display_name, email: v3.email ?? null }),
  });

describe('defineSchema', () => {
  it('exposes the latest version, the version field and the latest zod schema', () => {
    expect(User.latest).toBe(3);
    expect(User.versionField).toBe('schemaVersion');
    expect(User.schema).toBe(V3);
    expect(User.schemaOf(1)).toBe(V1);
    // @ts-expect-error the schema has no version 4: a compile error, and a SchemaDefinitionError at run time
    expect(() => User.schemaOf(4)).toThrow(SchemaDefinitionError);
  });

  it('types documents as the latest output and upcasters from the schemas around them', () => {
    expectTypeOf<Infer<typeof User>>().toEqualTypeOf<z.output<typeof V3>>();
    expectTypeOf(User.latest).toEqualTypeOf<3>();
    // Never called: these chains are checked by the type checker only (npm run typecheck).
    const _mustNotCompile = () => {
    defineSchema('typed')
      .version(1, V1)
      // @ts-expect-error the upcaster must return the next version's input: display_name is missing
      .version(2, V2, (v1) => ({ _id: v1._id, email: null }));
    defineSchema('typed')
      .version(1, V1)
      // @ts-expect-error the upcaster's argument is version 1's output: it has no display_name
      .version(2, V2, (v1: { display_name: string }) => ({ _id: 'x', display_name: v1.display_name, email: null }));
    defineSchema('typed')
      .version(1, V1)
      // @ts-expect-error a version after the first needs an upcaster
      .version(2, V2);
    defineSchema('typed')
      .version(1, V1)
      // @ts-expect-error versions are registered without gaps: after 1 comes 2
      .version(3, V2, (v1) => ({ _id: v1._id, display_name: v1.full_name, email: null }));
    defineSchema('typed')
      .version(1, V1)
      .version(2, V2, async (v1) => ({ _id: v1._id, display_name: v1.full_name, email: null }));
    };
    expect(typeof _mustNotCompile).toBe('function');
  });

  it.each([
    ['a first version other than 1', () => defineSchema('s').version(2, V1), /first version must be 1/],
    ['a gap', () => defineSchema('s').version(1, V1).version(3 as 2, V2, () => ({ _id: '', display_name: '', email: null })), /gap/],
    ['a duplicate', () => defineSchema('s').version(1, V1).version(1 as 2, V2, () => ({ _id: '', display_name: '', email: null })), /twice or out of order/],
    ['a non-integer', () => defineSchema('s').version(1.5 as 1, V1), /first version must be 1/],
    ['a non-integer later', () => defineSchema('s').version(1, V1).version(2.5 as 2, V2, () => ({ _id: '', display_name: '', email: null })), /positive integers/],
    ['not a zod schema', () => defineSchema('s').version(1, { parse: () => 1 } as unknown as typeof V1), /zod 4 schema/],
    ['a missing upcaster', () => (defineSchema('s').version(1, V1) as unknown as { version(v: number, s: unknown): unknown }).version(2, V2), /needs an upcaster/],
    ['an upcaster that is not a function', () => defineSchema('s').version(1, V1).version(2, V2, { up: 'x' } as never), /needs an upcaster/],
    ['an upcaster on the first version', () => (defineSchema('s') as unknown as { version(...a: unknown[]): unknown }).version(1, V1, () => ({})), /takes no upcaster/],
    ['a bad version field', () => defineSchema('s', { versionField: 'a.b' }), /versionField/],
    ['a bad unversioned', () => defineSchema('s', { unversioned: 0 }), /unversioned/],
    ['a first version below the unversioned version', () => defineSchema('s', { unversioned: 3 }).version(1, V1), /must start there/],
    ['a schema that declares the version field', () => defineSchema('s').version(1, z.object({ a: z.string(), schemaVersion: z.number() })), /version field mongo-molt manages/],
  ])('rejects %s when the schema is defined', (_label, define, message) => {
    expect(define).toThrow(SchemaDefinitionError);
    expect(define).toThrow(message);
  });

  it('lets the chain start at the unversioned version when older shapes are not modelled', () => {
    const Legacy = defineSchema('legacy', { unversioned: 3 }).version(3, V1);
    expect(Legacy.migrateSync({ _id: 'a', full_name: 'Ada' })).toMatchObject({ fromVersion: 3, toVersion: 3, changed: false });
    expect(() => Legacy.migrateSync({ _id: 'a', full_name: 'Ada', schemaVersion: 2 })).toThrow(InvalidVersionError);
  });
});

describe('migrate', () => {
  it('upcasts an unversioned document through every step, without the version field', async () => {
    const result = await User.migrate({ _id: 'u1', full_name: 'Ada Lovelace' });
    expect(result).toEqual({
      value: { _id: 'u1', display_name: 'Ada Lovelace', email: undefined, tags: [] },
      fromVersion: 1,
      toVersion: 3,
      changed: true,
    });
  });

  it('starts at the stored version and leaves the input untouched', () => {
    const raw = { _id: 'u2', display_name: 'Grace', email: 'g@example.org', schemaVersion: 2 };
    const result = User.migrateSync(raw);
    expect(result.value).toEqual({ _id: 'u2', display_name: 'Grace', email: 'g@example.org', tags: [] });
    expect(result.fromVersion).toBe(2);
    expect(raw).toEqual({ _id: 'u2', display_name: 'Grace', email: 'g@example.org', schemaVersion: 2 });
  });

  it('returns a latest document as is, unchanged and unvalidated by default', () => {
    const raw = { _id: 'u3', display_name: 42, schemaVersion: 3 };
    expect(User.migrateSync(raw)).toEqual({ value: { _id: 'u3', display_name: 42 }, fromVersion: 3, toVersion: 3, changed: false });
    expect(() => User.migrateSync(raw, { validate: 'always' })).toThrow(ValidationError);
  });

  it('keeps fields the upcaster keeps even when zod would strip them', () => {
    const Loose = defineSchema('loose')
      .version(1, z.object({ a: z.number() }))
      .version(2, z.object({ b: z.number() }), (v1): { b: number } => ({ ...v1, b: v1.a * 2 })); // typed as the input: the spread's keys get through the compiler
    expect(Loose.migrateSync({ a: 2, extra: 'kept' }).value).toEqual({ a: 2, b: 4, extra: 'kept' });
  });

  it('runs async upcasters and async refinements', async () => {
    const Async = defineSchema('async')
      .version(1, z.object({ n: z.number() }))
      .version(2, z.object({ n: z.number() }).refine(async (d) => d.n > 0, 'n must be positive'), async (v1) => ({ n: v1.n + 1 }));
    await expect(Async.migrate({ n: 1 })).resolves.toMatchObject({ value: { n: 2 }, changed: true });
    await expect(Async.migrate({ n: -5 })).rejects.toBeInstanceOf(ValidationError);
    expect(() => Async.migrateSync({ n: 1 })).toThrow(/use migrate\(\)/);
  });

  it('runs downcasters to reach a lower target', () => {
    const result = User.migrateSync({ _id: 'u4', display_name: 'Linus', email: 'l@x', tags: ['a'], schemaVersion: 3 }, { to: 2 });
    expect(result).toEqual({ value: { _id: 'u4', display_name: 'Linus', email: 'l@x' }, fromVersion: 3, toVersion: 2, changed: true });
    expect(() => User.migrateSync({ _id: 'u', display_name: 'x', email: null, schemaVersion: 2 }, { to: 1 })).toThrow(/no downcaster/);
    // @ts-expect-error the schema has no version 9: a compile error, and an InvalidOptionError at run time
    expect(() => User.migrateSync({ _id: 'u', full_name: 'x' }, { to: 9 })).toThrow(InvalidOptionError);
  });

  it('names the document and the step when an upcaster throws', () => {
    const Broken = defineSchema('broken')
      .version(1, V1)
      .version(2, V2, () => {
        throw new RangeError('boom');
      });
    const error = catchError(() => Broken.migrateSync({ _id: 'b1', full_name: 'x' }));
    expect(error).toBeInstanceOf(UpcastError);
    expect(error).toMatchObject({ name: 'UpcastError', _id: 'b1', fromVersion: 1, toVersion: 2, schemaName: 'broken' });
    expect((error as UpcastError).cause).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('_id="b1"');
  });

  it('rejects an upcaster result that is not a document or does not validate', async () => {
    const NotDoc = defineSchema('nd').version(1, V1).version(2, V2, () => null as never);
    expect(() => NotDoc.migrateSync({ _id: 'x', full_name: 'y' })).toThrow(/returned null, not a document/);
    const Invalid = defineSchema('inv').version(1, V1).version(2, V2, (v1) => ({ _id: v1._id, display_name: 7 as never, email: null }));
    const error = catchError(() => Invalid.migrateSync({ _id: 'x', full_name: 'y' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ _id: 'x', version: 2 });
    expect((error as ValidationError).issues[0]?.path).toEqual(['display_name']);
    const Rejects = defineSchema('rej').version(1, V1).version(2, V2, () => Promise.reject(new Error('later')));
    await expect(Rejects.migrate({ _id: 'r', full_name: 'y' })).rejects.toMatchObject({ name: 'UpcastError', _id: 'r' });
  });

  it('treats versions from the future per onNewerVersion', () => {
    const raw = { _id: 'n1', whatever: true, schemaVersion: 7 };
    const error = catchError(() => User.migrateSync(raw));
    expect(error).toBeInstanceOf(NewerVersionError);
    expect(error).toMatchObject({ version: 7, latestVersion: 3, _id: 'n1' });
    expect(User.migrateSync(raw, { onNewerVersion: 'passthrough' })).toEqual({
      value: { _id: 'n1', whatever: true },
      fromVersion: 7,
      toVersion: 7,
      changed: false,
    });
  });

  it.each([[0], [-1], [1.5], ['2'], [true], [{}]])('rejects version field %j as an InvalidVersionError', (version) => {
    const error = catchError(() => User.migrateSync({ _id: 'iv', schemaVersion: version }));
    expect(error).toBeInstanceOf(InvalidVersionError);
    expect(error).toMatchObject({ _id: 'iv', version, versionField: 'schemaVersion' });
  });

  it('treats a null version like a missing one and honours a custom version field', () => {
    expect(User.migrateSync({ _id: 'z', full_name: 'Z', schemaVersion: null }).fromVersion).toBe(1);
    const Custom = defineSchema('custom', { versionField: '_v' }).version(1, V1);
    expect(Custom.migrateSync({ _id: 'c', full_name: 'C', _v: 1 }).value).toEqual({ _id: 'c', full_name: 'C' });
  });

  it('rejects something that is not a document', () => {
    expect(() => User.migrateSync(null)).toThrow(InvalidOptionError);
    expect(() => User.migrateSync([1])).toThrow(/an array/);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
