/**
 * The MongoDB-wire servers the project can provision and start on a machine without a mongod
 * download: mongo-java-server (in memory, atomic per-collection operations) built with Maven, and
 * FerretDB (on SQLite) built with Go. Used by `npm run db:start`, the test setup and the demo.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.molt');
const STATE_FILE = join(STATE_DIR, 'servers.json');

export type ServerName = 'java' | 'ferretdb';

export interface RunningServer {
  readonly name: ServerName;
  readonly uri: string;
  readonly pid: number;
  readonly dataDir?: string;
}

interface ServerRecipe {
  readonly describe: string;
  /** Whether this machine has the tool the server is built with. */
  available(): boolean;
  /** Builds the server if it is not built yet (idempotent). */
  provision(log: (line: string) => void): void;
  command(dataDir: string): { file: string; args: string[]; cwd: string };
  needsDataDir: boolean;
}

const JAVA_DIR = join(ROOT, 'servers', 'java');
const FERRET_DIR = join(ROOT, 'servers', 'ferretdb');

const RECIPES: Record<ServerName, ServerRecipe> = {
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
    command: () => ({ file: 'java', args: ['-Xss4m', '-cp', `target/classes:target/lib/*`, 'dev.mongomolt.testserver.Launcher', '0'], cwd: JAVA_DIR }),
    needsDataDir: false,
  },
  ferretdb: {
    describe: 'FerretDB 1.24.2 on SQLite (updates are not atomic: race tests skip there)',
    available: () => existsSync(join(FERRET_DIR, 'build.sh')) && hasCommand('go', ['version']),
    provision(log) {
      if (existsSync(join(FERRET_DIR, 'bin', 'ferretdb-molt'))) return;
      log('building FerretDB with Go (first run only, a few minutes)...');
      run('bash', ['build.sh'], FERRET_DIR);
    },
    command: (dataDir) => ({ file: join(FERRET_DIR, 'bin', 'ferretdb-molt'), args: ['-port', '0', '-dir', dataDir, '-log-level', 'error'], cwd: FERRET_DIR }),
    needsDataDir: true,
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
  const dataDir = recipe.needsDataDir ? mkdtempSync(join(tmpdir(), `molt-${name}-`)) : undefined;
  const { file, args, cwd } = recipe.command(dataDir ?? '');
  const child = spawn(file, args, { cwd, detached: options.detached ?? false, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { name, uri, pid: child.pid ?? 0, ...(dataDir ? { dataDir } : {}) };
}

/** Stops a server started by `startServer` and removes its data directory. */
export function stopServer(server: RunningServer): void {
  try {
    process.kill(server.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  if (server.dataDir) rmSync(server.dataDir, { recursive: true, force: true });
}

/** The servers `npm run db:start` left running, if their processes are still alive. */
export function readRunningServers(): RunningServer[] {
  if (!existsSync(STATE_FILE)) return [];
  const servers = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RunningServer[];
  return servers.filter((server) => isAlive(server.pid));
}

export function writeRunningServers(servers: readonly RunningServer[]): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(servers, null, 2)}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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

  const running = readRunningServers().find((server) => server.name === 'java');
  if (running) return { uri: running.uri, source: 'npm run db:start (mongo-java-server)', stop: noop };

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
