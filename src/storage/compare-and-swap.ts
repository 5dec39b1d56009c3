import { BSON, type Document, type Filter } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { MigrationTarget } from '../migrate/index.js';
import { storedForm, type StoredSnapshot } from './snapshot.js';

/**
 * What a compare-and-swap compares. There is one answer now: the whole document as it was read
 * (`document`), so a write-back, an update-time migration, a sweep or a restore never overwrites
 * any write made in between, through mongo-molt (a pinned writer's in-place `$inc` included) or
 * not (a field changed, added or removed by a plain driver). The option remains so that configs
 * naming it keep working; `version`, which compared only `{ _id, <versionField> }` and so missed
 * writes that keep the version, is refused.
 * @public
 */
export const CompareOn = Object.freeze({ DOCUMENT: 'document' } as const);
/** @public */
export type CompareOn = (typeof CompareOn)[keyof typeof CompareOn];

/** The `compareOn` option, checked: `document` (the default and the only one) or a clear refusal. */
export function checkCompareOn(value: unknown): CompareOn {
  if (value === undefined || value === 'document') return 'document';
  if (value === 'version') {
    throw new InvalidOptionError('compareOn', "'version' is no longer offered: it compared only _id and the version field, so a write-back or sweep could overwrite an update that kept the version (a pinned writer's $inc). Every compare-and-swap now compares the whole document as read; leave compareOn out.");
  }
  throw new InvalidOptionError('compareOn', `must be 'document' (the default), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`);
}

/**
 * How a server is asked "is the document still exactly as read": `expr` compares the whole document
 * in one `$expr` (its fields, in order, against the snapshot's: exact on MongoDB and FerretDB 2); `fields`
 * compares every top-level field with `$eq` and the number of fields with `$expr`, for servers
 * whose `$expr` cannot compare documents holding empty arrays (mongo-java-server).
 */
export type DocumentMatch = 'expr' | 'fields';

/**
 * Above this size, a document's compare-and-swap compares its large fields by size (MongoDB,
 * FerretDB 2) or not at all (mongo-java-server) instead of value by value: the filter carries the
 * document, and a filter plus a replacement must fit in one 16 MiB command.
 */
export const WHOLE_COMPARE_MAX_BYTES = 4 * 1024 * 1024;
/** A field this large (as BSON) is a large field (see {@link WHOLE_COMPARE_MAX_BYTES}); on mongo-java-server, always. */
export const LARGE_FIELD_BYTES = 16 * 1024;

/** The compare-and-swap filter: the document's `_id`, and the document still exactly as read. */
export function casFilter(snapshot: StoredSnapshot, match: DocumentMatch): Filter<Document> {
  const stored = snapshot.stored;
  const large = largeFields(snapshot, match);
  if (match === 'expr') {
    // Every field but `_id` (matched on its own), in order, as `{ k, v }` pairs: comparing `$$ROOT`
    // whole would miss on FerretDB 2 / DocumentDB, whose `$$ROOT` holds `_id` twice after an update
    // pipeline's `$replaceWith`. A large field of a large document is compared by its BSON size.
    const entries = Object.entries(stored).filter(([key]) => key !== '_id');
    const actual = { $filter: { input: { $objectToArray: '$$ROOT' }, cond: { $ne: ['$$this.k', '_id'] } } };
    if (large.size === 0) return { _id: stored._id, $expr: { $eq: [actual, { $literal: entries.map(([k, v]) => ({ k, v: v as unknown })) }] } } as Filter<Document>;
    const sized = { $map: { input: actual, in: { k: '$$this.k', v: { $cond: [{ $in: ['$$this.k', [...large.keys()]] }, { $bsonSize: { v: '$$this.v' } }, '$$this.v'] } } } };
    const expected = entries.map(([k, v]) => ({ k, v: large.has(k) ? large.get(k) : (v as unknown) }));
    return { _id: stored._id, $expr: { $eq: [sized, { $literal: expected }] } } as Filter<Document>;
  }
  const filter: Document = {};
  for (const [key, value] of Object.entries(stored)) {
    if (key === '_id') filter._id = value;
    // A regular expression (at any depth) would be a pattern to match there, not a value to
    // compare, and a large field costs that server a scan of every element: both are left to the
    // field count.
    else if (!large.has(key) && !holdsRegExp(value)) filter[key] = fieldEquals(value);
  }
  filter.$expr = { $eq: [{ $size: { $objectToArray: '$$ROOT' } }, Object.keys(stored).length] };
  return filter as Filter<Document>;
}

