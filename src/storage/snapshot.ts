/**
 * The one capture of a document read from the server. Every write the library makes from a
 * document it read (write-back, update-time migration, sweep, reverse sweep, restore) derives its
 * compare-and-swap filter, its archived original, its failure record and the BSON types of what it
 * stores from this capture, never from the object the steps worked on: steps receive copies.
 *
 * Two decodings of the same BSON bytes: `stored`, where every value keeps its BSON type (a
 * `Double(5)` stays a Double, a `Long(5)` a Long: what is stored, byte for byte), and `value`, the
 * JavaScript form the engine and the app see (numbers promoted). Both are deep-frozen.
 */
import { isDeepStrictEqual } from 'node:util';
import { BSON, type BSONSerializeOptions, type Document } from 'mongodb';
import { LIBRARY_BSON_OPTIONS } from '../server/index.js';
import { isPlainObject } from '../steps/paths.js';

/** A document as read from the server, captured once, immutably. */
export interface StoredSnapshot {
  /** `_id` in its JavaScript form (the one maps and logs use). */
  readonly id: unknown;
  /** The document as stored: every value with its BSON type. Deep-frozen. */
  readonly stored: Readonly<Document>;
  /** The same document with values promoted as the app reads them. Deep-frozen. */
  readonly value: Readonly<Document>;
  /** The BSON bytes as read: every copy steps get is decoded from them afresh. */
  readonly bytes: Uint8Array;
  /** How the app decodes values (its BSON options). */
  readonly decode: BSON.DeserializeOptions;
}

/**
 * Decoding without promotion: numbers keep their BSON type (Int32, Double, Long), a regular
 * expression stays a `BSONRegExp`. Every BSON option is set (the library's, then these), so that
 * a read with them sees the stored form whatever the app's client, database or collection sets
 * (`useBigInt64`, `raw`, `fieldsAsRaw`…).
 */
export const STORED_BSON_OPTIONS = Object.freeze({ ...LIBRARY_BSON_OPTIONS, promoteValues: false, promoteLongs: false, bsonRegExp: true } as const);

/** A snapshot of a document read as BSON bytes (`raw: true`); `options`: how the app decodes values. */
export function snapshotOfBytes(bytes: Uint8Array, options?: BSONSerializeOptions): StoredSnapshot {
  const decode = valueOptions(options);
  const stored = BSON.deserialize(bytes, STORED_BSON_OPTIONS);
  const value = BSON.deserialize(bytes, decode);
  return Object.freeze({ id: value._id, stored: deepFreeze(stored), value: deepFreeze(value), bytes, decode });
}

/** A snapshot of a document read with {@link STORED_BSON_OPTIONS} (numbers as their BSON types). */
export function snapshotOfStored(stored: Document, options?: BSONSerializeOptions): StoredSnapshot {
  return snapshotOfBytes(BSON.serialize(stored), options);
}

/** A value read as stored (an `Int32`, a `Long`), as the app would read it (a number): for reports and logs. */
export function promoted(value: unknown): unknown {
  return (BSON.deserialize(BSON.serialize({ value })) as { value: unknown }).value;
}

/** The app's decoding options (the collection's, then the call's), as the driver would apply them, without `raw`. */
export function valueOptions(options: BSONSerializeOptions | undefined): BSON.DeserializeOptions {
  if (options === undefined) return {};
  const picked: BSON.DeserializeOptions = {};
  if (options.promoteLongs !== undefined) picked.promoteLongs = options.promoteLongs;
  if (options.promoteValues !== undefined) picked.promoteValues = options.promoteValues;
  if (options.promoteBuffers !== undefined) picked.promoteBuffers = options.promoteBuffers;
  if (options.useBigInt64 !== undefined) picked.useBigInt64 = options.useBigInt64;
  if (options.bsonRegExp !== undefined) picked.bsonRegExp = options.bsonRegExp;
  if (options.enableUtf8Validation === false) picked.validation = { utf8: false };
  return picked;
}

/**
 * A copy of the snapshot's value that steps may change at will: decoded afresh from the bytes, so
 * nothing in it (a Date, a Binary) is shared with the snapshot a step could edit in place.
 */
export function workingCopy(snapshot: StoredSnapshot): Document {
  return BSON.deserialize(snapshot.bytes, snapshot.decode);
}

/**
 * `value` as it is to be stored: every part of it equal to the same path of the snapshot's value
 * takes the snapshot's stored form (its BSON types), so a field no step touches is written back
 * exactly as it was read (`Double(5)` stays `Double(5)`, `Long(5)` stays `Long(5)`), at any depth.
 * Parts a step changed are stored as the step returned them. `carry` lays a document as read out
 * at the paths the steps moved its values to (both decodings alike), so a value a rename moved is
 * compared with what was read at its old path, and keeps its type too.
 */
export function storedForm(value: Document, snapshot: StoredSnapshot, carry: (doc: Document) => Document = (doc) => doc): Document {
  return retype(value, carry(snapshot.value), carry(snapshot.stored)) as Document;
}

function retype(value: unknown, read: unknown, stored: unknown): unknown {
  if (read !== undefined && sameValue(value, read)) return stored;
  if (isPlainObject(value) && isPlainObject(read) && isPlainObject(stored)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      out[key] = Object.hasOwn(read, key) ? retype(value[key], read[key], stored[key]) : value[key];
    }
    return out;
  }
  if (Array.isArray(value) && Array.isArray(read) && Array.isArray(stored)) {
    return value.map((item, index) => (index < read.length ? retype(item, read[index], stored[index]) : item));
  }
  return value;
}

/** Equal as the app sees them, strictly: `-0` is not `0` (BSON keeps the sign), `5` is not `'5'`. */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b ? a !== 0 || Object.is(a, b) : typeof a === 'object' && typeof b === 'object' && isDeepStrictEqual(a, b);
}

function deepFreeze<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) deepFreeze(item);
    return Object.freeze(value);
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) deepFreeze(value[key]);
    return Object.freeze(value);
  }
  return value;
}

/**
 * A stable text key for an `_id` of any BSON type (ObjectId, string, number, document), the same
 * whether the `_id` was read as stored (an `Int32`, a `Double`) or promoted (a number).
 */
export function idKey(id: unknown): string {
  const value = typeof id === 'string' || (id as { _bsontype?: unknown } | null)?._bsontype === 'ObjectId' ? id : promoted(id);
  return BSON.EJSON.stringify({ id: value } as Document, { relaxed: false });
}
