import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QueryTranslationError } from 'mongo-molt';
import { checkSort, translateFilter, type TranslationChain } from '../src/translate/index.js';
import { step, type DeclarativeStep } from '../src/steps/index.js';
import { chain, filterArb, matches, storedDoc } from './fixtures/translation-chain.js';

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
        // A stored display_name without full_name (a half-run manual migration) is read as it is.
        { schemaVersion: { $in: [null, 1] }, $or: [{ full_name: 'Ada' }, { full_name: { $exists: false }, display_name: 'Ada' }] },
        { schemaVersion: { $nin: [null, 1] }, display_name: 'Ada' },
      ],
    });
  });

  it('compares a converted value on the server through upExpr (exact whatever the stored form), and refuses ranges, naming field, operator and versions', () => {
    // Each conversion gets an onError, so that one unconvertible stored value fails no filter; such a document matches no condition on the field.
    const converted = { $convert: { input: '$age', to: 'double', onError: null, onNull: null } };
    const convertible = { $expr: { $not: [{ $eq: [{ $convert: { input: '$age', to: 'double', onError: { $literal: { unconvertible: true } }, onNull: null } }, { $literal: { unconvertible: true } }] }] } };
    const age = (n: number) => ({ $expr: { $eq: [converted, { $literal: n }] } });
    expect(translateFilter(chain, { age: { $in: [1, 2] } })).toEqual({
      $or: [{ schemaVersion: { $in: [null, 1] }, age: { $exists: true }, ...convertible, $or: [age(1), age(2)] }, { schemaVersion: { $nin: [null, 1] }, age: { $in: [1, 2] } }],
    });
    // A document without age reads without it: it matches $ne.
    expect(translateFilter(chain, { age: { $ne: 1 } })).toEqual({
      $or: [{ schemaVersion: { $in: [null, 1] }, $or: [{ age: { $exists: true }, ...convertible, $nor: [age(1)] }, { age: { $exists: false } }] }, { schemaVersion: { $nin: [null, 1] }, age: { $ne: 1 } }],
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

  it('maps a converted value through down only when the step says stored values are canonical; without that or upExpr it refuses', () => {
    const convertWith = (extra: object): TranslationChain => ({
      ...chain,
      steps: [{ kind: 'declarative', steps: [step.convert('age', 'age', { up: (s: string) => Number(s), down: (n: number) => String(n), ...extra })] as DeclarativeStep[] }, chain.steps[1]!],
    });
    expect(translateFilter(convertWith({ canonical: true }), { age: { $in: [1, 2] } })).toEqual({
      $or: [{ schemaVersion: { $in: [null, 1] }, $and: [{ age: { $exists: true } }, { age: { $in: ['1', '2'] } }] }, { schemaVersion: { $nin: [null, 1] }, age: { $in: [1, 2] } }],
    });
    // Mapping '1.50' -> 150 -> '1.5' would miss the stored '1.50': refused, with both ways out named.
    expect(() => translateFilter(convertWith({}), { age: 1 })).toThrow(/give the step an upExpr .* or canonical: true/);
    expect(translateFilter(convertWith({}), { age: { $exists: true } })).toEqual({ age: { $exists: true } });
  });

  it('refuses a path through a function step, but lets _id through', () => {
    const mixed: TranslationChain = { ...chain, steps: [{ kind: 'function' }, chain.steps[1]!] };
    expect(() => translateFilter(mixed, { display_name: 'Ada' })).toThrow(QueryTranslationError);
    expect(translateFilter(mixed, { _id: 3 })).toEqual({ _id: 3 });
    // An aggregation expression passes the steps that change none of its fields, and only those.
    expect(translateFilter(chain, { $expr: { $eq: ['$a', 1] } })).toEqual({ $expr: { $eq: ['$a', 1] } });
    expect(() => translateFilter(chain, { $expr: { $eq: ['$display_name', 'Ada'] } })).toThrow(/expression on "display_name" cannot be carried through step.rename/);
    expect(() => translateFilter(chain, { $expr: { $eq: ['$$ROOT', {}] } })).toThrow(QueryTranslationError);
    // $getField names its field as a plain string: which one cannot be told, so it is refused through any step.
    expect(() => translateFilter(chain, { $expr: { $lt: [{ $getField: 'age' }, 2] } })).toThrow(QueryTranslationError);
    expect(() => translateFilter(chain, { $expr: { $lt: [{ $getField: { field: 'age', input: '$$CURRENT' } }, 2] } })).toThrow(QueryTranslationError);
    expect(() => translateFilter(chain, { $where: 'true' })).toThrow(/\$where cannot be translated/);
  });

  it('refuses sorts on fields a step changes, and allows the others', () => {
    expect(() => checkSort(chain, { display_name: 1 })).toThrow(QueryTranslationError);
    expect(() => checkSort(chain, { tags: 1 })).toThrow(/step to version 3 changes it/);
    expect(() => checkSort(chain, { _id: -1 })).not.toThrow();
  });
});
