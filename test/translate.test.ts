import fc from 'fast-check';
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { QueryTranslationError } from 'mongo-molt';
import { applyUp, step, type DeclarativeStep } from '../src/steps/index.js';
import { checkSort, translateFilter, type TranslationChain } from '../src/translate/index.js';

// v1 { full_name, age: '41', legacy?, address: { zip } } -> v2 (rename, add, convert, dotted rename) -> v3 (remove, add)
const toV2: DeclarativeStep[] = [
  step.rename('full_name', 'display_name'),
  step.add('email', null),
  step.convert('age', 'age', { up: (s: string) => Number(s), down: (n: number) => String(n) }),
  step.rename('address.zip', 'address.postcode'),
] as DeclarativeStep[];
const toV3: DeclarativeStep[] = [step.remove('legacy'), step.add('tags', [])];
const chain: TranslationChain = {
  schemaName: 'user', versionField: 'schemaVersion', unversioned: 1, first: 1, latest: 3,
  steps: [{ kind: 'declarative', steps: toV2 }, { kind: 'declarative', steps: toV3 }],
};

const migrate = (doc: Record<string, unknown>, version: number) => {
  let current = doc;
  if (version < 2) current = applyUp(toV2, current);
  if (version < 3) current = applyUp(toV3, current);
  return current;
};
const matches = (filter: object, doc: object) => new Query(filter as Record<string, unknown>).test(doc as Record<string, unknown>);

const name = fc.constantFrom('Ada', 'Bob', 'Cy');
const storedDoc = fc.record({
  _id: fc.integer({ min: 0, max: 1e6 }),
  version: fc.constantFrom(1, 2, 3),
  unstamped: fc.boolean(),
  name,
  age: fc.integer({ min: 0, max: 3 }),
  email: fc.option(fc.constantFrom('a@x', 'b@x'), { nil: null }),
  hasEmail: fc.boolean(),
  legacy: fc.option(fc.boolean(), { nil: undefined }),
  zip: fc.option(fc.constantFrom('N1', 'E2'), { nil: undefined }),
  tags: fc.option(fc.constantFrom([], ['x'], ['x', 'y']), { nil: undefined }),
}).map(({ _id, version, unstamped, name: n, age, email, hasEmail, legacy, zip, tags }) => {
  const doc: Record<string, unknown> = { _id };
  if (version === 1) {
    Object.assign(doc, { full_name: n, age: String(age) });
    if (legacy !== undefined) doc.legacy = legacy;
  } else {
    Object.assign(doc, { display_name: n, age });
    if (hasEmail || version === 3) doc.email = email;
    if (version === 2 && legacy !== undefined) doc.legacy = legacy;
    if (version === 3) doc.tags = tags ?? [];
  }
  if (zip !== undefined) doc.address = version === 1 ? { zip } : { postcode: zip };
  // Documents at version 1 may lack the version field (written before the library).
  const stored = version === 1 && unstamped ? doc : { ...doc, schemaVersion: version };
  return { stored, migrated: migrate(doc, version) };
});

const leaf: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  name.map((n) => ({ display_name: n })),
  fc.constantFrom('Ada', 'Bob').map((n) => ({ display_name: { $ne: n } })),
  fc.constant({ display_name: { $in: ['Ada', 'Cy'] } }),
  fc.constant({ display_name: { $regex: '^A' } }),
  fc.constant({ email: null }),
  fc.constant({ email: 'a@x' }),
  fc.constant({ email: { $exists: true } }),
  fc.constant({ email: { $exists: false } }),
  fc.integer({ min: 0, max: 3 }).map((n) => ({ age: n })),
  fc.constant({ age: { $in: [1, 2] } }),
  fc.constant({ age: { $nin: [0] } }),
  fc.constantFrom('N1', 'E2').map((zip) => ({ 'address.postcode': zip })),
  fc.constant({ 'address.postcode': { $exists: false } }),
  fc.constant({ tags: { $size: 0 } }),
  fc.constant({ tags: 'x' }),
  fc.constant({ legacy: { $exists: true } }),
  fc.constant({ full_name: 'Ada' }),
);
const filterArb: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  filter: fc.oneof({ depthSize: 'small' },
    leaf,
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((subs) => ({ $and: subs })),
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((subs) => ({ $or: subs })),
    fc.array(tie('filter'), { minLength: 1, maxLength: 2 }).map((subs) => ({ $nor: subs })),
  ),
})).filter as fc.Arbitrary<Record<string, unknown>>;

describe('translateFilter', () => {
  it('matches a stored document exactly when its migrated form matches the filter (in memory, mingo as the oracle)', () => {
    fc.assert(fc.property(fc.array(storedDoc, { minLength: 1, maxLength: 20 }), filterArb, (docs, filter) => {
      const translated = translateFilter(chain, filter);
      for (const { stored, migrated } of docs) {
        expect(matches(translated, stored), JSON.stringify({ stored, filter, translated })).toBe(matches(filter, migrated));
      }
    }), { numRuns: 500 });
  });

  it('returns the filter itself when no step touches its fields', () => {
    const filter = { _id: 5 };
    expect(translateFilter(chain, filter)).toBe(filter);
  });

  it('branches by version, with null for documents without a version field', () => {
    expect(translateFilter(chain, { display_name: 'Ada' })).toEqual({
      $or: [
        { schemaVersion: { $in: [null, 1] }, full_name: 'Ada' },
        { schemaVersion: { $nin: [null, 1] }, display_name: 'Ada' },
      ],
    });
  });

  it('maps a converted value through down for equality and $in, and refuses ranges, naming field, operator and versions', () => {
    expect(translateFilter(chain, { age: { $in: [1, 2] } })).toEqual({
      $or: [{ schemaVersion: { $in: [null, 1] }, age: { $in: ['1', '2'] } }, { schemaVersion: { $nin: [null, 1] }, age: { $in: [1, 2] } }],
    });
    const error = (() => {
      try {
        translateFilter(chain, { age: { $gt: 1 } });
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(QueryTranslationError);
    expect(error).toMatchObject({ field: 'age', operator: '$gt', versions: [1] });
    expect((error as Error).message).toMatch(/Nothing was read or written/);
  });

  it('refuses a path through a function step, but lets _id through', () => {
    const mixed: TranslationChain = { ...chain, steps: [{ kind: 'function' }, chain.steps[1]!] };
    expect(() => translateFilter(mixed, { display_name: 'Ada' })).toThrow(QueryTranslationError);
    expect(translateFilter(mixed, { _id: 3 })).toEqual({ _id: 3 });
    expect(() => translateFilter(chain, { $expr: { $eq: ['$a', 1] } })).toThrow(/\$expr cannot be translated/);
  });

  it('refuses sorts on fields a step changes, and allows the others', () => {
    expect(() => checkSort(chain, { display_name: 1 })).toThrow(QueryTranslationError);
    expect(() => checkSort(chain, { tags: 1 })).toThrow(/step to version 3 changes it/);
    expect(() => checkSort(chain, { _id: -1 })).not.toThrow();
  });
});
