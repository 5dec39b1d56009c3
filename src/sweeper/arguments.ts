import type { Collection, Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';

/** The raw collection behind a driver collection, checked: a config file may hand over anything. */
export function checkCollection<T extends Document>(collection: Collection<T>): Collection<Document> {
  const candidate = collection as unknown as Partial<Collection<Document>> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.find !== 'function' || typeof candidate.bulkWrite !== 'function') {
    throw new InvalidOptionError('collection', 'must be a mongodb driver Collection (db.collection(name)).');
  }
  return collection as unknown as Collection<Document>;
}
