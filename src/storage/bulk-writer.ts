import { BSON, type AnyBulkWriteOperation, type ClientSession, type Collection, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { isTransientError, isTransientMessage, limited, TimeBudgetSpentError, type OperationLimit, type ServerCapabilities } from '../server/index.js';
import { casFilter, type DocumentMatch, type StoredWrite } from './compare-and-swap.js';

/** A document the server refused to store (a unique index, a validator, a size limit). */
export interface WriteFailure {
  readonly write: StoredWrite;
  readonly code: number | undefined;
  readonly message: string;
  /** Set when the replacement is over the server's limit for one document: it was never sent. */
  readonly tooLarge?: { readonly size: number; readonly maxSize: number };
  /** Set when the document has top-level field names the compare-and-swap cannot carry: it was never sent. */
  readonly fieldNames?: { readonly fields: readonly string[]; readonly reason: string };
}

/** What a bulk of compare-and-swap writes did: how many matched (were stored), and which the server refused. */
export interface BulkOutcome {
  /** Writes whose compare-and-swap matched. The others lost a race (or failed, see `failures`). */
  readonly matched: number;
  readonly failures: readonly WriteFailure[];
}

/** Runs one server call; the sweeper passes its retries and timing here. Default: call it once. */
export type ServerCall = <T>(operation: () => Promise<T>) => Promise<T>;

const once: ServerCall = (operation) => operation();

/** Options of a `BulkWriter`. */
export interface BulkWriterOptions {
  /** The server's capabilities (its bulk limit), asked on the first write. */
  readonly capabilities: () => Promise<ServerCapabilities>;
  readonly log?: Logger | undefined;
  /** Wraps every server call (retries, timing). */
  readonly call?: ServerCall;
  /** Bounds every call (the sweep's time budget). */
  readonly limit?: OperationLimit | undefined;
}

/**
 * The one writer of stored documents: unordered bulks of compare-and-swap replaces, split to the
 * server's bulk limit. A document the server refuses is a failure of that document, not of the
 * bulk; transient errors are thrown for the caller's retries. Used by write-back on read,
 * update-time migration and the sweeper alike.
 */
export class BulkWriter {
  readonly #collection: Collection<Document>;
  readonly #capabilities: () => Promise<ServerCapabilities>;
  readonly #log: Logger | undefined;
  readonly #call: ServerCall;
  readonly #limit: OperationLimit | undefined;

  constructor(collection: Collection<Document>, options: BulkWriterOptions) {
    this.#collection = collection;
    this.#capabilities = options.capabilities;
    this.#log = options.log;
    this.#call = options.call ?? once;
    this.#limit = options.limit;
  }

  /** Writes every compare-and-swap replace, in as many bulks as the server's limit asks. */
  async write(writes: readonly StoredWrite[], session?: ClientSession): Promise<BulkOutcome> {
    if (writes.length === 0) return { matched: 0, failures: [] };
    const capabilities = await this.#capabilities();
    // A replacement over the server's document limit is a failure of its own, never sent: some
    // servers close the connection on it (every write of the bulk then fails with it).
    const { maxBulkStatements: size, documentMatch } = capabilities;
    // So is a document whose field names the filter or the replacement cannot carry: sent, it
    // would never match (a silent skip, every time) or fail with the server's raw error.
    const tooLarge = oversized(writes, capabilities.maxBsonObjectSize);
    const refused = [...tooLarge, ...unsupportedNames(writes.filter((write) => !tooLarge.some((failure) => failure.write === write)), documentMatch)];
    if (refused.length > 0) {
      const kept = new Set(refused.map((failure) => failure.write));
      const rest = await this.write(writes.filter((write) => !kept.has(write)), session);
      return { matched: rest.matched, failures: [...refused, ...rest.failures] };
    }
    if (writes.length <= size) return this.#writeBulk(writes, session, documentMatch);
    let matched = 0;
    const failures: WriteFailure[] = [];
    for (let start = 0; start < writes.length; start += size) {
      const part = await this.#writeBulk(writes.slice(start, start + size), session, documentMatch);
      matched += part.matched;
      failures.push(...part.failures);
    }
    return { matched, failures };
  }

  async #writeBulk(writes: readonly StoredWrite[], session: ClientSession | undefined, match: DocumentMatch): Promise<BulkOutcome> {
    const operations: AnyBulkWriteOperation<Document>[] = writes.map((write) => ({ replaceOne: { filter: casFilter(write.snapshot, match), replacement: write.replacement } }));
    const options = session ? { ordered: false, session } : { ordered: false };
    try {
      const result = await this.#call(() => this.#collection.bulkWrite(operations, limited(options, this.#limit)));
      return { matched: result.matchedCount, failures: [] };
    } catch (error) {
      const writeErrors = bulkWriteErrors(error);
      if (writeErrors === undefined) {
        if (notAboutDocuments(error)) throw error;
        return this.#writeOneByOne(writes, session, error, match);
      }
      // A write the server asks to try again (a deadlock with another writer) is not the
      // document's failure: it stays as it is, like a lost race, for a later pass.
      const failures = writeErrors.flatMap((entry) => {
        const write = writes[entry.index];
        return write === undefined || isTransientMessage(entry.errmsg) ? [] : [{ write, code: entry.code, message: entry.errmsg ?? '' }];
      });
      const matched = (error as { result?: { matchedCount?: number } }).result?.matchedCount ?? 0;
      return { matched, failures };
    }
  }

  /**
   * The bulk failed as a whole without saying which document the server refused (FerretDB does
   * this for a unique index): write one document at a time to find it. When every document
   * fails, the error is not about documents: it is thrown.
   */
  async #writeOneByOne(writes: readonly StoredWrite[], session: ClientSession | undefined, bulkError: unknown, match: DocumentMatch): Promise<BulkOutcome> {
    this.#log?.warn({ error: describeError(bulkError) }, 'the bulk write failed as a whole: writing one document at a time');
    let matched = 0;
    const failures: WriteFailure[] = [];
    for (const write of writes) {
      try {
        matched += (await this.#call(() => this.#collection.replaceOne(casFilter(write.snapshot, match), write.replacement, limited(session ? { session } : {}, this.#limit)))).matchedCount;
      } catch (error) {
        if (notAboutDocuments(error)) throw error;
        const { code, message } = error as { code?: number; message?: string };
        failures.push({ write, code, message: message ?? String(error) });
      }
    }
    if (writes.length > 1 && failures.length === writes.length) throw bulkError;
    return { matched, failures };
  }
}

