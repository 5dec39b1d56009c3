import { BSON, type Document, type Filter } from 'mongodb';

/**
 * MongoDB orders values of different BSON types by type first (its "comparison/sort order"),
 * and `$gt` / `$lt` only ever match values of the same type bracket as their operand: after
 * `_id: { $gt: 5 }` no string, ObjectId or date is found. A keyset over `_id`s of several types
 * therefore pages within the current bracket by `$gt` and takes every later bracket whole by
 * `$type`, which the server sorts in the same order.
 *
 * The brackets, in the server's order, with the `$type` codes each holds. Deprecated types that
 * cannot be stored through the driver (undefined, symbol, DBPointer, JavaScript) are left out:
 * mongo-java-server refuses their codes in `$type`.
 */
export const ID_BRACKETS = Object.freeze([
  { name: 'minKey', types: [-1] },
  { name: 'null', types: [10] },
  { name: 'number', types: [1, 16, 18, 19] },
  { name: 'string', types: [2] },
  { name: 'object', types: [3] },
  { name: 'array', types: [4] },
  { name: 'binData', types: [5] },
  { name: 'objectId', types: [7] },
  { name: 'bool', types: [8] },
  { name: 'date', types: [9] },
  { name: 'timestamp', types: [17] },
  { name: 'regex', types: [11] },
  { name: 'maxKey', types: [127] },
] as const);

/** The name of an `_id` type bracket (`number` holds Int32, Long, Double and Decimal128). @public */
export type IdBracket = (typeof ID_BRACKETS)[number]['name'];

const INDEX = new Map<string, number>(ID_BRACKETS.map((bracket, index) => [bracket.name, index]));

const BY_BSON_TYPE: Readonly<Record<string, IdBracket>> = {
  MinKey: 'minKey',
  MaxKey: 'maxKey',
  Int32: 'number',
  Double: 'number',
  Long: 'number',
  Decimal128: 'number',
  BSONSymbol: 'string',
  Binary: 'binData',
  ObjectId: 'objectId',
  Timestamp: 'timestamp',
  BSONRegExp: 'regex',
};

/**
 * The bracket of an `_id` as the driver hands it back. Exact: deserialising keeps every bracket
 * (an Int32 or a Long may come back as a JS number, which is the same `number` bracket).
 */
export function bracketOf(id: unknown): IdBracket {
  if (id === null || id === undefined) return 'null';
  switch (typeof id) {
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
  }
  if (id instanceof Date) return 'date';
  if (id instanceof RegExp) return 'regex';
  if (Array.isArray(id)) return 'array';
  if (id instanceof Uint8Array) return 'binData';
  const bsontype = (id as { _bsontype?: unknown })._bsontype;
  return (typeof bsontype === 'string' ? BY_BSON_TYPE[bsontype] : undefined) ?? 'object';
}

/**
 * A NaN `_id` (a Double or a Decimal128 NaN; the unique index holds at most one of them). It is in
 * the `number` bracket but outside its order for queries: the server sorts it first among numbers
 * (mongo-java-server: last), yet `$gt`, `$gte`, `$lt` and `$lte` against any other number never
 * match it, so a range of numbers bounded by comparisons leaves it out. It is reached by equality:
 * {@link NAN_IDS}.
 */
export function isNaNId(id: unknown): boolean {
  if (typeof id === 'number') return Number.isNaN(id);
  const bsontype = (id as { _bsontype?: unknown } | null)?._bsontype;
  if (bsontype === 'Double') return Number.isNaN((id as BSON.Double).value);
  if (bsontype === 'Decimal128') return (id as BSON.Decimal128).toString().endsWith('NaN');
  return false;
}

/** The condition on `_id` that matches a NaN `_id`, whichever numeric type holds it. */
export const NAN_IDS: Readonly<Document> = Object.freeze({ $in: [Number.NaN, BSON.Decimal128.fromString('NaN')] });

function typesOf(brackets: readonly (typeof ID_BRACKETS)[number][]): number[] {
  return brackets.flatMap((bracket) => [...bracket.types]);
}

/** A known bracket name (from a checkpoint), else the one the `_id` itself is in. */
function resolve(id: unknown, bracket: string | undefined): number {
  return INDEX.get(bracket ?? '') ?? (INDEX.get(bracketOf(id)) as number);
}

/**
 * The `_id`s after `id` in the server's order: `$gt` within its bracket, every later bracket by
 * `$type` (`inclusive`: `id` itself too). `bracket`: the one a checkpoint recorded, else `id`'s own.
 */
export function afterId(id: unknown, inclusive = false, bracket?: string): Document {
  const later = typesOf(ID_BRACKETS.slice(resolve(id, bracket) + 1));
  const within = withinAfter(id, inclusive);
  return later.length === 0 ? within : { $or: [within, { _id: { $type: later } }] };
}

/** The `_id`s before `id` in the server's order: `$lt` within its bracket, every earlier bracket by `$type`. */
export function beforeId(id: unknown, bracket?: string): Document {
  const earlier = typesOf(ID_BRACKETS.slice(0, resolve(id, bracket)));
  const within = withinBefore(id);
  return earlier.length === 0 ? within : { $or: [within, { _id: { $type: earlier } }] };
}

/**
 * The `_id`s of `id`'s bracket after it. A NaN sorts first among numbers on MongoDB and FerretDB
 * (where no comparison with a number matches it) and last on mongo-java-server (where every
 * number is less than it), so "after NaN" is asked as "a number, not NaN, and not less than NaN",
 * which is every other number on the first kind of server and none on the second.
 */
function withinAfter(id: unknown, inclusive: boolean): Document {
  if (!isNaNId(id)) return { _id: { [inclusive ? '$gte' : '$gt']: id } };
  const after = { _id: { $gte: -Infinity, $not: { $lt: Number.NaN }, $nin: NAN_IDS.$in as unknown[] } };
  return inclusive ? { $or: [{ _id: NAN_IDS }, after] } : after;
}

/** The `_id`s of `id`'s bracket before it: for a number, a NaN too where the server sorts it first (it is not "at least" the number there). */
function withinBefore(id: unknown): Document {
  if (bracketOf(id) !== 'number' || isNaNId(id)) return { _id: { $lt: id } };
  return { $or: [{ _id: { $lt: id } }, { _id: { ...NAN_IDS, $not: { $gte: id } } }] };
}

/** A range of `_id`s in the server's order: from `from` (inclusive) to `to` (exclusive); an absent end is open. @public */
export interface IdRange {
  readonly from?: unknown;
  readonly to?: unknown;
}

/** A keyset position: the last `_id` read and its bracket; `null` before the first page. */
export interface KeysetPosition {
  readonly id: unknown;
  readonly bracket?: string | undefined;
}

/**
 * `filter` restricted to the `_id`s after `position` (all of them when `null`) and within `range`:
 * one query whose results, sorted by `_id`, continue the walk exactly where it stopped, whatever
 * mix of types the `_id`s are.
 */
export function keysetFilter(filter: Readonly<Document>, position: KeysetPosition | null, range?: IdRange): Filter<Document> {
  const parts: Document[] = [];
  if (range?.from !== undefined) parts.push(afterId(range.from, true));
  if (range?.to !== undefined) parts.push(beforeId(range.to));
  if (position !== null) parts.push(afterId(position.id, false, position.bracket));
  if (parts.length === 0) return { ...filter } as Filter<Document>;
  return { $and: [filter, ...parts] } as Filter<Document>;
}
