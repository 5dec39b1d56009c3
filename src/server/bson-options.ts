/**
 * What the library decodes and encodes with when it talks to the server for itself. The driver
 * lets a client, a database and a collection set BSON options that every operation inherits
 * (`promoteValues: false` turns counts and expiries into `Int32`s, `useBigInt64` clashes with the
 * stored reads, `raw: true` hands back bytes…). The library's own operations (its state, lease,
 * failures, archive and control documents, its counts, the stored reads and compare-and-swaps of
 * its write paths, the results of its writes) therefore run on views that set every one of these
 * options explicitly, so that nothing an app configures changes what the library sees or writes.
 * What the app reads through the wrapper is decoded with the app's own options.
 */
import { Db, type Collection, type CollectionOptions, type Document, type ReadConcern, type ReadPreference, type WriteConcern } from 'mongodb';

/** Every BSON option the driver resolves, at the driver's defaults: the library's own decoding. */
export const LIBRARY_BSON_OPTIONS = Object.freeze({
  raw: false,
  useBigInt64: false,
  promoteLongs: true,
  promoteValues: true,
  promoteBuffers: false,
  bsonRegExp: false,
  enableUtf8Validation: true,
  ignoreUndefined: false,
  serializeFunctions: false,
  fieldsAsRaw: Object.freeze({}) as Document,
} as const);

/**
 * A database whose collections, commands and cursors ignore the BSON options of the app's client
 * (a `Db` inherits its client's, then a collection its database's: each is set here).
 */
class LibraryDb extends Db {
  override collection<T extends Document = Document>(name: string, options: CollectionOptions = {}): Collection<T> {
    return super.collection<T>(name, { ...LIBRARY_BSON_OPTIONS, ...options });
  }
}

const databases = new WeakMap<Db, Db>();
const collections = new WeakMap<Collection<Document>, Collection<Document>>();

/** The same database with the library's BSON options, the app's read and write concerns and read preference. */
export function libraryDatabase(db: Db): Db {
  if (db instanceof LibraryDb) return db;
  let own = databases.get(db);
  if (own === undefined) {
    own = new LibraryDb(db.client, db.databaseName, { ...LIBRARY_BSON_OPTIONS, ...ownConcerns(db) });
    databases.set(db, own);
  }
  return own;
}

/**
 * The same collection (namespace, read and write concerns, read preference) with the library's
 * BSON options: what the library's own reads and writes on an app's collection run on.
 */
export function libraryCollection<T extends Document>(collection: Collection<T>, db: Db): Collection<Document> {
  const app = collection as unknown as Collection<Document>;
  if (db instanceof LibraryDb) return app;
  let own = collections.get(app);
  if (own === undefined) {
    own = libraryDatabase(db).collection(app.collectionName, ownConcerns(app));
    collections.set(app, own);
  }
  return own;
}

/** The concerns and read preference the app set, carried over to the library's view. */
function ownConcerns(holder: Db | Collection<Document>): { readConcern?: ReadConcern; writeConcern?: WriteConcern; readPreference?: ReadPreference } {
  const options: { readConcern?: ReadConcern; writeConcern?: WriteConcern; readPreference?: ReadPreference } = {};
  if (holder.readConcern !== undefined) options.readConcern = holder.readConcern;
  if (holder.writeConcern !== undefined) options.writeConcern = holder.writeConcern;
  if (holder.readPreference !== undefined) options.readPreference = holder.readPreference;
  return options;
}
