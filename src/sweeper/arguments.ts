import type { Collection, Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import { ownView } from '../server/index.js';

/**
 * The raw collection behind a driver collection, checked (a config file may hand over anything),
 * as the library's own operations see it: with the library's BSON options, not the app's.
 */
export function checkCollection<T extends Document>(collection: Collection<T>): Collection<Document> {
  const candidate = collection as unknown as Partial<Collection<Document>> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.find !== 'function' || typeof candidate.bulkWrite !== 'function') {
    throw new InvalidOptionError('collection', 'must be a mongodb driver Collection (db.collection(name)).');
  }
  return ownView(collection);
}
