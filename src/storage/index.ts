export { BulkWriter, type BulkOutcome, type BulkWriterOptions, type ServerCall, type WriteFailure } from './bulk-writer.js';
export {
  casFilter,
  casFilterFor,
  CompareOn,
  readState,
  stampVersion,
  storedVersion,
  storedWrite,
  type ReadState,
  type StoredWrite,
} from './compare-and-swap.js';
export { Archive, DEFAULT_ARCHIVE_COLLECTION, DEFAULT_ARCHIVE_TTL_MS, fingerprint, type ArchiveEntry } from './archive.js';
