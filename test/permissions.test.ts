/**
 * Least privilege: every library entry point the CLI commands run turns the server's "unauthorized"
 * into a `PermissionDeniedError` that names the action, the collection and what the command needs.
 * Against a server that authenticates, the real error of a connection without credentials; a
 * read-only user where the server enforces roles (FerretDB 2.7 on DocumentDB 0.106 does not: it
 * accepts the login, then runs every command with its own PostgreSQL role).
 */
import { Int32, MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMigration, listFailures, migrationStatus, PermissionDeniedError, pruneArchive, restore, sweep, SweepStatus, verifyVersion } from 'mongo-molt';
import { asPermissionError, isPermissionError, isTransientError } from '../src/server/index.js';
import { STORED_BSON_OPTIONS } from '../src/storage/index.js';
import { User } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';

const { db, uri, features } = useTestDatabase('permissions');
const USER_INFO = /^(mongodb(?:\+srv)?:\/\/)[^/@]*@/;
const authenticates = USER_INFO.test(uri);
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

function skipping(name: string, reason: string): void {
  process.stderr.write(`[skipped] "${name}": ${reason}\n`);
}

describe('a connection that is not logged in, on a server that authenticates', () => {
  const name = 'every command fails with PermissionDeniedError naming the action, the collection and what it needs';
  if (!authenticates) skipping(name, `MONGODB_URI carries no credentials: ${features.kind} here does not authenticate (run it against npm run db:start -- documentdb-auth)`);
  let anonymous: MongoClient;
  beforeAll(async () => {
    if (!authenticates) return;
    await db.collection('users').insertMany([{ _id: 'u1', full_name: 'Ada Lovelace', schemaVersion: 1 } as never]);
    anonymous = new MongoClient(uri.replace(USER_INFO, '$1'), { serverSelectionTimeoutMS: 10_000 });
    await anonymous.connect();
  });
  afterAll(async () => {
    await anonymous?.close();
  });

  it.skipIf(!authenticates)(name, async () => {
    const users = anonymous.db(db.databaseName).collection('users');
    const namespace = `${db.databaseName}.users`;
    // `action`: the command the server refused; a string, or a pattern where the function sends
    // several reads at once (status and check read the control and index statistics too, verify lists the collection).
    const refused = async (work: Promise<unknown>, action: string | RegExp, required: RegExp) => {
      const error = await work.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      const denied = error as PermissionDeniedError;
      expect(denied).toMatchObject({ name: 'PermissionDeniedError', action: typeof action === 'string' ? action : expect.stringMatching(action), code: 13, unauthenticated: true });
      expect(denied.namespace).toContain(db.databaseName);
      expect(denied.required).toMatch(required);
      expect(denied.message).toContain(denied.action);
      expect(denied.message).toContain('not logged in');
      expect(isPermissionError(denied.cause)).toBe(true); // the server's own error stays reachable
      return denied;
    };
    await refused(migrationStatus(users, User), /^(find|aggregate)$/, /read \(find\) on ".*\.users", ".*\.molt_state", ".*\.molt_failures"/);
    await refused(checkMigration(users, User), /^(find|aggregate)$/, /read \(find\) on ".*\.users"/);
    const verify = await refused(verifyVersion(users, User, 1), /^(find|aggregate|listCollections)$/, /read \(find\) on ".*\.users"/);
    expect(verify.namespace).toBe(namespace);
    await refused(listFailures(users), 'find', /read \(find\) on ".*\.molt_failures"/);
    await refused(restore(users), 'find', /read\/write \(find, remove\) on ".*\.molt_archive"/);
    await refused(pruneArchive(anonymous.db(db.databaseName)), 'delete', /read\/write \(find, remove\) on ".*\.molt_archive"/);

    // sweep never rejects: its report carries the typed error's name and message.
    const report = await sweep(users, User, { ...fast, maxRetries: 0 });
    expect(report.status).toBe(SweepStatus.ABORTED);
    expect(report.error?.name).toBe('PermissionDeniedError');
    // FerretDB's message names the command only: the error says which collection the sweep worked on, and all it needs.
    expect(report.error?.message).toMatch(/^The server refused \w+ (on|while working on) ".*" \(code 13, Unauthorized\): the connection is not logged in/);
    expect(report.error?.message).toMatch(/read\/write \(find, update\) and createIndex on ".*\.users", and read\/write \(find, insert, update, remove\) on ".*\.molt_state", ".*\.molt_failures"/);
    expect(report.error?.message).toContain('createIndex');
  });
});

