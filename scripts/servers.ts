/**
 * The MongoDB-wire servers the project can provision and start on a machine without a mongod
 * download: FerretDB 2 on PostgreSQL with DocumentDB (the reference here: a real query engine,
 * atomic updates, update pipelines), mongo-java-server (in memory, quick) built with Maven, and
 * FerretDB 1.24 on SQLite (superseded; only on request). Used by `npm run db:start`, the test
 * setup, the benchmarks and the demo.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentDbAvailable, isAlive, provisionDocumentDb, startDocumentDb, stopDocumentDb } from './documentdb.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.molt');
const STATE_FILE = join(STATE_DIR, 'servers.json');

export type ServerName = 'documentdb' | 'documentdb-auth' | 'java' | 'ferretdb';

/** What `npm run db:start` starts when no server is named: the two servers CI runs the suite on. */
export const DEFAULT_SERVERS: readonly ServerName[] = ['documentdb', 'java'];

export interface RunningServer {
  readonly name: ServerName;
  readonly uri: string;
  /** Every process of the server (FerretDB and PostgreSQL for `documentdb`). */
  readonly pids: readonly number[];
  readonly dataDir?: string;
}

interface ServerRecipe {
  readonly describe: string;
  /** Whether this machine has the tool the server is built with. */
  available(): boolean;
  /** Builds the server if it is not built yet (idempotent). */
  provision(log: (line: string) => void): void;
  /** Starts the built server; resolves once it accepts connections. */
  start(options: { detached: boolean }): Promise<Omit<RunningServer, 'name'>>;
  /** Stops every process of the server and removes its data directory. */
  stop(server: RunningServer): void;
}

const JAVA_DIR = join(ROOT, 'servers', 'java');
const FERRET_DIR = join(ROOT, 'servers', 'ferretdb');
const DOCUMENTDB_DIR = join(ROOT, 'servers', 'documentdb');

const RECIPES: Record<ServerName, ServerRecipe> = {
  documentdb: {
    describe: 'FerretDB 2.7.0 on PostgreSQL 15 with DocumentDB 0.106 (atomic updates, update pipelines, real query planning; no transactions)',
    available: () => documentDbAvailable(DOCUMENTDB_DIR),
    provision: (log) => provisionDocumentDb(DOCUMENTDB_DIR, log),
    start: async () => startDocumentDb(DOCUMENTDB_DIR, join(STATE_DIR, 'logs')),
    stop: (server) => stopDocumentDb({ uri: server.uri, pids: server.pids, dataDir: server.dataDir ?? '' }),
  },
  'documentdb-auth': {
    describe: 'FerretDB 2.7.0 on PostgreSQL 15 with DocumentDB 0.106, authenticating (SCRAM-SHA-256; user "molt_ci", read/write on every database, a generated password with @ : / and non-ASCII characters)',
    available: () => documentDbAvailable(DOCUMENTDB_DIR),
    provision: (log) => provisionDocumentDb(DOCUMENTDB_DIR, log),
    start: async () => startDocumentDb(DOCUMENTDB_DIR, join(STATE_DIR, 'logs'), {
      adminPassword: randomBytes(16).toString('hex'),
      // Not a word molt prints: the CLI's redaction blanks every occurrence of the URI's user name.
      user: 'molt_ci',
      // Characters a connection string must percent-encode, and some beyond ASCII: every test logs in with it.
      password: `p@ss:w/rd%ü-${randomBytes(8).toString('hex')}`,
    }),
    stop: (server) => stopDocumentDb({ uri: server.uri, pids: server.pids, dataDir: server.dataDir ?? '' }),
  },
  java: {
    describe: 'mongo-java-server 1.47.0 (in memory; atomic single-document updates)',
    available: () => hasCommand('java', ['-version']) && hasCommand('mvn', ['-v']),
    provision(log) {
      const marker = join(JAVA_DIR, 'target', 'classes', 'dev', 'mongomolt', 'testserver', 'Launcher.class');
      const source = join(JAVA_DIR, 'src', 'main', 'java', 'dev', 'mongomolt', 'testserver', 'Launcher.java');
      if (existsSync(marker) && existsSync(join(JAVA_DIR, 'target', 'lib')) && statSync(marker).mtimeMs >= statSync(source).mtimeMs) return;
      log('building mongo-java-server launcher with Maven (first run only)...');
      run('mvn', ['-q', '-B', 'package', '-DskipTests'], JAVA_DIR);
    },
    start: (options) => startProcess('java', { file: 'java', args: ['-Xss4m', '-cp', `target/classes:target/lib/*`, 'dev.mongomolt.testserver.Launcher', '0'], cwd: JAVA_DIR }, options),
    stop: stopProcesses,
  },
  ferretdb: {
    describe: 'FerretDB 1.24.2 on SQLite (updates are not atomic: race tests skip there)',
    available: () => existsSync(join(FERRET_DIR, 'build.sh')) && hasCommand('go', ['version']),
    provision(log) {
      if (existsSync(join(FERRET_DIR, 'bin', 'ferretdb-molt'))) return;
      log('building FerretDB with Go (first run only, a few minutes)...');
      run('bash', ['build.sh'], FERRET_DIR);
    },
    start(options) {
      const dataDir = mkdtempSync(join(tmpdir(), 'molt-ferretdb-'));
      return startProcess('ferretdb', { file: join(FERRET_DIR, 'bin', 'ferretdb-molt'), args: ['-port', '0', '-dir', dataDir, '-log-level', 'error'], cwd: FERRET_DIR }, options, dataDir);
    },
    stop: stopProcesses,
  },
};

