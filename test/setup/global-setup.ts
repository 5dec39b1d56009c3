/**
 * Finds a real MongoDB-wire server for the suite, in this order: `MONGODB_URI`; a mongod from
 * mongodb-memory-server (downloads one on a machine with internet); a server started with
 * `npm run db:start`; else the project's own mongo-java-server, started here and stopped at the end.
 */
import type { TestProject } from 'vitest/node';
import { readRunningServers, startServer, stopServer, type RunningServer } from '../../scripts/servers.js';
import { detectServer, type ServerFeatures } from './detect-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    serverFeatures: ServerFeatures;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { uri, source, stop } = await resolveServer();
  const features = await detectServer(uri);
  process.stderr.write(`[mongo-molt tests] server: ${features.kind} via ${source}` +
    (features.atomicUpdates ? '' : ' (updates are not atomic here: race tests are skipped)') + '\n');
  project.provide('mongoUri', uri);
  project.provide('serverFeatures', features);
  return stop;
}

async function resolveServer(): Promise<{ uri: string; source: string; stop: () => Promise<void> }> {
  const noop = async (): Promise<void> => undefined;
  if (process.env.MONGODB_URI) return { uri: process.env.MONGODB_URI, source: 'MONGODB_URI', stop: noop };

  if (process.env.MOLT_TEST_MEMORY_SERVER !== '0') {
    try {
      const { MongoMemoryServer } = await import('mongodb-memory-server-core');
      const server = await MongoMemoryServer.create();
      return { uri: server.getUri(), source: 'mongodb-memory-server', stop: async () => void (await server.stop()) };
    } catch (error) {
      process.stderr.write(`[mongo-molt tests] mongodb-memory-server unavailable (${firstLine(error)}); using the project's own server\n`);
    }
  }

  const running = readRunningServers().find((server) => server.name === 'java');
  if (running) return { uri: running.uri, source: 'npm run db:start', stop: noop };

  const started: RunningServer = await startServer('java');
  return { uri: started.uri, source: 'the project (servers/java)', stop: async () => stopServer(started) };
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]?.slice(0, 160) ?? '';
}
