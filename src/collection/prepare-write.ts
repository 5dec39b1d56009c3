import type { Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import { isPromiseLike, migrateDocument, validateVersion } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { stampVersion } from '../storage/index.js';

const WRITE_ACTION = 'Nothing was written; pass a document of the latest shape.';

/**
 * Validates a latest-shape document (from an insert or a replacement) and turns it into what is
 * stored at the write version: downcast when the write version is pinned below the latest, stamped.
 */
export async function prepareWrite(definition: SchemaDefinition, writeVersion: number, doc: unknown, isReplacement = false): Promise<Document> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidOptionError('document', `a write expects a document (a plain object), got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}.`);
  }
  const { [definition.versionField]: _ignored, ...value } = doc as Document;
  const id: unknown = value._id;
  const latestCheck = validateVersion(definition, definition.latest, value, id, WRITE_ACTION, isReplacement);
  if (isPromiseLike(latestCheck)) await latestCheck;
  if (writeVersion === definition.latest) return stampVersion(value, definition.versionField, writeVersion);
  const down = await migrateDocument(definition, stampVersion(value, definition.versionField, definition.latest), { to: writeVersion, validate: 'migrated' }, false);
  return stampVersion(down.value, definition.versionField, writeVersion);
}
