export { BulkWriter, type BulkOutcome, type BulkWriterOptions, type ServerCall, type WriteFailure } from './bulk-writer.js';
export {
  casFilter,
  checkCompareOn,
  CompareOn,
  readState,
  stampVersion,
  storedVersion,
  storedWrite,
  type DocumentMatch,
  type ReadState,
  type StoredWrite,
} from './compare-and-swap.js';
export { Archive, DEFAULT_ARCHIVE_COLLECTION, DEFAULT_ARCHIVE_TTL_MS, fingerprint, type ArchiveEntry } from './archive.js';
export { idKey, promoted, snapshotOfBytes, snapshotOfStored, storedForm, valueOptions, workingCopy, STORED_BSON_OPTIONS, type StoredSnapshot } from './snapshot.js';
