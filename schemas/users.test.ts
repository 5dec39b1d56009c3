import { describe, expect, expectTypeOf, it } from 'vitest';
import { ValidationError } from 'mongo-molt';
import { joinName, splitName, User, UserV3, type UserDoc } from './users.js';

const created_at = new Date('2021-03-04T05:06:07Z');

/** One stored sample per version (v1 twice: without a version field and with one), and the latest shape each must read as. */
const samples = [
  {
    stored: { _id: 'u1', full_name: 'Ada Lovelace', created_at },
    latest: { _id: 'u1', name: { given: 'Ada', family: 'Lovelace' }, email: null, created_at },
  },
  {
    stored: { _id: 'u2', full_name: 'Plato', created_at, schemaVersion: 1 },
    latest: { _id: 'u2', name: { given: 'Plato', family: null }, email: null, created_at },
  },
  {
    stored: { _id: 'u3', display_name: 'Grace Brewster Hopper', email: 'grace@example.org', created_at, schemaVersion: 2 },
    latest: { _id: 'u3', name: { given: 'Grace', family: 'Brewster Hopper' }, email: 'grace@example.org', created_at },
  },
  {
    stored: { _id: 'u4', name: { given: 'Alan', family: 'Turing' }, email: null, created_at, schemaVersion: 3 },
    latest: { _id: 'u4', name: { given: 'Alan', family: 'Turing' }, email: null, created_at },
  },
];

describe('schemas/users', () => {
  it('has three versions', () => {
    expect(User.latest).toBe(3);
    expect(User.versionField).toBe('schemaVersion');
  });

  it.each(samples)('reads $stored._id (stored at any version) as a valid latest user', ({ stored, latest }) => {
    const result = User.migrateSync(stored, { validate: 'always' });
    expect(result.value).toEqual(latest);
    expect(result.toVersion).toBe(3);
    expect(UserV3.safeParse(result.value).success).toBe(true);
  });

  it('keeps fields the schemas do not list (nothing is lost that an upcaster keeps)', () => {
    const { value } = User.migrateSync({ _id: 'u5', full_name: 'Ada Lovelace', created_at, referrer: 'newsletter' });
    expect(value).toMatchObject({ referrer: 'newsletter' });
  });

  it('goes back from v3 to v2 without loss for single-spaced names', () => {
    const { value } = User.migrateSync({ _id: 'u3', name: { given: 'Grace', family: 'Brewster Hopper' }, email: null, created_at, schemaVersion: 3 }, { to: 2 });
    expect(value).toEqual({ _id: 'u3', display_name: 'Grace Brewster Hopper', email: null, created_at });
  });

  it('goes back to v1 through the derived down of its declarative step, dropping the email v1 cannot hold', () => {
    const { value } = User.migrateSync({ _id: 'u7', display_name: 'Ada', email: 'ada@example.org', created_at, schemaVersion: 2 }, { to: 1 });
    expect(value).toEqual({ _id: 'u7', full_name: 'Ada', created_at });
  });

  it('rejects a v1 user whose name is blank: the v2 schema needs a display name', () => {
    expect(() => User.migrateSync({ _id: 'u6', full_name: '', created_at })).toThrow(ValidationError);
  });

  it('splits and joins names', () => {
    expect(splitName('  Ada   King Lovelace ')).toEqual({ given: 'Ada', family: 'King Lovelace' });
    expect(splitName('Plato')).toEqual({ given: 'Plato', family: null });
    expect(joinName(splitName('Ada King Lovelace'))).toBe('Ada King Lovelace');
  });

  it('types the latest shape', () => {
    expectTypeOf<UserDoc>().toEqualTypeOf<{
      _id: string;
      name: { given: string; family: string | null };
      email: string | null;
      created_at: Date;
    }>();
  });
});
