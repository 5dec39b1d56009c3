/**
 * The DocumentDB-backed test server: PostgreSQL 15 with the DocumentDB extension, and FerretDB 2.7.0
 * speaking the MongoDB wire protocol in front of it. `servers/documentdb/build.sh` provisions it
 * (Debian packages, the extensions from archived sources, FerretDB from the Go module proxy); this
 * file runs it: a PostgreSQL cluster in a temporary data directory on a free port (as the
 * `postgres` user when run as root: PostgreSQL refuses root), the extension created, and FerretDB
 * on a free local port. FerretDB logs to `.molt/logs/`; PostgreSQL to its data directory (copied to
 * `.molt/logs/` when the start fails).
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { appendFileSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** What `startDocumentDb` leaves running, for `stopDocumentDb`. */
export interface DocumentDbProcesses {
  readonly uri: string;
  /** FerretDB's pid, then the PostgreSQL postmaster's. */
  readonly pids: readonly number[];
  readonly dataDir: string;
}

/** Runs `servers/documentdb/build.sh` (each step skipped when already done). */
export function provisionDocumentDb(serverDir: string, log: (line: string) => void): void {
  log('provisioning PostgreSQL + DocumentDB + FerretDB 2 (servers/documentdb/build.sh; a few minutes the first time)...');
  const result = spawnSync('bash', [join(serverDir, 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`servers/documentdb/build.sh failed (exit ${String(result.status)})`);
}

/** Whether this machine can build the server: Debian's package tools, Go, and root (or sudo). */
export function documentDbAvailable(serverDir: string): boolean {
  if (process.platform !== 'linux' || !existsSync(join(serverDir, 'build.sh'))) return false;
  const has = (file: string, args: string[]) => spawnSync(file, args, { stdio: 'ignore' }).status === 0;
  const root = process.getuid?.() === 0 || has('sudo', ['-n', 'true']);
  return has('go', ['version']) && (existsSync(join(PG_BIN, 'postgres')) || (root && has('apt-get', ['--version'])));
}

/**
 * A server that authenticates (SCRAM-SHA-256): the `postgres` role gets `adminPassword` (FerretDB 2
 * logs clients in against PostgreSQL's roles), and `user` is created through `createUser` with
 * read/write on every database; the URI carries `user`'s credentials, percent-encoded.
 */
export interface DocumentDbAuth {
  /** Hex digits only: it is written into SQL as it is. */
  readonly adminPassword: string;
  readonly user: string;
  readonly password: string;
}

/** Starts PostgreSQL and FerretDB; resolves with the `mongodb://` URI once FerretDB answers. */
export async function startDocumentDb(serverDir: string, logDir: string, auth?: DocumentDbAuth): Promise<DocumentDbProcesses> {
  mkdirSync(logDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'molt-documentdb-'));
  const pgData = join(dataDir, 'pg');
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL runs as the postgres user, who may not reach the checkout at all (a clone under a
  // private directory, e.g. root's home): its log lives in the data directory, which it owns, and
  // is copied next to FerretDB's (which the parent writes) when the start fails.
  const logName = auth ? 'documentdb-auth' : 'documentdb';
  const pgLog = join(dataDir, 'postgresql.log');
  const pgLogCopy = join(logDir, `${logName}-postgresql.log`);
  const ferretLog = join(logDir, `${logName}-ferretdb.log`);
  try {
    if (asRoot) chownPostgres(dataDir);
    // Run from the data directory: PostgreSQL's tools fail when they cannot change back into the caller's working directory.
    const asPostgres = (file: string, args: string[], options: SpawnSyncOptions = {}) =>
      asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: dataDir, ...options }) : spawnSync(file, args, { cwd: dataDir, ...options });

    mustSucceed('initdb', asPostgres(join(PG_BIN, 'initdb'), ['-D', pgData, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'], { encoding: 'utf8' }));
    const pgPort = await freePort();
    appendFileSync(join(pgData, 'postgresql.conf'), [
      '',
      '# mongo-molt test server (servers/documentdb)',
      "shared_preload_libraries = 'pg_cron,pg_documentdb_core,pg_documentdb'",
      "cron.database_name = 'postgres'",
      `port = ${pgPort}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dataDir}'`,
      ...['enableCompact', 'enableLetAndCollationForQueryMatch', 'enableNowSystemVariable', 'enableSortbyIdPushDownToPrimaryKey',
        'enableSchemaValidation', 'enableBypassDocumentValidation', 'enableUserCrud'].map((name) => `documentdb.${name} = true`),
      'documentdb.maxUserLimit = 100',
      // FerretDB keeps a pool of PostgreSQL connections per client connection it serves: test files
      // running in parallel (and the fault tests' own FerretDB) outgrow the default 100.
      'max_connections = 400',
      // A throwaway test cluster: durability buys nothing here and costs every write an fsync.
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      '',
    ].join('\n'));
    mustSucceed('pg_ctl start', asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', pgData, '-l', pgLog, '-w', '-t', '60', 'start'], { encoding: 'utf8' }));
    mustSucceed('CREATE EXTENSION documentdb', spawnSync(join(PG_BIN, 'psql'),
      ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE;'],
      { encoding: 'utf8' }));
    if (auth) {
      // PostgreSQL still trusts local connections (FerretDB's own); the password is what FerretDB checks a client's SCRAM proof against.
      mustSucceed('ALTER ROLE postgres PASSWORD', spawnSync(join(PG_BIN, 'psql'),
        ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'],
        // On stdin, not the command line (which any process can read); hex, so it needs no quoting.
        { encoding: 'utf8', input: `ALTER ROLE postgres PASSWORD '${auth.adminPassword.replace(/[^0-9a-f]/gi, '')}';\n` }));
    }
    const postmasterPid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);

    const port = await freePort();
    const debugPort = await freePort();
    const logFd = openSync(ferretLog, 'a');
    const ferret = spawn(join(serverDir, 'bin', 'ferretdb'), [
      `--postgresql-url=postgres://postgres@127.0.0.1:${pgPort}/postgres`,
      `--listen-addr=127.0.0.1:${port}`,
      `--debug-addr=127.0.0.1:${debugPort}`,
      `--state-dir=${dataDir}`,
      ...(auth ? [] : ['--no-auth']),
      '--telemetry=disable',
      '--log-level=warn',
    ], { detached: true, stdio: ['ignore', logFd, logFd] });
    ferret.unref();
    await waitForPort(port, 60_000, () => ferret.exitCode !== null);
    const pids = [ferret.pid ?? 0, postmasterPid];
    if (!auth) return { uri: `mongodb://127.0.0.1:${port}/`, pids, dataDir };
    try {
      await createUser(`mongodb://postgres:${encodeURIComponent(auth.adminPassword)}@127.0.0.1:${port}/`, auth.user, auth.password);
    } catch (error) {
      stopDocumentDb({ uri: '', pids, dataDir });
      throw error;
    }
    return { uri: `mongodb://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}/`, pids, dataDir };
  } catch (error) {
    try {
      copyFileSync(pgLog, pgLogCopy);
    } catch {
      // No log written yet.
    }
    stopDocumentDb({ uri: '', pids: [], dataDir });
    throw new Error(`${(error as Error).message}\n(logs: ${pgLogCopy}, ${ferretLog})`);
  }
}

/** Creates the user the tests log in as: read/write on every database (DocumentDB's admin role pair). */
async function createUser(adminUri: string, user: string, password: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(adminUri, { serverSelectionTimeoutMS: 30_000 });
  try {
    await client.db('admin').command({
      createUser: user,
      pwd: password,
      roles: [{ role: 'clusterAdmin', db: 'admin' }, { role: 'readWriteAnyDatabase', db: 'admin' }],
    });
  } catch (error) {
    throw new Error(`createUser ${user} failed: ${(error as Error).message}`);
  } finally {
    await client.close();
  }
}

/** Stops FerretDB and PostgreSQL by pid, waits for them to exit, and removes the data directory. */
export function stopDocumentDb(server: DocumentDbProcesses): void {
  const postmaster = readPostmasterPid(join(server.dataDir, 'pg'));
  const pids = [...new Set([...server.pids, ...(postmaster ? [postmaster] : [])])].filter((pid) => pid > 0);
  // SIGINT is PostgreSQL's "fast shutdown"; FerretDB exits on it too.
  for (const pid of pids) signal(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (pids.some(isAlive) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  rmSync(server.dataDir, { recursive: true, force: true });
}

function readPostmasterPid(pgData: string): number | undefined {
  try {
    return Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

function chownPostgres(path: string): void {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('the postgres user does not exist: is the postgresql-15 package installed? (servers/documentdb/build.sh)');
  chownSync(path, Number(id.stdout.trim()), Number(gid.stdout.trim()));
}

function mustSucceed(what: string, result: ReturnType<typeof spawnSync>): void {
  if (result.status === 0) return;
  const output = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.trim().slice(-1500);
  throw new Error(`${what} failed (exit ${String(result.status)}): ${output}`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Whether a process is still running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error('FerretDB exited before it listened');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`FerretDB did not listen on port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