describe('a user with the read role only', () => {
  it('reads (status, check, verify) but a sweep stops with PermissionDeniedError, where the server enforces roles', async (context) => {
    if (!authenticates) {
      skipping(context.task.name, `MONGODB_URI carries no credentials: ${features.kind} here does not authenticate`);
      return context.skip();
    }
    const admin = db.client.db('admin');
    const user = `molt_reader_${db.databaseName.slice(-8)}`;
    // FerretDB / DocumentDB accept only the any-database roles; MongoDB takes a role on one database.
    const roles = features.kind === 'ferretdb' ? [{ role: 'readAnyDatabase', db: 'admin' }] : [{ role: 'read', db: db.databaseName }];
    await admin.command({ createUser: user, pwd: 'reader-password-1', roles });
    const reader = new MongoClient(uri.replace(USER_INFO, `$1${user}:reader-password-1@`), { serverSelectionTimeoutMS: 10_000 });
    try {
      await db.collection('readonly').insertOne({ _id: 'r1', full_name: 'Grace Hopper', schemaVersion: 1 } as never);
      const users = reader.db(db.databaseName).collection('readonly');
      const probe = await users.insertOne({ _id: 'probe' } as never).then(() => true, (error: unknown) => (isPermissionError(error) ? false : Promise.reject(error)));
      if (probe) {
        skipping(context.task.name, `${features.kind} ${features.version} accepted a write from a user created with roles ${JSON.stringify(roles)}: it authenticates but does not enforce roles`);
        return context.skip();
      }
      expect((await migrationStatus(users, User)).total).toBe(1);
      expect((await verifyVersion(users, User, 1)).ok).toBe(true);
      expect((await checkMigration(users, User)).failed).toBe(0);
      const report = await sweep(users, User, { ...fast, maxRetries: 0 });
      expect(report.status).toBe(SweepStatus.ABORTED);
      expect(report.error?.name).toBe('PermissionDeniedError');
      expect(report.error?.message).toMatch(/user lacks the privilege/);
    } finally {
      await reader.close();
      await admin.command({ dropUser: user }).catch(() => undefined);
    }
  });
});

describe('asPermissionError', () => {
  it('reads the action and namespace off the messages of MongoDB (13) and Atlas (8000), and leaves other errors alone', () => {
    // The shapes of the servers' errors as their drivers deliver them (not reachable from this machine's servers).
    const mongod = Object.assign(new Error('not authorized on shop to execute command { insert: "orders", ordered: true, $db: "shop" }'), { code: 13, codeName: 'Unauthorized' });
    expect(asPermissionError(mongod, { required: 'read/write on "shop.orders"' })).toMatchObject({ name: 'PermissionDeniedError', action: 'insert', namespace: 'shop.orders', code: 13, unauthenticated: false });
    const atlas = Object.assign(new Error('user is not allowed to do action [createIndex] on [shop.orders]'), { code: 8000, codeName: 'AtlasError' });
    const mapped = asPermissionError(atlas) as PermissionDeniedError;
    expect(mapped).toMatchObject({ action: 'createIndex', namespace: 'shop.orders', code: 8000 });
    expect(mapped.message).not.toContain('$db'); // the server's message (which may hold filter values) is not copied
    const other = Object.assign(new Error('E11000 duplicate key'), { code: 11000 });
    expect(asPermissionError(other)).toBe(other);
    expect(asPermissionError(Object.assign(new Error('bad'), { code: 8000 }))).not.toBeInstanceOf(PermissionDeniedError);
    // Wrapped by the library: found through `cause`.
    expect(asPermissionError(new Error('wrapped', { cause: mongod }))).toBeInstanceOf(PermissionDeniedError);
  });
});

describe('error codes of reads as stored', () => {
  it('are Int32 on the wire (promoteValues: false), and transient and permission codes are still recognised', async () => {
    // The library reads documents as stored; the driver then hands the error's fields unpromoted too.
    const error = await db.collection('users').find({ $bogus: 1 } as never, { ...STORED_BSON_OPTIONS }).toArray().then(() => undefined, (caught: unknown) => caught as { code?: unknown });
    if (features.kind === 'ferretdb') expect(error?.code).toBeInstanceOf(Int32); // seen there; other servers may answer differently
    else process.stderr.write(`[note] ${features.kind}: an unknown query operator gave ${error ? `code ${String(error.code)}` : 'no error'} with promoteValues: false\n`);
    // Shaped as the driver builds them from such a reply: ShutdownInProgress (91) and Unauthorized (13), as Int32.
    expect(isTransientError(new MongoServerError({ message: 'shutting down', code: new Int32(91) }))).toBe(true);
    expect(isPermissionError(new MongoServerError({ message: 'Command find requires authentication', code: new Int32(13) }))).toBe(true);
    expect(isTransientError(new MongoServerError({ message: 'bad value', code: new Int32(2) }))).toBe(false);
  });
});
