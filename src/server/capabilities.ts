import type { Db, MongoClient } from 'mongodb';
import { limited, type OperationLimit } from './operation-limit.js';

/** Which implementation of the MongoDB wire protocol answers. */
export type ServerKind = 'mongod' | 'ferretdb' | 'mongo-java-server';

/**
 * What differs between servers, detected once per connection (per `MongoClient`) and handed to
 * the mechanisms that care, so that no mechanism asks "is this FerretDB?" itself.
 */
export interface ServerCapabilities {
  readonly kind: ServerKind;
  /** The version the server reports (FerretDB: its own version). */
  readonly version: string;
  /** Single-document updates evaluate the filter and write atomically: compare-and-swap holds. */
  readonly atomicUpdates: boolean;
  /** Updates may carry an aggregation pipeline (server-side migrations need it). */
  readonly updatePipelines: boolean;
  /** The most statements one bulk write may carry (`maxWriteBatchSize`, lower where a server hangs above it). */
  readonly maxBulkStatements: number;
  /** Sessions can be started and passed to operations. */
  readonly sessions: boolean;
  /** Multi-document transactions (a replica set or sharded cluster with sessions). */
  readonly transactions: boolean;
  /** The `$bucketAuto` stage (split points for several sweeper workers). */
  readonly bucketAuto: boolean;
  /**
   * Whether the sweeper's `{ <vf>: 1, _id: 1 }` index is created unique. It holds `_id`, so it can
   * never be violated; unique only where the server needs it: mongo-java-server looks documents
   * up only through unique indexes, while on FerretDB 2 (DocumentDB) a unique compound index makes
   * every update several times slower, and MongoDB serves the sweep from a plain one.
   */
  readonly uniqueStaleIndex: boolean;
  /** The largest document the server stores, in bytes of BSON (hello's `maxBsonObjectSize`; 16 MiB when not said). */
  readonly maxBsonObjectSize: number;
  /** The server's clock minus this process's, in ms, measured at detection (0 when unknown). */
  readonly clockOffsetMs: number;
  /**
   * How a compare-and-swap asks "is the document still exactly as read": `expr`, one `$expr`
   * comparing `$$ROOT` with the document as read (MongoDB, FerretDB 2); `fields`, `$eq` on every
   * top-level field plus the number of fields (mongo-java-server: its `$expr` finds a document
   * holding an empty array unequal to itself, and cannot compare regular expressions).
   */
  readonly documentMatch: 'expr' | 'fields';
  /**
   * How an update sent to many documents learns exactly which it reached. `upsert-conflict`: a
   * bulk write of single-document updates, each an upsert whose `$setOnInsert` gives `_id`
   * another value, so that one that matches nothing fails (code 66, immutable `_id`) instead of
   * inserting, and names itself by its index (MongoDB, FerretDB 2). `one-by-one`: one update
   * command per document (mongo-java-server inserts such an upsert).
   */
  readonly updateReach: 'upsert-conflict' | 'one-by-one';
}

/** Above this, FerretDB 1.x never answers an update command (the connection hangs). */
export const FERRETDB_1_MAX_BULK = 64;
const DEFAULT_MAX_WRITE_BATCH = 100_000;
const DEFAULT_MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

const detected = new WeakMap<MongoClient | Db, Promise<ServerCapabilities>>();

/** The capabilities of the server behind `db`, detected on first use per client and cached. */
export function serverCapabilities(db: Db, limit?: OperationLimit): Promise<ServerCapabilities> {
  const key = (db as { client?: MongoClient }).client ?? db;
  let pending = detected.get(key);
  if (pending === undefined) {
    pending = detect(db, limit);
    detected.set(key, pending);
    // A failed detection (server down) is not remembered: the next caller asks again.
    pending.catch(() => detected.delete(key));
  }
  return pending;
}

async function detect(db: Db, limit: OperationLimit | undefined): Promise<ServerCapabilities> {
  const admin = db.admin();
  const before = Date.now();
  const hello = await admin.command({ isMaster: 1 }, limited({}, limit));
  const after = Date.now();
  const buildInfo = await admin.command({ buildInfo: 1 }, limited({}, limit)).catch((error: unknown) => {
    // A server without buildInfo is told apart by that; a cut-off call is not an answer.
    if (limit?.signal?.aborted) throw error;
    return {} as Record<string, unknown>;
  });
  return capabilitiesFrom(buildInfo, hello, (before + after) / 2);
}

/** Reads the capabilities off `buildInfo` and `hello` (pure, for tests). */
export function capabilitiesFrom(buildInfo: Record<string, unknown>, hello: Record<string, unknown>, localTime: number): ServerCapabilities {
  const ferret = typeof buildInfo.ferretdbVersion === 'string' ? buildInfo.ferretdbVersion : typeof buildInfo.ferretdb === 'object' ? String((buildInfo.ferretdb as { version?: unknown } | null)?.version ?? '') : undefined;
  const kind: ServerKind = ferret !== undefined ? 'ferretdb' : 'gitVersion' in buildInfo ? 'mongod' : 'mongo-java-server';
  const ferretMajor = ferret === undefined ? undefined : Number(/(\d+)\./.exec(ferret)?.[1] ?? NaN);
  const ferretOne = kind === 'ferretdb' && ferretMajor === 1;
  const reportedBatch = typeof hello.maxWriteBatchSize === 'number' && hello.maxWriteBatchSize > 0 ? hello.maxWriteBatchSize : DEFAULT_MAX_WRITE_BATCH;
  const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number' && kind !== 'ferretdb';
  const serverTime = hello.localTime instanceof Date ? hello.localTime.getTime() : undefined;
  return Object.freeze({
    kind,
    version: ferret ?? String(buildInfo.version ?? 'unknown'),
    atomicUpdates: !ferretOne,
    updatePipelines: kind === 'mongod' || (kind === 'ferretdb' && !ferretOne),
    maxBulkStatements: ferretOne ? Math.min(FERRETDB_1_MAX_BULK, reportedBatch) : reportedBatch,
    sessions,
    transactions: sessions && (typeof hello.setName === 'string' || hello.msg === 'isdbgrid'),
    bucketAuto: kind === 'mongod' || (kind === 'ferretdb' && !ferretOne),
    uniqueStaleIndex: kind === 'mongo-java-server',
    maxBsonObjectSize: typeof hello.maxBsonObjectSize === 'number' && hello.maxBsonObjectSize > 0 ? hello.maxBsonObjectSize : DEFAULT_MAX_BSON_OBJECT_SIZE,
    clockOffsetMs: serverTime === undefined ? 0 : Math.round(serverTime - localTime),
    documentMatch: kind === 'mongod' || (kind === 'ferretdb' && !ferretOne) ? 'expr' : 'fields',
    updateReach: kind === 'mongod' || (kind === 'ferretdb' && !ferretOne) ? 'upsert-conflict' : 'one-by-one',
  });
}
