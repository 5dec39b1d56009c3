import type { Collection, Document, Filter } from 'mongodb';
import { limited, type OperationLimit } from '../../server/index.js';
import { bracketOf, ID_BRACKETS, isNaNId, NAN_IDS, type IdBracket } from '../keyset.js';

/** How plans and split points are read: `Long`s kept exact (a bound rounded to a double would move a range's edge). */
export const EXACT_IDS = Object.freeze({ promoteLongs: false } as const);

/**
 * One range of a plan: `_id`s of one type bracket (never two: the server orders `_id`s by bracket
 * first, and `$gt` / `$lt` compare within one), from `from` (inclusive; `null`: the bracket's
 * start) to `to` (exclusive), or, for the bracket's last range, up to `last` (inclusive): the
 * bracket's largest stale `_id` when the pass was planned. A document stored later past it is
 * written at the latest version anyway; a stale one left there is found by the final recount.
 * No bound is ever a NaN: a NaN `_id` belongs to its bracket's first range (see `isNaNId`).
 */
export interface PlannedRange {
  readonly bracket: IdBracket;
  readonly from: unknown;
  readonly to: unknown;
  readonly last: unknown;
  /** Stale documents in the range when it was planned. */
  readonly documents: number;
}

const TYPES = new Map<string, readonly number[]>(ID_BRACKETS.map((bracket) => [bracket.name, bracket.types]));

/**
 * The stale documents of one range: `stale` restricted to the range's bracket and bounds. The
 * first range of the `number` bracket also takes a NaN `_id`, which no comparison bound matches.
 */
export function rangeFilter(stale: Readonly<Document>, range: PlannedRange): Filter<Document> {
  const id: Document = { $type: [...(TYPES.get(range.bracket) ?? [])] };
  if (range.from !== null && range.from !== undefined) id.$gte = range.from;
  if (range.to !== null && range.to !== undefined) id.$lt = range.to;
  else if (range.last !== null && range.last !== undefined) id.$lte = range.last;
  const bounded = Object.keys(id).length > 1;
  const withNaN = range.bracket === 'number' && (range.from === null || range.from === undefined) && bounded;
  return { $and: [stale, withNaN ? { $or: [{ _id: id }, { _id: NAN_IDS }] } : { _id: id }] } as Filter<Document>;
}

/** How the split points were found: `$bucketAuto` on the server, or offsets into the `_id` order. */
export type SplitMethod = 'bucketAuto' | 'offsets';

/**
 * Splits the stale documents into about `count` ranges of about equal document counts, each
 * within one `_id` type bracket (every bracket that holds stale documents gets at least one).
 * The split points come from `$bucketAuto` where the server runs it (DocumentDB does), else from
 * the `_id`s at evenly spaced offsets of the stale documents in `_id` order (mongo-java-server).
 * `given`: split points the user chose (a key space they know), used as they are.
 */
export async function planRanges(
  collection: Collection<Document>,
  stale: Readonly<Document>,
  count: number,
  limit: OperationLimit | undefined,
  given?: readonly unknown[],
): Promise<{ ranges: PlannedRange[]; method: SplitMethod | 'given' }> {
  const brackets: { name: IdBracket; documents: number }[] = [];
  for (const bracket of ID_BRACKETS) {
    const documents = await collection.countDocuments(inBracket(stale, bracket.name), limited({}, limit));
    if (documents > 0) brackets.push({ name: bracket.name, documents });
  }
  const total = brackets.reduce((sum, bracket) => sum + bracket.documents, 0);
  const ranges: PlannedRange[] = [];
  let method: SplitMethod | 'given' = given ? 'given' : 'bucketAuto';
  for (const { name, documents } of brackets) {
    const last = await edge(collection, stale, name, limit);
    const wanted = Math.max(1, Math.min(documents, Math.round((count * documents) / total)));
    let splits: unknown[];
    if (given) {
      splits = ascending(given.filter((point) => bracketOfPoint(point, name)), name);
    } else {
      const found = wanted === 1 ? [] : await bucketSplits(collection, stale, name, wanted, limit);
      if (found === undefined) method = 'offsets';
      splits = found ?? (await offsetSplits(collection, stale, name, documents, wanted, limit));
    }
    const bounds = [null, ...splits.filter((point) => !isNaNId(point))];
    for (let i = 0; i < bounds.length; i++) {
      const to = i + 1 < bounds.length ? bounds[i + 1] : null;
      ranges.push({ bracket: name, from: bounds[i], to, last: to === null ? last : null, documents: 0 });
    }
  }
  // The counts per range (estimates for the report and `molt status`; the walk does not rely on them).
  const counted = await Promise.all(ranges.map(async (range) => ({ ...range, documents: await collection.countDocuments(rangeFilter(stale, range), limited({}, limit)) })));
  return { ranges: counted, method };
}

