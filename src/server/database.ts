import type { Collection, Db, Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import { libraryCollection, libraryDatabase } from './bson-options.js';

/**
 * The database of a collection, for the state, failures, archive and control collections beside
 * it: a view with the library's own BSON options (`LIBRARY_BSON_OPTIONS`), whatever the app's
 * client sets, so every collection opened from it reads the library's documents as written.
 */
export function databaseOf(collection: Collection<Document>): Db {
  return libraryDatabase(appDatabaseOf(collection));
}

/**
 * The app's collection as the library's own operations must see it: same namespace and concerns,
 * the library's BSON options. Every internal read, count and write on an app's collection runs on it.
 */
export function ownView<T extends Document>(collection: Collection<T>): Collection<Document> {
  return libraryCollection(collection, appDatabaseOf(collection as unknown as Collection<Document>));
}

function appDatabaseOf(collection: Collection<Document>): Db {
  const db = (collection as { db?: Db }).db ?? (collection as unknown as { s?: { db?: Db } }).s?.db;
  if (db === undefined) {
    throw new InvalidOptionError('collection', 'must be a collection of the mongodb driver (>= 6.10): its database could not be found.');
  }
  return db;
}
