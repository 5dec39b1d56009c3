/**
 * A query matcher in memory that answers as the server does: mingo, with the query operators
 * whose answers differ from MongoDB's replaced. Translation asks it constant questions ("does a
 * missing field match?", "does the default the read fills in match?"), and a wrong answer there
 * is a wrong filter sent for every stored document of the older versions. Measured against the
 * server (test/translation-matcher.test.ts), mingo 7 differs on:
 *
 * - `$all` of a field that is not an array: MongoDB reads `{ f: { $all: [a, b] } }` as
 *   `{ $and: [{ f: a }, { f: b }] }` (so `$all: ['new']` matches `'new'`, `$all: [null]` a missing
 *   field); mingo matches arrays only;
 * - `$in` (and so `$nin`) of an array value: MongoDB reads `$in: [a, b]` as `$or` of `{ f: a }`
 *   and `{ f: b }` (so `$in: [[]]` matches an empty array); mingo compares elements only;
 * - `$gte: null` and `$lte: null` match a missing field on the server, not in mingo;
 * - `$type` matches an array whose element has the type on the server, not in mingo;
 * - `$mod` and the `$bits…` operators match numbers only on the server (mingo: `null % 5 === 0`,
 *   and a missing field has every bit clear).
 */
import { Context } from 'mingo/core';
import * as expressionOperators from 'mingo/operators/expression';
import * as queryOperators from 'mingo/operators/query';
import { Query } from 'mingo/query';
import { isNumber, resolve } from 'mingo/util';

type QueryOperator = (selector: string, value: unknown, options: never) => (doc: Record<string, unknown>) => boolean;
const operators = queryOperators as unknown as Record<string, QueryOperator>;

/** `$all`, as a conjunction of its elements: each a value, a regular expression or an `$elemMatch`. */
const $all: QueryOperator = (selector, value, options) => {
  // MongoDB: `$all: []` matches nothing.
  if (!Array.isArray(value) || value.length === 0) return () => false;
  const query = new Query({ $and: value.map((element: unknown) => ({ [selector]: element })) }, options);
  return (doc) => query.test(doc);
};

/** `$in`, as a disjunction of its elements: each a value or a regular expression. */
const $in: QueryOperator = (selector, value, options) => {
  if (!Array.isArray(value)) return operators.$in!(selector, value, options); // mingo's error
  const query = new Query({ $or: value.map((element: unknown) => ({ [selector]: element })) }, options);
  return (doc) => value.length > 0 && query.test(doc);
};

/** `$nin`: not `$in`. */
const $nin: QueryOperator = (selector, value, options) => {
  const inner = $in(selector, value, options);
  return (doc) => !inner(doc);
};

/** `$gte: null` / `$lte: null` are `$eq: null` (null or missing); other bounds are mingo's. */
const nullBound = (name: '$gte' | '$lte'): QueryOperator => (selector, value, options) =>
  value === null ? operators.$eq!(selector, null, options) : operators[name]!(selector, value, options);

/** The value at `selector`, and each element when it is an array. */
function valueAndElements(doc: Record<string, unknown>, selector: string): unknown[] {
  const found = resolve(doc, selector, { unwrapArray: true });
  return Array.isArray(found) ? [found, ...(found as unknown[])] : [found];
}

/** `$type` of the value, or of any element of an array value. */
const $type: QueryOperator = (selector, value, options) => {
  const test = operators.$type!('value', value, options);
  return (doc) => valueAndElements(doc, selector).some((each) => test({ value: each }));
};

/** An operator the server applies to numbers only: the value, or an element of an array value. */
const numbersOnly = (name: string): QueryOperator => (selector, value, options) => {
  const test = operators[name]!('value', value, options);
  return (doc) => valueAndElements(doc, selector).some((each) => isNumber(each) && test({ value: each }));
};

const CONTEXT = Context.init({
  query: {
    ...queryOperators,
    $all,
    $in,
    $nin,
    $gte: nullBound('$gte'),
    $lte: nullBound('$lte'),
    $type,
    $mod: numbersOnly('$mod'),
    $bitsAllSet: numbersOnly('$bitsAllSet'),
    $bitsAllClear: numbersOnly('$bitsAllClear'),
    $bitsAnySet: numbersOnly('$bitsAnySet'),
    $bitsAnyClear: numbersOnly('$bitsAnyClear'),
  } as never,
  expression: expressionOperators as never,
});

/** Whether `filter` matches `doc`, as the server would answer. Throws mingo's error on a filter it cannot read. */
export function serverMatches(filter: Record<string, unknown>, doc: Record<string, unknown>): boolean {
  return new Query(filter, { context: CONTEXT }).test(doc);
}
