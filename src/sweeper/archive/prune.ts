import type { Collection, Db, Document } from 'mongodb';
import { libraryDatabase } from '../../server/index.js';
import { DEFAULT_ARCHIVE_COLLECTION, type ArchiveEntry } from '../../storage/index.js';
import { PRIVILEGES, withPrivileges } from '../privileges.js';

/**
 * Deletes expired originals from the archive (`molt prune`), for servers without TTL indexes (a TTL
 * index on `expiresAt` does it on its own elsewhere). Returns how many were deleted.
 * @public
 */
export async function pruneArchive(db: Db, options: { readonly archiveCollection?: string; readonly now?: Date } = {}): Promise<number> {
  const archive = libraryDatabase(db).collection<ArchiveEntry>(options.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION);
  return withPrivileges(archive as unknown as Collection<Document>, PRIVILEGES.prune(db.databaseName, archive.collectionName),
    async () => (await archive.deleteMany({ expiresAt: { $lt: options.now ?? new Date() } })).deletedCount);
}