/** `$eq` as a value, not as MongoDB's array and null semantics: `null` only a stored null, a scalar never an array holding it. */
function fieldEquals(value: unknown): Document {
  if (value === null) return { $type: 10 };
  if (Array.isArray(value)) return { $eq: value };
  return { $eq: value, $not: { $type: 4 } };
}

/** The large fields of a document (by name, with their BSON size as `{ v: value }`): none in a small document. */
function largeFields(snapshot: StoredSnapshot, match: DocumentMatch): Map<string, number> {
  const large = new Map<string, number>();
  const limit = match === 'fields' ? LARGE_FIELD_BYTES : WHOLE_COMPARE_MAX_BYTES;
  if (snapshot.bytes.length <= limit) return large;
  for (const [key, value] of Object.entries(snapshot.stored)) {
    if (key === '_id') continue;
    const size = BSON.calculateObjectSize({ v: value });
    if (size > LARGE_FIELD_BYTES) large.set(key, size);
  }
  return large;
}

function holdsRegExp(value: unknown): boolean {
  if (value instanceof RegExp || (value as { _bsontype?: unknown } | null)?._bsontype === 'BSONRegExp') return true;
  if (Array.isArray(value)) return value.some(holdsRegExp);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).some(holdsRegExp);
  return false;
}

/** The version a document was read at, as stored: `null` when absent (or not a number). */
export function storedVersion(raw: Readonly<Document>, versionField: string): number | null {
  const value: unknown = raw[versionField];
  return typeof value === 'number' ? value : null;
}

/** What a stored document was, as read: where its write goes and whether it needs one. */
export interface ReadState {
  readonly id: unknown;
  /** The document as read, captured once: the compare-and-swap compares against it. */
  readonly snapshot: StoredSnapshot;
  /** The version field as read: `null` when absent (or not a number). */
  readonly fromVersion: number | null;
  /** Whether the stored version field differs from the target's version: only then is a write needed. */
  readonly needsWrite: boolean;
}

/** What a write needs to know of a document read as `snapshot`, for a target. */
export function readState(snapshot: StoredSnapshot, target: MigrationTarget): ReadState {
  const value = snapshot.value;
  return { id: snapshot.id, snapshot, fromVersion: storedVersion(value, target.versionField), needsWrite: target.needsWrite(value) };
}

/** A compare-and-swap replace, ready for the bulk writer. */
export interface StoredWrite {
  readonly id: unknown;
  /** The document as read: the write applies only while it is still exactly that. */
  readonly snapshot: StoredSnapshot;
  readonly replacement: Document;
  readonly fromVersion: number | null;
}

/**
 * The write that stores `value` at the target, for a document read as `state`: values equal to
 * what was read at the path the steps moved them to keep their stored BSON types, and the version
 * field is stamped.
 */
export function storedWrite(state: ReadState, value: object, target: MigrationTarget): StoredWrite {
  const replacement = stampVersion(storedForm(value as Document, state.snapshot, target.carry), target.versionField, target.version);
  return { id: state.id, snapshot: state.snapshot, replacement, fromVersion: state.fromVersion };
}

/** The document as stored: the value plus the version field (the value is not modified). */
export function stampVersion<T extends object>(value: T, versionField: string, version: number): T & Document {
  return { ...value, [versionField]: version };
}