export function describeServer(name: ServerName): string {
  return RECIPES[name].describe;
}

export function serverAvailable(name: ServerName): boolean {
  return RECIPES[name].available();
}

/** Builds (first time) and starts a server in the background; resolves once it accepts connections. */
export async function startServer(name: ServerName, options: { detached?: boolean; log?: (line: string) => void } = {}): Promise<RunningServer> {
  const recipe = RECIPES[name];
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  recipe.provision(log);
  return { name, ...(await recipe.start({ detached: options.detached ?? false })) };
}

/** Stops a server started by `startServer` (every process of it) and removes its data directory. */
export function stopServer(server: RunningServer): void {
  RECIPES[server.name].stop(server);
}

/** Starts a server that prints `MONGODB_URI=…` on stdout once it listens. */
async function startProcess(
  name: ServerName,
  command: { file: string; args: string[]; cwd: string },
  options: { detached: boolean },
  dataDir?: string,
): Promise<Omit<RunningServer, 'name'>> {
  const child = spawn(command.file, command.args, { cwd: command.cwd, detached: options.detached, stdio: ['ignore', 'pipe', 'pipe'] });
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 60 s`)), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${err.slice(-2000)}`));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /MONGODB_URI=(\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`${name} exited with code ${String(code)} before it listened`)));
  });
  child.removeAllListeners('exit');
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  if (options.detached) {
    child.stdout.destroy();
    child.stderr.destroy();
    child.unref();
  } else {
    // Keep draining output so the server never blocks on a full pipe.
    child.stdout.resume();
    child.stderr.resume();
  }
  return { uri, pids: [child.pid ?? 0], ...(dataDir ? { dataDir } : {}) };
}

function stopProcesses(server: RunningServer): void {
  for (const pid of server.pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  if (server.dataDir) rmSync(server.dataDir, { recursive: true, force: true });
}

/** The servers `npm run db:start` recorded, whether or not their processes are still alive. */
export function readRecordedServers(): RunningServer[] {
  if (!existsSync(STATE_FILE)) return [];
  const servers = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RunningServer[];
  return servers.filter((server) => Array.isArray(server.pids));
}

/** The servers `npm run db:start` left running, if every process of each is still alive. */
export function readRunningServers(): RunningServer[] {
  return readRecordedServers().filter((server) => server.pids.every(isAlive));
}

export function writeRunningServers(servers: readonly RunningServer[]): void {
  mkdirSync(STATE_DIR, { recursive: true });
  // It holds the authenticating server's credentials: readable by this user only.
  writeFileSync(STATE_FILE, `${JSON.stringify(servers, null, 2)}\n`, { mode: 0o600 });
  chmodSync(STATE_FILE, 0o600);
}

function hasCommand(file: string, args: string[]): boolean {
  return spawnSync(file, args, { stdio: 'ignore' }).status === 0;
}

function run(file: string, args: string[], cwd: string): void {
  const result = spawnSync(file, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed in ${cwd} (exit ${String(result.status)})`);
}

/** A server to run against, and how to stop it if this process started it. */
export interface ResolvedServer {
  readonly uri: string;
  /** Where it came from, for one line of explanation. */
  readonly source: string;
  stop(): Promise<void>;
}

/**
 * The server resolution shared by the tests, the benchmarks and the demo: `MONGODB_URI`; else a
 * real mongod from mongodb-memory-server (it downloads one on a machine with internet); else a
 * server left running by `npm run db:start`; else the project's mongo-java-server, started here.
 */
export async function resolveServer(options: { log?: (line: string) => void; memoryServer?: boolean } = {}): Promise<ResolvedServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const noop = async (): Promise<void> => undefined;
  if (process.env.MONGODB_URI) return { uri: process.env.MONGODB_URI, source: 'MONGODB_URI', stop: noop };

  if ((options.memoryServer ?? true) && process.env.MOLT_MEMORY_SERVER !== '0') {
    try {
      const { MongoMemoryServer } = await import('mongodb-memory-server-core');
      const server = await quietly(() => MongoMemoryServer.create());
      return { uri: server.getUri(), source: 'mongodb-memory-server', stop: async () => void (await server.stop()) };
    } catch (error) {
      const reason = String(error instanceof Error ? error.message : error).split('\n')[0]?.slice(0, 120) ?? '';
      log(`mongodb-memory-server could not start a mongod here (${reason}); using the project's own server instead.`);
    }
  }

  // The reference server first: the DocumentDB-backed one has a real query engine.
  const running = readRunningServers();
  const reference = running.find((server) => server.name === 'documentdb') ?? running.find((server) => server.name === 'java');
  if (reference) return { uri: reference.uri, source: `npm run db:start (${reference.name === 'documentdb' ? 'FerretDB 2 on DocumentDB' : 'mongo-java-server'})`, stop: noop };

  const started = await startServer('java', { log });
  return { uri: started.uri, source: 'mongo-java-server started by the project (servers/java)', stop: async () => stopServer(started) };
}

/** mongodb-memory-server prints a stack trace of its own when the download fails: one line is enough. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  const error = console.error;
  console.warn = () => undefined;
  console.error = () => undefined;
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.error = error;
  }
}
