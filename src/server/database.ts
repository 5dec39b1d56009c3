import type { Collection, Db, Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';

/** The database of a collection, for the state and failures collections beside it. */
export function databaseOf(collection: Collection<Document>): Db {
  const db = (collection as { db?: Db }).db ?? (collection as unknown as { s?: { db?: Db } }).s?.db;
  if (db === undefined) {
    throw new InvalidOptionError('collection', 'must be a collection of the mongodb driver (>= 6.10): its database could not be found.');
  }
  return db;
}