interface BulkWriteErrorEntry {
  readonly index: number;
  readonly code?: number;
  readonly errmsg?: string;
}

/** The per-document errors of a `MongoBulkWriteError` (one or many), or `undefined` for any other error. */
function bulkWriteErrors(error: unknown): BulkWriteErrorEntry[] | undefined {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (writeErrors === undefined || writeErrors === null) return undefined;
  const list = (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as BulkWriteErrorEntry[];
  return list.length > 0 && list.every((entry) => typeof entry.index === 'number') ? list : undefined;
}

/** An error of the connection or of the time budget: no document is to blame, the caller decides. */
function notAboutDocuments(error: unknown): boolean {
  return isTransientError(error) || error instanceof TimeBudgetSpentError;
}

/** The writes whose replacement is over `maxSize` bytes of BSON (a document the serializer refuses counts as over). */
function oversized(writes: readonly StoredWrite[], maxSize: number): WriteFailure[] {
  const failures: WriteFailure[] = [];
  for (const write of writes) {
    let size: number;
    try {
      size = BSON.calculateObjectSize(write.replacement);
    } catch {
      size = Infinity;
    }
    if (size > maxSize) failures.push({ write, code: BSON_OBJECT_TOO_LARGE, message: `the document is ${size} bytes of BSON, over the server's ${maxSize}-byte limit`, tooLarge: { size, maxSize } });
  }
  return failures;
}

/**
 * The writes whose document has top-level field names the compare-and-swap cannot carry: a name
 * starting with `$` (a replacement may not hold one, and a field-by-field filter would read it as
 * an operator), and, where the filter compares field by field (`fields`, mongo-java-server), a
 * name containing `.` (read as a path, it never matches).
 */
function unsupportedNames(writes: readonly StoredWrite[], match: DocumentMatch): WriteFailure[] {
  const failures: WriteFailure[] = [];
  for (const write of writes) {
    const names = new Set([...Object.keys(write.snapshot.stored), ...Object.keys(write.replacement)]);
    const dollar = [...names].filter((name) => name.startsWith('$'));
    const dotted = match === 'fields' ? [...names].filter((name) => name.includes('.') && !name.startsWith('$')) : [];
    if (dollar.length === 0 && dotted.length === 0) continue;
    const reasons = [
      ...(dollar.length > 0 ? ['start with "$" (a replacement cannot store such a name)'] : []),
      ...(dotted.length > 0 ? ['contain "." (this server reads such a name in a filter as a path, so the compare-and-swap never matches)'] : []),
    ];
    const fields = [...dollar, ...dotted];
    failures.push({ write, code: undefined, message: `field names ${fields.join(', ')} ${reasons.join('; ')}`, fieldNames: { fields, reason: reasons.join(' or ') } });
  }
  return failures;
}

/** MongoDB's code for a document over the size limit (BSONObjectTooLarge). */
const BSON_OBJECT_TOO_LARGE = 10334;