function inBracket(stale: Readonly<Document>, bracket: IdBracket): Filter<Document> {
  return { $and: [stale, { _id: { $type: [...(TYPES.get(bracket) ?? [])] } }] } as Filter<Document>;
}

/** Whether a given split point falls in `bracket` (a point of another bracket splits nothing there). */
function bracketOfPoint(point: unknown, bracket: IdBracket): boolean {
  return bracketOf(point) === bracket;
}

/**
 * Given split points in the server's order, without repeats: numbers, strings, dates and ObjectIds
 * are sorted here (as the server compares them, bar strings outside the Basic Multilingual Plane);
 * points of the other brackets are kept in the order given, which must then be ascending.
 */
function ascending(points: readonly unknown[], bracket: IdBracket): unknown[] {
  const rank = RANKS[bracket];
  const sorted = rank === undefined ? [...points] : [...points].sort((a, b) => compare(rank(a), rank(b)));
  return sorted.filter((point, index) => index === 0 || !sameId(sorted[index - 1], point));
}

const RANKS: Partial<Record<IdBracket, (point: unknown) => number | string>> = {
  number: (point) => Number(String(point)),
  string: (point) => String(point),
  date: (point) => (point as Date).getTime(),
  objectId: (point) => String(point),
};

function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The largest stale `_id` of a bracket other than a NaN: the pass's upper bound there (a NaN,
 * which a server may sort last, is no bound: the first range takes it).
 */
async function edge(collection: Collection<Document>, stale: Readonly<Document>, bracket: IdBracket, limit: OperationLimit | undefined): Promise<unknown> {
  const tops = await collection.find(inBracket(stale, bracket), limited({ ...EXACT_IDS, projection: { _id: 1 } }, limit)).sort({ _id: -1 }).limit(2).toArray();
  return tops.find((top) => !isNaNId(top._id))?._id ?? null;
}

/** `wanted - 1` split points from `$bucketAuto`; `undefined` when the server does not run it. */
async function bucketSplits(collection: Collection<Document>, stale: Readonly<Document>, bracket: IdBracket, wanted: number, limit: OperationLimit | undefined): Promise<unknown[] | undefined> {
  try {
    const buckets = await collection.aggregate([{ $match: inBracket(stale, bracket) }, { $bucketAuto: { groupBy: '$_id', buckets: wanted } }], limited({ ...EXACT_IDS }, limit)).toArray();
    return buckets.slice(1).map((bucket) => (bucket._id as { min: unknown }).min);
  } catch (error) {
    if (isUnknownStage(error)) return undefined;
    throw error;
  }
}

/** `wanted - 1` split points: the `_id`s at offsets `i * documents / wanted` in `_id` order. */
async function offsetSplits(collection: Collection<Document>, stale: Readonly<Document>, bracket: IdBracket, documents: number, wanted: number, limit: OperationLimit | undefined): Promise<unknown[]> {
  const splits: unknown[] = [];
  for (let i = 1; i < wanted; i++) {
    const skip = Math.floor((i * documents) / wanted);
    const [at] = await collection.find(inBracket(stale, bracket), limited({ ...EXACT_IDS, projection: { _id: 1 } }, limit)).sort({ _id: 1 }).skip(skip).limit(1).toArray();
    if (at !== undefined && (splits.length === 0 || !sameId(splits.at(-1), at._id))) splits.push(at._id);
  }
  return splits;
}

function sameId(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An unknown aggregation stage (40324; some servers say so only in the message). */
function isUnknownStage(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 40324 || (typeof message === 'string' && /unrecognized pipeline stage|\$bucketAuto/i.test(message));
}
