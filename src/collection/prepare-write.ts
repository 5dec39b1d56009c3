import { BSON, type Document } from 'mongodb';
import { DocumentTooLargeError, InvalidOptionError, UpcastError } from '../errors.js';
import { lostFields, migrateDocument, validateVersion } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { stampVersion } from '../storage/index.js';

const WRITE_ACTION = 'Nothing was written; pass a document of the latest shape.';

/**
 * Validates a latest-shape document (from an insert or a replacement) and turns it into what is
 * stored at the write version: downcast when the write version is pinned below the latest, stamped.
 */
export async function prepareWrite(definition: SchemaDefinition, writeVersion: number, doc: unknown, isReplacement = false): Promise<Document> {
  return checkSize(definition, await stored(definition, writeVersion, doc, isReplacement));
}

/** The largest document MongoDB stores (`maxBsonObjectSize`). */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Refuses, with a typed error naming it, a document the server could not store (the driver would throw a bare RangeError). */
function checkSize(definition: SchemaDefinition, document: Document): Document {
  let size: number;
  try {
    size = BSON.calculateObjectSize(document);
  } catch {
    size = Infinity;
  }
  if (size > MAX_DOCUMENT_BYTES) throw new DocumentTooLargeError({ schemaName: definition.name, _id: document._id, size, maxSize: MAX_DOCUMENT_BYTES });
  return document;
}

async function stored(definition: SchemaDefinition, writeVersion: number, doc: unknown, isReplacement: boolean): Promise<Document> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidOptionError('document', `a write expects a document (a plain object), got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}.`);
  }
  const { [definition.versionField]: _ignored, ...given } = doc as Document;
  const id: unknown = given._id;
  // The latest shape with its defaults filled in: what reads will hand out.
  const value = await validateVersion(definition, definition.latest, given, id, WRITE_ACTION, isReplacement);
  if (writeVersion === definition.latest) return stampVersion(value, definition.versionField, writeVersion);
  // Down without validation, then one check at the pinned version that, like the latest one,
  // allows a replacement without `_id` (the stored one is kept).
  const down = await migrateDocument(definition, stampVersion(value, definition.versionField, definition.latest), { to: writeVersion, validate: 'never' }, false);
  // A downcaster's `_id: undefined` must not replace the stored `_id`.
  if (isReplacement && id === undefined) delete down.value._id;
  const pinned = await validateVersion(definition, writeVersion, down.value, id, WRITE_ACTION, isReplacement);
  await refuseLoss(definition, writeVersion, value, pinned, id);
  return stampVersion(pinned, definition.versionField, writeVersion);
}

/**
 * The rule of pinned updates and reverse sweeps, for inserts and replacements: the document
 * stored at the pinned version, read back (brought up to the latest), must be the document given.
 * A value the pinned version cannot hold (a field only a later version has) would otherwise be
 * dropped by the way down and replaced by the way up's default on every read.
 */
async function refuseLoss(definition: SchemaDefinition, writeVersion: number, given: Document, pinned: Document, id: unknown): Promise<void> {
  const back = await migrateDocument(definition, stampVersion({ ...pinned }, definition.versionField, writeVersion), { to: definition.latest, validate: 'never' }, false);
  const { [definition.versionField]: _version, ...read } = back.value;
  const lost = lostFields(given, read);
  if (lost.length === 0) return;
  throw new UpcastError({
    schemaName: definition.name,
    _id: id,
    fromVersion: definition.latest,
    toVersion: writeVersion,
    reason: `stored at the pinned write version ${writeVersion}, it would lose ${lost.map((key) => `"${key}"`).join(', ')} (read back at version ${definition.latest}, ${lost.length === 1 ? 'it does' : 'they do'} not come back as given)`,
    action: `Nothing was written. Write it without ${lost.length === 1 ? 'that value' : 'those values'} (what version ${writeVersion} can hold), or with a wrapper at the latest version once every reader runs it.`,
  });
}
