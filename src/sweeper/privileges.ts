import type { Collection, Document } from 'mongodb';
import { asPermissionError } from '../server/index.js';

/**
 * What each operation needs of the server, in words, for the `PermissionDeniedError` it throws when
 * the user lacks a privilege (the README's "Least privilege" table says the same).
 */
export const PRIVILEGES = {
  read: (db: string, ...collections: string[]) => `read (find) on ${list(db, collections)}`,
  sweep: (db: string, collection: string, molt: string[]) =>
    `read/write (find, update) and createIndex on ${list(db, [collection])}, and read/write (find, insert, update, remove) on ${list(db, molt)}`,
  restore: (db: string, collection: string, archive: string) => `read/write (find, update) on ${list(db, [collection])} and read/write (find, remove) on ${list(db, [archive])}`,
  prune: (db: string, archive: string) => `read/write (find, remove) on ${list(db, [archive])}`,
} as const;

function list(db: string, collections: readonly string[]): string {
  return collections.map((name) => `"${db}.${name}"`).join(', ');
}

/** Runs `work`; a permission error it throws becomes a `PermissionDeniedError` that says what `required` is. */
export async function withPrivileges<T>(collection: Collection<Document>, required: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asPermissionError(error, { namespace: collection.namespace, required });
  }
}
